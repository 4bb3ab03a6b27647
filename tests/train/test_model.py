import numpy as np
import pytest
import torch

from regexp.train.loss import data_loss
from regexp.train.model import MLP, layer_seeds, output, seeded_normal


def test_layer_seeds_follow_numpy_and_do_not_depend_on_depth():
    np.random.seed(8746)
    expected = np.random.randint(1, 1_000_000, size=(3, 2))
    b, w = layer_seeds(8746, 3)
    assert b == list(expected[:, 0]) and w == list(expected[:, 1])
    b6, w6 = layer_seeds(8746, 6)
    assert b6[:3] == b and w6[:3] == w
    assert len(set(b6 + w6)) == 12  # distinct seeds for every kernel and bias


def test_layer_init_depends_only_on_its_seed_and_shape():
    a = MLP(1, [4, 8]).init_seeded(87462)
    b = MLP(1, [4, 300, 8]).init_seeded(87462)
    # layer 0 has the same shape and seed in both: identical values
    assert torch.equal(a.layers[0].weight, b.layers[0].weight)
    assert torch.equal(a.layers[0].bias, b.layers[0].bias)
    # layer 1's width differs from b's layer 1, so they must differ; reseeding reproduces
    c = MLP(1, [4, 8]).init_seeded(87462)
    for la, lc in zip(a.layers, c.layers):
        assert torch.equal(la.weight, lc.weight)
    assert not torch.equal(a.layers[0].weight, MLP(1, [4, 8]).init_seeded(1).layers[0].weight)


def test_random_normal_moments_match_keras_defaults():
    values = seeded_normal((200, 200), seed=5, mean=0.0, stddev=0.05)
    assert abs(values.mean().item()) < 0.001
    assert abs(values.std().item() - 0.05) < 0.001


def test_empty_hidden_units_is_linear():
    model = MLP(1, []).init_seeded(3)
    x = torch.linspace(-1, 1, 7).unsqueeze(1)
    w, b = model.layers[0].weight.item(), model.layers[0].bias.item()
    assert torch.allclose(model(x)[:, 0], w * x[:, 0] + b)
    assert model.hidden_outputs(x) == []


@pytest.mark.parametrize(
    ("widths", "activation", "task"),
    [([1, 32, 1], "relu", "regression"), ([1, 1024, 1], "relu", "regression"),
     ([3, 64, 64, 1], "relu", "regression"), ([1, 16, 16, 1], "relu", "regression"),
     ([1, 5, 1], "sigmoid", "regression"), ([1, 20, 1], "tanh", "regression"),
     ([2, 8, 8, 1], "relu", "classification")],
)  # fmt: skip
def test_a_model_alone_computes_bit_for_bit_what_it_computes_in_a_stack(widths, activation, task):
    """Forward and every gradient of each of 16 stacked models equal, exactly, those of the
    same model alone (a stack of one): so a program and its jobs one by one part only where
    the arithmetic itself differs, never because a lone matrix-vector product rounds apart."""
    gen = torch.Generator().manual_seed(0)
    k, n = 16, 100
    params = []
    for a, b in zip(widths, widths[1:]):
        params += [torch.randn(k, a, b, generator=gen) * 0.3, torch.randn(k, 1, b, generator=gen)]
    x, y = torch.randn(n, widths[0], generator=gen), torch.randn(n, 1, generator=gen)
    y = (y > 0).float() if task == "classification" else y

    def run(ps):
        ps = [p.clone().requires_grad_() for p in ps]
        out = output(ps, x, activation)
        data_loss(task, out, y).sum().backward()
        return [out.detach(), *(p.grad for p in ps)]

    stacked = run(params)
    for i in range(k):
        alone = run([p[i : i + 1] for p in params])
        assert all(torch.equal(a, s[i : i + 1]) for a, s in zip(alone, stacked)), i
