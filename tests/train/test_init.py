"""Forward-only initialization search: scores, the stacked forward, the grid, the wiring."""

import dataclasses

import pytest
import torch

from regexp.config.compose import compose
from regexp.config.errors import ConfigError
from regexp.config.settings import validate
from regexp.runs.weights import build_model
from regexp.train import init as init_module
from regexp.train.data import Dataset, make_data
from regexp.train.init import candidate_seeds, grid_init, pick_init, search_init
from regexp.train.model import MLP, seeded_layers

X = torch.linspace(-1, 1, 40)[:, None]
Y = torch.sin(3 * X)


def mse(out, y):
    return torch.nn.functional.mse_loss(out, y)


def settings(*overrides):
    # A wide init spreads the candidates' losses so the choice is not a coin toss.
    return validate(compose(["hidden_units=[8,8]", "init.stddev=0.7", *overrides]))


def data(y=Y):
    return Dataset("regression", X, y, X, y)


def model_of(layers, hidden=(8, 8)):
    """An MLP holding weights in seeded_layers' layout ([in, out] kernels)."""
    model = MLP(1, list(hidden))
    with torch.no_grad():
        for m, w, b in zip(model.layers, layers[::2], layers[1::2]):
            m.weight.copy_(w.T)
            m.bias.copy_(b)
    return model


def test_candidate_seeds():
    seeds = candidate_seeds(11, 6)
    assert seeds[0] == 11 and len(set(seeds)) == 6
    assert candidate_seeds(11, 3) == seeds[:3]  # candidate k does not depend on K
    assert candidate_seeds(12, 6)[1:] != seeds[1:]


def test_search_scores_every_candidate_and_keeps_the_best():
    s = settings("seed=5", "init.candidates=12")
    layers, info = search_init([1, 8, 8, 1], s, data())
    seeds = candidate_seeds(5, 12)
    nets = [MLP(1, [8, 8]).init_seeded(q, stddev=0.7) for q in seeds]
    direct = [mse(net(X), Y).item() for net in nets]  # one nn.Module forward each
    best = min(range(12), key=direct.__getitem__)
    assert info["chosen"] == best and info["chosen_seed"] == seeds[best]
    assert info["score"] == pytest.approx(direct[best], rel=1e-6)
    assert info["default_score"] == pytest.approx(direct[0], rel=1e-6)
    assert info["score"] <= info["default_score"]
    assert info["candidates"] == 12 and info["batch_size"] == 40
    winner = nets[best].state_dict()
    got = model_of(layers).state_dict()
    assert all(torch.equal(got[n], winner[n]) for n in winner)


def test_all_candidates_run_in_one_stacked_forward(monkeypatch):
    calls = []
    real = init_module.data_losses
    monkeypatch.setattr(
        init_module, "data_losses", lambda p, *a, **k: calls.append(p[0].shape[0]) or real(p, *a)
    )
    search_init([1, 8, 8, 1], settings("init.candidates=16"), data())
    assert calls == [16]  # one stacked forward for all 16, not 16 forwards


def test_search_on_a_batch_of_training_points():
    s = settings("seed=2", "init.candidates=8", "init.batch_size=10")
    _, info = search_init([1, 8, 8, 1], s, data())
    idx = torch.randperm(40, generator=torch.Generator().manual_seed(2))[:10]
    default = MLP(1, [8, 8]).init_seeded(2, stddev=0.7)
    assert info["batch_size"] == 10
    assert info["default_score"] == pytest.approx(mse(default(X[idx]), Y[idx]).item(), rel=1e-6)
    _, single = search_init([1, 8, 8, 1], settings("seed=2", "init.candidates=1"), data())
    assert single["chosen"] == 0 and single["score"] == single["default_score"]


def test_grid_finds_the_line_of_a_linear_model():
    s = settings("hidden_units=[]", "seed=0", "init.candidates=41", "init.batch_size=5")
    y = 0.7 * X - 0.3
    default = seeded_layers([1, 1], 0, 0.0, 0.7)
    layers, info = grid_init(default, s, data(y))  # step 0.1
    assert layers[0].item() == pytest.approx(0.7, abs=0.05)
    assert layers[1].item() == pytest.approx(-0.3, abs=0.05)
    assert info["candidates"] == 41 * 41 + 1 and info["score"] < 1e-10
    idx = torch.randperm(40, generator=torch.Generator().manual_seed(0))[:5]  # the batch scored
    line = model_of(default, hidden=())
    assert info["default_score"] == pytest.approx(mse(line(X[idx]), y[idx]).item(), rel=1e-6)
    with pytest.raises(ConfigError, match="init.candidates: grid needs at least 2 points"):
        grid_init(default, dataclasses.replace(s, init=dataclasses.replace(s.init, candidates=1)),
                  data(y))  # fmt: skip


@pytest.mark.parametrize("strategy", ["default", "search", "grid"])
def test_pick_init_follows_the_strategy(strategy):
    hidden = "hidden_units=[]" if strategy == "grid" else "hidden_units=[4]"
    s = validate(
        compose([hidden, f"init.strategy={strategy}", "init.candidates=9", "init.stddev=0.5"])
    )
    d = make_data(s.data)
    layers, info = pick_init(s, d)
    default = build_model(s, 1)
    model = model_of(layers, hidden=s.hidden_units)
    if strategy == "default":
        assert info is None
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), default.parameters()))
        return
    assert info["strategy"] == strategy and info["score"] <= info["default_score"]
    loss = mse(model(d.x_train), d.y_train).item()
    assert loss == pytest.approx(info["score"], rel=1e-5)
    assert info["default_score"] == pytest.approx(
        mse(default(d.x_train), d.y_train).item(), rel=1e-5
    )
