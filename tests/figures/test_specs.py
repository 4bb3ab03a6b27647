"""regexp.figures.specs: what the run's figures show, computed from the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from regexp.figures.specs import contributions
from regexp.train.model import MLP


@pytest.mark.parametrize("hidden,stddev", [([16], 0.5), ([8, 4], 0.5), ([1024], 0.05)])
def test_contributions_plus_bias_are_the_fitted_function(hidden, stddev):
    model = MLP(1, hidden, 1, "relu").init_seeded(3, stddev=stddev)
    x = torch.linspace(-1, 1, 400).unsqueeze(1)
    contrib, bias, out = contributions(model, x)
    assert contrib.shape == (400, hidden[-1])
    with torch.no_grad():
        fitted = model(x)[:, 0].numpy()
    np.testing.assert_allclose(out, fitted, rtol=0, atol=1e-6)
    np.testing.assert_allclose(contrib.sum(axis=1) + bias, fitted, rtol=0, atol=1e-5)
    assert np.ptp(contrib, axis=0).max() > 0  # units that vary: the sum is not trivial


def test_every_figure_a_spec_names_is_one_draw_plots_draws():
    """Specs travel by name: each name of a regression and a classification run's specs is
    in draw.FIGURES."""
    import torch

    from regexp.figures.draw import FIGURES
    from regexp.figures.specs import plot_specs
    from regexp.train.data import make_data
    from regexp.train.history import History
    from regexp.train.model import MLP
    from tests.conftest import settings

    for extra in ([], ["data=classification"]):
        s = settings("hidden_units=[4,4]", *extra)
        data = make_data(s.data)
        model = MLP(data.n_in, s.hidden_units, 1, s.activation)
        history = History({"epoch": np.array([1]), "train_loss": np.array([1.0])})
        with torch.no_grad():
            specs = plot_specs(Path("p"), Path("p/fit.npz"), model, data, s, history, {})
        assert {name for name, _, _ in specs} <= set(FIGURES), extra


@pytest.mark.parametrize("extra", [[], ["data=classification"]])
def test_the_fit_figures_scores_are_the_trained_models_own(tmp_path, cfg_of, extra):
    """layers.png's and decision_boundary.png's titles show the final model's train and val
    MSE (accuracy for classification), taken from the job's metrics: they are the model's,
    computed again here."""
    from regexp.config.settings import validate
    from regexp.runs.run_unit import train
    from regexp.runs.weights import rebuild
    from regexp.runs.write import write_numbers

    settings = validate(cfg_of("hidden_units=[4]", "plots.enabled=true", *extra, epochs=20))
    [trained] = train([settings])
    written = write_numbers(tmp_path, settings, trained)
    model, data = rebuild(settings, tmp_path / "weights.safetensors")
    shown = {}
    with torch.no_grad():
        for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
            out = model(x)
            if data.task == "classification":
                shown[f"{split} accuracy"] = float(((out > 0).float() == y).float().mean())
            else:
                shown[f"{split} MSE"] = float(((out - y) ** 2).mean())
    [(name, args, kwargs)] = [s for s in written.specs if s[0] != "plot_history"][:1]
    if data.task == "classification":
        assert name == "plot_decision_boundary"
        title = kwargs["title"]
        assert title.endswith(", ".join(f"{k} {v:.3g}" for k, v in shown.items())), title
    else:
        assert name == "plot_layers"
        assert kwargs["scores"].keys() == shown.keys()
        for key, value in shown.items():
            assert kwargs["scores"][key] == pytest.approx(value, rel=1e-5), key
