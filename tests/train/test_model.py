import numpy as np
import torch

from regexp.train.model import MLP, layer_seeds, seeded_normal


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
