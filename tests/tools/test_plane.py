"""regexp.tools.plane: stacked evaluation of many parameter sets, the plane's directions."""

import pytest
import torch

from regexp.config.errors import UsageError
from regexp.tools.plane import (
    batched_loss,
    filter_normalized_direction,
    plane_losses,
    scalar_direction,
)
from regexp.train.model import MLP


def mse(out, y):
    return torch.nn.functional.mse_loss(out, y)


def test_batched_loss_equals_one_forward_per_parameter_set():
    model = MLP(1, [8, 4])
    x, y = torch.linspace(-1, 1, 30)[:, None], torch.linspace(-1, 1, 30)[:, None] ** 2
    nets = [MLP(1, [8, 4]).init_seeded(s, stddev=0.5) for s in range(7)]
    params, _ = torch.func.stack_module_state(nets)
    per_set = sum(v[0].numel() * 4 for v in params.values())
    got = batched_loss(model, params, x, y, "regression", chunk_bytes=3 * per_set)  # 3 chunks
    want = torch.stack([mse(net(x), y) for net in nets]).detach()
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


def test_plane_losses_match_direct_evaluation():
    model = MLP(1, [16]).init_seeded(3, stddev=0.5)
    x = torch.linspace(-1, 1, 25)[:, None]
    y = torch.sin(3 * x)
    center = {n: p.detach().clone() for n, p in model.named_parameters()}
    gen = torch.Generator().manual_seed(0)
    d1, d2 = (filter_normalized_direction(center, gen) for _ in range(2))
    alphas, betas = torch.linspace(-1, 1, 5), torch.linspace(-0.5, 0.5, 3)
    grid = plane_losses(model, center, d1, d2, alphas, betas, x, y, "regression")
    assert grid.shape == (3, 5)  # [betas, alphas]
    probe = MLP(1, [16])
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            probe.load_state_dict({n: center[n] + a * d1[n] + b * d2[n] for n in center})
            assert grid[i, j].item() == pytest.approx(mse(probe(x), y).item(), rel=1e-5)
    assert grid[1, 2].item() == pytest.approx(mse(model(x), y).item(), rel=1e-6)  # the center


def test_filter_normalized_direction():
    model = MLP(1, [32, 8]).init_seeded(0, stddev=0.3)
    params = dict(model.named_parameters())
    d = filter_normalized_direction(params, torch.Generator().manual_seed(1))
    for name, p in params.items():
        if p.dim() == 1:
            assert torch.count_nonzero(d[name]) == 0  # biases stay put
        else:
            torch.testing.assert_close(
                d[name].norm(dim=1), p.detach().norm(dim=1), rtol=1e-5, atol=0
            )
    d_again = filter_normalized_direction(params, torch.Generator().manual_seed(1))
    assert all(torch.equal(d[n], d_again[n]) for n in d)


def test_scalar_direction_parsing_and_errors():
    params = {n: p.detach() for n, p in MLP(1, [4]).init_seeded(0).named_parameters()}
    d, name, value = scalar_direction(params, "layers.0.weight[3,0]")
    assert name == "layers.0.weight[3,0]" and value == params["layers.0.weight"][3, 0].item()
    assert d["layers.0.weight"].sum() == 1 and d["layers.0.weight"][3, 0] == 1
    assert all(d[n].count_nonzero() == 0 for n in d if n != "layers.0.weight")
    assert scalar_direction(params, "layers.1.bias")[1] == "layers.1.bias[0]"  # one element
    with pytest.raises(UsageError, match="no parameter 'layers.7.weight'"):
        scalar_direction(params, "layers.7.weight[0,0]")
    with pytest.raises(UsageError, match=r"shape \[4, 1\]"):
        scalar_direction(params, "layers.0.weight[4,0]")
    with pytest.raises(UsageError, match="one index per axis"):
        scalar_direction(params, "layers.0.weight[1]")
    with pytest.raises(UsageError, match="not a parameter name"):
        scalar_direction(params, "weight(1)")


# ---- a run's plane -------------------------------------------------------------------------
