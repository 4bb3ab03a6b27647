"""regexp.train.loss against formulas written out here: Keras's penalties λ_l·Σw² and
λ_l·Σ|w| per weight layer (kernels only, biases with penalty.biases), computed by hand in
float64; data losses against torch.nn.functional on the same data; metrics' loss = data
loss + penalty. The stacked models are independent: each one's gradient is its own.
Tolerances: float32 sums of a few hundred terms, 1e-5 relative."""

import pytest
import torch
import torch.nn.functional as F

from regexp.config.settings import PenaltySettings
from regexp.train.loss import (
    PenaltyTable,
    add_penalty_grad,
    data_loss,
    data_losses,
    metrics,
    objective,
    penalty,
)
from regexp.train.model import output

WIDTHS = (2, 5, 3, 1)  # three weight layers
K = 4


def _params(k=K, seed=0, widths=WIDTHS):
    """[w0, b0, w1, b1, ...] of k stacked models, float32, values around ±1."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for a, b in zip(widths, widths[1:]):
        out += [torch.randn(k, a, b, generator=gen), torch.randn(k, 1, b, generator=gen)]
    return out


PENALTIES = [
    PenaltySettings("l2", lam=(0.01, 0.0, 0.002)),
    PenaltySettings("l1", lam=(0.001, 0.003, 0.0), biases=True),
    PenaltySettings("l1_l2", lam=(0.02, 0.01, 0.005), l1_lam=(0.001, 0.002, 0.004), biases=True),
    PenaltySettings("none", lam=(0.0, 0.0, 0.0)),
]


def _by_hand(params, p: PenaltySettings, k: int) -> float:
    """Model k's penalty in float64, written out layer by layer."""
    l2 = p.lam if p.name in ("l2", "l1_l2") else (0.0,) * 3
    l1 = p.lam if p.name == "l1" else p.l1_lam if p.name == "l1_l2" else (0.0,) * 3
    total = 0.0
    for layer, (a, b) in enumerate(zip(l2, l1)):
        tensors = [params[2 * layer][k]] + ([params[2 * layer + 1][k]] if p.biases else [])
        for t in tensors:
            t = t.double()
            total += a * t.square().sum().item() + b * t.abs().sum().item()
    return total


def test_each_model_pays_its_own_penalty_per_layer_kernels_and_biases_as_asked():
    params = _params()
    table = PenaltyTable.of(PENALTIES, 3, torch.device("cpu"))
    got = penalty(params, table)
    assert got.shape == (K,)
    for k, p in enumerate(PENALTIES):
        assert got[k].item() == pytest.approx(_by_hand(params, p, k), rel=1e-5, abs=1e-12), p.name
    assert got[3].item() == 0.0  # no penalty: nothing, even beside penalized models


@pytest.mark.parametrize("biases", [False, True])
def test_the_penalty_gradient_by_formula_is_autograds(biases):
    """add_penalty_grad (what the eager step uses) adds exactly what autograd finds for
    penalty(), each model its own λ's, kernels and, where asked, biases."""
    penalties = [PenaltySettings(p.name, p.lam, p.l1_lam, biases) for p in PENALTIES]
    table = PenaltyTable.of(penalties, 3, torch.device("cpu"))
    params = [t.requires_grad_() for t in _params()]
    want = torch.autograd.grad(penalty(params, table).sum(), params, allow_unused=True)
    want = [torch.zeros_like(t) if w is None else w for t, w in zip(params, want)]
    start = [torch.full_like(t, 0.5) for t in params]  # the data loss's gradient, say
    got = [t.clone() for t in start]
    add_penalty_grad(got, [t.detach() for t in params], table)
    for g, s, w in zip(got, start, want):
        torch.testing.assert_close(g - s, w, rtol=1e-6, atol=1e-7)
    if not biases:
        assert all(torch.equal(g, s) for g, s in zip(got[1::2], start[1::2]))


def test_biases_count_only_with_penalty_biases():
    params = _params(k=2)
    kernels_only = PenaltySettings("l2", lam=(0.1, 0.1, 0.1))
    with_biases = PenaltySettings("l2", lam=(0.1, 0.1, 0.1), biases=True)
    got = penalty(params, PenaltyTable.of([kernels_only, with_biases], 3, torch.device("cpu")))
    bias_sq = sum(b[1].double().square().sum().item() for b in params[1::2])
    kernel_sq = sum(w[0].double().square().sum().item() for w in params[0::2])
    assert got[0].item() == pytest.approx(0.1 * kernel_sq, rel=1e-5)
    assert got[1].item() - _by_hand(params, kernels_only, 1) == pytest.approx(
        0.1 * bias_sq, rel=1e-4
    )


def test_the_penalty_table_reads_each_kind_into_its_term():
    table = PenaltyTable.of(PENALTIES, 3, torch.device("cpu"))
    l2 = [[0.01, 0.0, 0.002], [0, 0, 0], [0.02, 0.01, 0.005], [0, 0, 0]]
    l1 = [[0, 0, 0], [0.001, 0.003, 0.0], [0.001, 0.002, 0.004], [0, 0, 0]]
    torch.testing.assert_close(table.l2, torch.tensor(l2), rtol=0, atol=0)
    torch.testing.assert_close(table.l1, torch.tensor(l1), rtol=0, atol=0)
    assert table.bias_on.tolist() == [[0.0], [1.0], [1.0], [0.0]]
    assert table.active and table.use_l1 and table.use_l2 and table.use_bias
    none = PenaltyTable.of([PENALTIES[3]], 3, torch.device("cpu"))
    assert not none.active and not none.use_bias


