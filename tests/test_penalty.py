import pytest
import torch

from regexp.core.model import MLP
from regexp.core.penalty import Penalty
from regexp.core.settings import PenaltySettings


def _model():
    return MLP(2, [5, 3]).init_seeded(11)


def test_l2_is_lambda_times_sum_of_squares_per_layer():
    model = _model()
    lams = (0.1, 0.01, 0.001)
    pen = Penalty(PenaltySettings("l2", lam=lams), model, torch.device("cpu"))
    expected = sum(lam * (layer.weight**2).sum().item() for lam, layer in zip(lams, model.layers))
    assert pen().item() == pytest.approx(expected, rel=1e-6)


def test_l1_and_biases():
    model = _model()
    pen = Penalty(PenaltySettings("l1", lam=(0.5,) * 3, biases=True), model, torch.device("cpu"))
    expected = sum(
        0.5 * (layer.weight.abs().sum() + layer.bias.abs().sum()).item() for layer in model.layers
    )
    assert pen().item() == pytest.approx(expected, rel=1e-6)


def test_l1_l2_adds_both_terms_and_gradient_matches_formula():
    model = _model()
    s = PenaltySettings("l1_l2", lam=(0.2,) * 3, l1_lam=(0.3,) * 3)
    pen = Penalty(s, model, torch.device("cpu"))
    w = model.layers[1].weight
    expected = sum(
        (0.2 * (m.weight**2).sum() + 0.3 * m.weight.abs().sum()).item() for m in model.layers
    )
    value = pen()
    assert value.item() == pytest.approx(expected, rel=1e-6)
    value.backward()
    assert torch.allclose(w.grad, 0.4 * w + 0.3 * torch.sign(w), atol=1e-6)


def test_zero_lambda_is_inactive():
    pen = Penalty(PenaltySettings("none", lam=(0.0,) * 3), _model(), torch.device("cpu"))
    assert not pen.active
