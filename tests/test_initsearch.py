"""Forward-only initialization search: scores, the stacked forward, the grid, the wiring."""

import pytest
import torch

from regexp.core.config import compose
from regexp.core.data import make_data
from regexp.core.errors import ConfigError
from regexp.core.init import candidate_seeds, grid_init, init_model, search_init
from regexp.core.model import MLP
from regexp.core.run import build_model
from regexp.core.settings import validate

X = torch.linspace(-1, 1, 40)[:, None]
Y = torch.sin(3 * X)


def mse(out, y):
    return torch.nn.functional.mse_loss(out, y)


def factory(seed):
    # A wide init spreads the candidates' losses so the choice is not a coin toss.
    return MLP(1, [8, 8]).init_seeded(seed, stddev=0.7)


def test_candidate_seeds():
    seeds = candidate_seeds(11, 6)
    assert seeds[0] == 11 and len(set(seeds)) == 6
    assert candidate_seeds(11, 3) == seeds[:3]  # candidate k does not depend on K
    assert candidate_seeds(12, 6)[1:] != seeds[1:]


def test_search_scores_every_candidate_and_keeps_the_best():
    state, info = search_init(factory, X, Y, candidates=12, batch_size=None, seed=5, loss=mse)
    seeds = candidate_seeds(5, 12)
    direct = [mse(factory(s)(X), Y).item() for s in seeds]
    best = min(range(12), key=direct.__getitem__)
    assert info["chosen"] == best and info["chosen_seed"] == seeds[best]
    assert info["score"] == pytest.approx(direct[best], rel=1e-6)
    assert info["default_score"] == pytest.approx(direct[0], rel=1e-6)
    assert info["score"] <= info["default_score"]
    assert info["candidates"] == 12 and info["batch_size"] == 40
    winner = factory(seeds[best]).state_dict()
    assert all(torch.equal(state[n], winner[n]) for n in winner)


def test_all_candidates_run_in_one_stacked_forward():
    calls = []
    base = factory(0)
    base.register_forward_hook(lambda *_: calls.append(1))
    search_init(lambda s: base if s == 3 else factory(s), X, Y, 16, None, 3, mse)
    assert len(calls) == 1  # one vmap'd forward for all 16, not 16 forwards


def test_search_on_a_batch_of_training_points():
    _, info = search_init(factory, X, Y, candidates=8, batch_size=10, seed=2, loss=mse)
    idx = torch.randperm(40, generator=torch.Generator().manual_seed(2))[:10]
    assert info["batch_size"] == 10
    assert info["default_score"] == pytest.approx(mse(factory(2)(X[idx]), Y[idx]).item(), rel=1e-6)
    _, single = search_init(factory, X, Y, candidates=1, batch_size=None, seed=2, loss=mse)
    assert single["chosen"] == 0 and single["score"] == single["default_score"]
    with pytest.raises(ConfigError, match="init.candidates"):
        search_init(factory, X, Y, 0, None, 2, mse)
    with pytest.raises(ConfigError, match="init.batch_size"):
        search_init(factory, X, Y, 4, 0, 2, mse)


def test_grid_finds_the_line_of_a_linear_model():
    model = MLP(1, []).init_seeded(0)  # y = w x + b: two parameters, as in the blog
    y = 0.7 * X - 0.3
    state, info = grid_init(model, X, y, points=41, batch_size=5, seed=0, loss=mse)  # step 0.1
    assert state["layers.0.weight"].item() == pytest.approx(0.7, abs=0.05)
    assert state["layers.0.bias"].item() == pytest.approx(-0.3, abs=0.05)
    assert info["candidates"] == 41 * 41 + 1 and info["score"] < 1e-10
    idx = torch.randperm(40, generator=torch.Generator().manual_seed(0))[:5]  # the batch scored
    assert info["default_score"] == pytest.approx(mse(model(X[idx]), y[idx]).item(), rel=1e-6)
    with pytest.raises(ConfigError, match="at most 2 parameters.*has 10"):
        grid_init(MLP(1, [3]), X, y, 11, None, 0, mse)


@pytest.mark.parametrize("strategy", ["default", "search", "grid"])
def test_init_model_follows_the_strategy(strategy):
    hidden = "hidden_units=[]" if strategy == "grid" else "hidden_units=[4]"
    settings = validate(
        compose([hidden, f"init.strategy={strategy}", "init.candidates=9", "init.stddev=0.5"])
    )
    data = make_data(settings.data)
    model, info = init_model(settings, data, build_model)
    default = build_model(settings, 1)
    if strategy == "default":
        assert info is None
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), default.parameters()))
        return
    assert info["strategy"] == strategy and info["score"] <= info["default_score"]
    loss = mse(model(data.x_train), data.y_train).item()
    assert loss == pytest.approx(info["score"], rel=1e-5)
    assert info["default_score"] == pytest.approx(
        mse(default(data.x_train), data.y_train).item(), rel=1e-5
    )
