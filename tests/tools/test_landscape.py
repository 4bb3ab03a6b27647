"""Loss surfaces: the blog's grid, stacked evaluation, directions, a run's plane, the CLI."""

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from regexp.config.compose import compose
from regexp.config.errors import UsageError
from regexp.config.settings import validate
from regexp.runs.weights import build_model, save_weights
from regexp.tools.landscape import BLOG_STEP, W_TRUE, blog_data, blog_grid, cli
from regexp.train.data import make_data


def mse(out, y):
    return torch.nn.functional.mse_loss(out, y)


def make_run_folder(folder, *overrides):
    """A run folder as the runner leaves it (config + weights), without training."""
    cfg = compose(["plots.enabled=false", "device=cpu", *overrides])
    (folder / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, folder / ".hydra" / "config.yaml")
    settings = validate(cfg)
    model = build_model(settings, 2 if settings.data.task == "classification" else 1)
    save_weights(folder / "weights.safetensors", model)
    return folder, model


# ---- the blog ----------------------------------------------------------------------------


def test_blog_grid_is_the_blogs_grid():
    grid = blog_grid(seed=0)
    assert grid.loss.shape == (501, 101)  # meshgrid(w1, w2): w2 along rows, as in the blog
    assert grid.w1[[0, -1]].tolist() == [-10, 10] and grid.w2[[0, -1]].tolist() == [-50, 50]
    np.testing.assert_allclose(np.diff(grid.w1), BLOG_STEP, rtol=1e-9)
    np.testing.assert_allclose(np.diff(grid.w2), BLOG_STEP, rtol=1e-9)
    # The blog's own loss, np.vectorize'd, at a sample of grid points.
    x, y = blog_data(seed=0)
    xb, yb = x[:5], y[:5]

    @np.vectorize
    def loss_(w1, w2):
        val = yb - xb @ np.array([w1, w2])
        return np.dot(val, val)

    rows, cols = np.arange(0, 501, 7), np.arange(0, 101, 3)
    w1, w2 = np.meshgrid(grid.w1[cols], grid.w2[rows])
    np.testing.assert_allclose(grid.loss[np.ix_(rows, cols)], loss_(w1, w2), rtol=1e-12)


def test_blog_data_follows_the_true_line():
    x, y = blog_data(seed=5)
    assert x.shape == (45, 2) and np.all(x[:, 1] == 1) and np.all((0 <= x[:, 0]) & (x[:, 0] < 10))
    # noise = (U(0,1) + N(0,1)) * 6 has mean 3: least squares on all 45 points finds the slope.
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    assert abs(w[0] - W_TRUE[0]) < 1.0


def test_blog_grid_minimum_is_within_one_step_of_least_squares():
    grid = blog_grid(seed=0)
    assert np.abs(np.array(grid.grid_min) - grid.lstsq).max() <= BLOG_STEP


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_blog_grid_minimum_is_the_best_point_near_least_squares(seed):
    # Slope and intercept are strongly correlated for x in [0, 10], so the valley is long and
    # narrow: the grid's best point can sit a few steps along it from the least-squares
    # solution. What always holds: it beats every corner of the grid cell around that
    # solution, and exceeds the continuous minimum by at most the worst of those corners.
    grid = blog_grid(seed)
    x, y = blog_data(seed)
    xb, yb = x[:5], y[:5]

    def loss(w):
        r = yb - xb @ np.asarray(w)
        return float(r @ r)

    ls = np.array(grid.lstsq)
    lo = np.floor(ls / BLOG_STEP) * BLOG_STEP
    corners = [lo + BLOG_STEP * np.array(c) for c in ((0, 0), (0, 1), (1, 0), (1, 1))]
    best = grid.loss.min()
    assert best == pytest.approx(loss(grid.grid_min), rel=1e-12)
    assert loss(ls) <= best <= min(loss(c) for c in corners) * (1 + 1e-12)


