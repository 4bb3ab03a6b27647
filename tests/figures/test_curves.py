"""regexp.figures.curves: runs of one setting (seeds) become one line in a min–max band; a
first key of many numeric values gets a colour map; the PNG is written."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from regexp.figures.curves import Curve, plot_curves, settings_of


def _curve(colour, seed, setting=None, epochs=(10, 20, 30), scale=1.0):
    values = scale * np.array([0.5, 0.2, 0.1]) * (1 + seed / 10)
    return Curve(colour, "", setting or colour, np.array(epochs), values[: len(epochs)])


def test_seeds_of_a_setting_are_one_band_around_their_mean():
    curves = [_curve("0.01", s) for s in (1, 2, 3)] + [_curve("0.1", 1, scale=2)]
    first, second = settings_of(curves, log=False)
    assert first.runs == 3 and second.runs == 1
    stack = np.array([c.values for c in curves[:3]])
    np.testing.assert_allclose(first.centre, stack.mean(0))
    np.testing.assert_allclose(first.lo, stack.min(0))
    np.testing.assert_allclose(first.hi, stack.max(0))
    assert np.isnan(second.lo).all()  # one run: no band
    geometric = settings_of(curves, log=True)[0].centre
    np.testing.assert_allclose(geometric, np.exp(np.log(stack).mean(0)))
    assert (first.lo <= geometric).all() and (geometric <= first.hi).all()


def test_runs_of_a_setting_share_only_their_common_epochs():
    a = _curve("x", 1, epochs=(10, 20, 30))
    b = _curve("x", 2, epochs=(10, 20))  # evaluated less often
    (setting,) = settings_of([a, b], log=False)
    assert setting.epochs.tolist() == [10, 20]
    assert setting.centre == pytest.approx((a.values[:2] + b.values) / 2)


def test_curves_png_of_a_grid_and_of_a_search(tmp_path):
    grid = [_curve(lam, s, f"lam={lam}") for lam in ("0.001", "0.01") for s in (1, 2)]
    drawn = plot_curves(tmp_path / "grid.png", grid, "val_mse", "penalty.lam")
    assert [s.colour for s in drawn] == ["0.001", "0.01"] and {s.runs for s in drawn} == {2}
    lams = [f"{v:.3g}" for v in np.geomspace(1e-6, 0.1, 12)]  # many values: a colour map
    search = [_curve(lam, 1) for lam in lams]
    assert len(plot_curves(tmp_path / "search.png", search, "val_mse", "penalty.lam")) == 12
    for name in ("grid.png", "search.png"):
        with Image.open(tmp_path / name) as img:
            assert img.mode == "P" and img.size == (1000, 520)
            assert img.text["Title"] == "curves: val_mse by penalty.lam"


def test_a_pruned_run_is_drawn_to_where_it_stopped_never_cutting_its_settings_band(tmp_path):
    full = [_curve("0.01", s) for s in (1, 2)]
    cut = Curve("0.01", "", "0.01", np.array([10]), np.array([0.6]), pruned=True)
    drawn = settings_of([*full, cut], log=False)
    assert [(s.runs, s.pruned, s.epochs.tolist()) for s in drawn] == [
        (2, False, [10, 20, 30]), (1, True, [10])]  # fmt: skip
    plot_curves(tmp_path / "c.png", [*full, cut, cut], "val_mse", "penalty.lam")
    with Image.open(tmp_path / "c.png") as img:
        assert img.text["Comment"].endswith(
            "; 2 pruned: drawn to where the pruner stopped them (×)"
        )


def test_the_band_says_what_it_is(tmp_path):
    seeds = [_curve("0.01", s) for s in (1, 2)]
    plot_curves(tmp_path / "seeds.png", seeds, "val_mse", "penalty.lam")
    plot_curves(tmp_path / "alone.png", seeds[:1], "val_accuracy", "penalty.lam")
    with Image.open(tmp_path / "seeds.png") as img:
        assert img.text["Comment"] == (
            "line: the geometric mean of a setting's seeds; band: their min–max (a spread of "
            "runs, not an interval of the mean)"
        )
    with Image.open(tmp_path / "alone.png") as img:
        assert "Comment" not in img.text  # one run a setting: no band to explain