def test_data_loss_is_mse_for_regression_and_bce_on_logits_for_classification():
    gen = torch.Generator().manual_seed(1)
    out = torch.randn(3, 20, 1, generator=gen)
    y = torch.randn(20, 1, generator=gen)
    labels = (torch.rand(20, 1, generator=gen) > 0.5).float()
    mse = data_loss("regression", out, y)
    bce = data_loss("classification", out, labels)
    for k in range(3):
        assert mse[k].item() == pytest.approx(F.mse_loss(out[k], y).item(), rel=1e-6)
        want = F.binary_cross_entropy(torch.sigmoid(out[k]).double(), labels.double()).item()
        assert bce[k].item() == pytest.approx(want, rel=1e-5)


def test_data_losses_in_chunks_equal_one_pass():
    params = _params(k=9)
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(2))
    y = x[:, :1] * 0.5
    whole = data_loss("regression", output(params, x, "tanh"), y)
    per_set = sum(t[0].numel() * 4 for t in params)
    chunked = data_losses(params, x, y, "regression", "tanh", chunk_bytes=2 * per_set)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=0)


def test_the_objective_is_data_loss_plus_penalty_and_each_models_gradient_is_its_own():
    params = [p.requires_grad_() for p in _params()]
    gen = torch.Generator().manual_seed(3)
    x, y = torch.randn(25, 2, generator=gen), torch.randn(25, 1, generator=gen)
    table = PenaltyTable.of(PENALTIES, 3, torch.device("cpu"))
    total, (loss, fit) = objective(params, x, y, "regression", "relu", table)
    torch.testing.assert_close(fit, data_loss("regression", output(params, x, "relu"), y))
    torch.testing.assert_close(loss, fit + penalty(params, table))
    assert total.item() == pytest.approx(loss.sum().item(), rel=1e-6)
    grads = torch.autograd.grad(total, params)
    k = 2  # model 2 alone, with its own penalty: the same gradient
    alone = [p[k : k + 1].detach().clone().requires_grad_() for p in params]
    table_k = PenaltyTable.of([PENALTIES[k]], 3, torch.device("cpu"))
    total_k, _ = objective(alone, x, y, "regression", "relu", table_k)
    for g, g_alone in zip(grads, torch.autograd.grad(total_k, alone)):
        torch.testing.assert_close(g[k : k + 1], g_alone, rtol=1e-5, atol=1e-7)


def test_regression_metrics_loss_is_mse_plus_penalty_in_float64():
    params = _params()
    gen = torch.Generator().manual_seed(4)
    x, y = torch.randn(40, 2, generator=gen), torch.randn(40, 1, generator=gen)
    pen = torch.tensor([1e-9, 0.5, 0.0, 2.0])  # a tiny penalty must not round away
    m = metrics(params, x, y, "regression", "relu", pen)
    assert set(m) == {"mse", "loss"}
    out = output(params, x, "relu")
    for k in range(K):
        mse = F.mse_loss(out[k], y).item()
        assert m["mse"][k].item() == pytest.approx(mse, rel=1e-6)
    assert m["loss"].dtype == torch.float64
    # float32 would round 1e-9 away beside an mse of ~1; float64 keeps it to 1e-6
    assert (m["loss"] - m["mse"].double()).tolist() == pytest.approx(pen.tolist(), rel=1e-6)


def test_classification_metrics_are_brier_bce_and_accuracy():
    params = _params()
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(50, 2, generator=gen)
    y = (torch.rand(50, 1, generator=gen) > 0.5).float()
    pen = torch.tensor([0.1, 0.2, 0.3, 0.4])
    m = metrics(params, x, y, "classification", "relu", pen)
    out = output(params, x, "relu")
    for k in range(K):
        p = torch.sigmoid(out[k].double())
        assert m["mse"][k].item() == pytest.approx(((p - y) ** 2).mean().item(), rel=1e-5)
        bce = F.binary_cross_entropy(p, y.double()).item()
        assert m["bce"][k].item() == pytest.approx(bce, rel=1e-5)
        assert m["accuracy"][k].item() == pytest.approx(((p > 0.5).double() == y).double().mean())
        assert m["loss"][k].item() == pytest.approx(m["bce"][k].item() + pen[k].item(), rel=1e-12)


def test_metrics_of_many_models_in_chunks_equal_one_pass():
    """128 models x 1000 points x 16 units exceed one chunk: the chunked path gives the same."""
    params = _params(k=128, widths=(1, 16, 1))
    gen = torch.Generator().manual_seed(6)
    x, y = torch.randn(1000, 1, generator=gen), torch.randn(1000, 1, generator=gen)
    pen = torch.rand(128, generator=gen)
    chunked = metrics(params, x, y, "regression", "relu", pen)
    out = output(params, x, "relu")
    whole = data_loss("regression", out, y)
    torch.testing.assert_close(chunked["mse"], whole, rtol=1e-6, atol=0)
    torch.testing.assert_close(chunked["loss"], whole.double() + pen.double(), rtol=1e-6, atol=0)