def test_blog_cli(tmp_path, capsys):
    assert cli(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    (folder,) = tmp_path.glob("*/*")
    assert str(folder) in out and "grid minimum" in out and "true weights" in out
    table = pd.read_csv(folder / "grid.csv")
    assert list(table.columns) == ["w1", "w2", "loss"] and len(table) == 101 * 501
    best = table.loc[table["loss"].idxmin()]
    assert (best["w1"], best["w2"]) == pytest.approx(blog_grid(0).grid_min, abs=1e-9)
    for png in ("contour.png", "surface.png"):
        assert (folder / png).stat().st_size > 10_000


# ---- stacked evaluation and directions -----------------------------------------------------


def test_run_plane_along_two_named_parameters(tmp_path, capsys):
    run, model = make_run_folder(tmp_path / "run", "hidden_units=[4]", "init.stddev=0.5")
    argv = [str(run), "--params", "layers.0.weight[1,0]", "layers.1.bias[0]"]
    assert cli([*argv, "--steps", "11", "--span", "0.5"]) == 0
    csv = run / "landscape_layers_0_weight_1_0___layers_1_bias_0.csv"
    assert str(csv) in capsys.readouterr().out
    assert (run / "plots" / "landscape_layers_0_weight_1_0___layers_1_bias_0.png").is_file()
    table = pd.read_csv(csv)
    assert len(table) == 121
    # Along the output bias b, MSE is a parabola: loss(b + β) = loss(b) + 2β·mean(r) + β².
    data = make_data(validate(compose(["hidden_units=[4]"])).data)
    with torch.no_grad():
        residual = model(data.x_train) - data.y_train
    base = mse(model(data.x_train), data.y_train).item()
    column = table[table["alpha"].abs() < 1e-9]
    expected = base + 2 * column["beta"] * residual.mean().item() + column["beta"] ** 2
    np.testing.assert_allclose(column["loss"], expected, rtol=1e-5)


def test_run_plane_random_directions_default_size(tmp_path):
    run, _ = make_run_folder(tmp_path / "run", "hidden_units=[8,8]")
    assert cli([str(run), "--split", "val"]) == 0
    table = pd.read_csv(run / "landscape_random_seed0.csv")
    assert len(table) == 51 * 51 and np.isfinite(table["loss"]).all()
    assert (run / "plots" / "landscape_random_seed0.png").stat().st_size > 10_000


def test_run_plane_errors(tmp_path):
    with pytest.raises(UsageError, match="not a finished run folder"):
        cli([str(tmp_path)])
    run, _ = make_run_folder(tmp_path / "run", "hidden_units=[4]")
    with pytest.raises(UsageError, match="same parameter"):
        cli([str(run), "--params", "layers.0.bias[1]", "layers.0.bias[ 1 ]"])
    with pytest.raises(UsageError, match="steps"):
        cli([str(run), "--steps", "1"])


def test_a_run_folder_that_cannot_be_written_is_one_line_before_any_work(tmp_path, monkeypatch):
    """A read-only run folder (os.access says so: root passes any permission check but a
    read-only disk's) is refused before the plane is computed; nothing is written."""
    import os

    from regexp.tools import landscape

    run, _ = make_run_folder(tmp_path / "run", "hidden_units=[4]")
    before = sorted(p.name for p in run.rglob("*"))
    monkeypatch.setattr(landscape.os, "access", lambda path, mode: mode != os.W_OK)
    monkeypatch.setattr("regexp.tools.plane.evaluate_plane", _never)
    with pytest.raises(UsageError) as err:
        cli([str(run)])
    assert str(err.value) == (
        f"{run}: cannot write into {run} (read-only): a run's landscape is written beside its "
        "results"
    )
    assert sorted(p.name for p in run.rglob("*")) == before


def _never(*args, **kwargs):
    raise AssertionError("the plane is not computed for a folder it cannot be written into")


def test_a_disk_that_fills_while_the_landscape_is_written_is_one_line(tmp_path, monkeypatch):
    import errno

    from regexp.tools import landscape

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    run, _ = make_run_folder(tmp_path / "run", "hidden_units=[4]")
    monkeypatch.setattr(landscape, "write_atomic", full)
    with pytest.raises(UsageError) as err:
        cli([str(run), "--steps", "5"])
    csv = run / "landscape_random_seed0.csv"
    assert str(err.value) == f"{csv}: cannot write the landscape: No space left on device"
