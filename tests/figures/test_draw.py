"""regexp.figures.draw: valid, non-blank PNGs written atomically, with honest subset titles."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from regexp.figures import draw as plots
from regexp.figures.templates import clear_templates

rng = np.random.default_rng(0)
X_TRAIN = rng.uniform(-1, 1, size=(50, 1))
Y_TRAIN = np.sin(3 * X_TRAIN) + 0.1 * rng.standard_normal((50, 1))
X_GRID = np.linspace(-1, 1, 200)
Y_GRID = np.sin(3 * X_GRID)


def _relu_units(n: int) -> np.ndarray:
    w, b = rng.standard_normal(n), rng.standard_normal(n)
    return np.maximum(0.0, np.outer(X_GRID, w) + b)


def _png(path: Path, min_px: int = 300) -> str:
    """Assert a readable, non-blank PNG of sensible size; return its title metadata."""
    assert path.is_file()
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] >= min_px and img.shape[1] >= min_px
    assert img[..., :3].std() > 0.01  # not blank
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temp file
    return Image.open(path).text.get("Title", "")


def test_layers_fit_only(tmp_path):
    plots.plot_layers(tmp_path / "fit.png", X_TRAIN, Y_TRAIN, X_GRID, Y_GRID, title="no hidden")
    assert _png(tmp_path / "fit.png") == "no hidden"


def test_layers_with_hidden_legend(tmp_path):
    path = tmp_path / "two.png"
    plots.plot_layers(path, X_TRAIN, Y_TRAIN, X_GRID, Y_GRID, _relu_units(2), hidden_legend=True)
    assert _png(path) == ""  # no subset: nothing to say


def test_layers_with_contributions_validation_and_scores(tmp_path):
    path = tmp_path / "c.png"
    units = _relu_units(16) * rng.standard_normal(16)  # output weight x activation
    plots.plot_layers(path, X_TRAIN, Y_TRAIN, X_GRID, units.sum(1) + 0.3, units, True, "c",
                      x_val=X_GRID, y_val=Y_GRID, bias=0.3,
                      scores={"train MSE": 0.04, "val MSE": 0.05})  # fmt: skip
    assert _png(path) == "c"


def test_layers_wide_layer_draws_a_subset(tmp_path):
    path = tmp_path / "wide.png"
    plots.plot_layers(path, X_TRAIN, Y_TRAIN, X_GRID, Y_GRID, _relu_units(8192), title="8192")
    assert _png(path) == "8192 (128 of 8192 units shown)"


def test_activations_subset_title(tmp_path):
    plots.plot_activations(tmp_path / "a.png", X_GRID, _relu_units(1024), layer=2)
    assert "layer 2 activations: 64 of 1024 units" in _png(tmp_path / "a.png")
    plots.plot_activations(tmp_path / "b.png", X_GRID, _relu_units(5), layer=0)
    assert "layer 0 activations: 5 units" in _png(tmp_path / "b.png", min_px=200)


def test_subset_indices_are_even_and_keep_the_ends():
    idx = plots.subset_indices(1024, 64)
    assert len(idx) == 64 and idx[0] == 0 and idx[-1] == 1023
    assert np.ptp(np.diff(idx)) <= 1
    assert plots.subset_indices(10, 64).tolist() == list(range(10))


def _history(epochs: int = 60, eval_every: int = 5) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    loss = np.exp(-e / 20) + 0.01 * rng.random(epochs)
    val = np.where(e % eval_every == 0, loss + 0.05, np.nan)  # evaluated every 5 epochs
    return pd.DataFrame(
        {"epoch": e, "train_loss": loss, "val_loss": val, "train_mse": loss, "val_mse": val}
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.6])
def test_history_with_nan_validation_rows(tmp_path, smoothing):
    path = tmp_path / "history.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN or log-of-zero points would warn
        plots.plot_history(path, _history(), smoothing=smoothing)
    assert "training history" in _png(path)


def test_history_with_accuracy_and_bad_values(tmp_path):
    hist = _history()
    hist["train_accuracy"] = np.linspace(0.5, 0.9, len(hist))
    hist["val_accuracy"] = np.nan  # never evaluated
    hist.loc[3, "train_loss"] = np.inf  # a diverging step
    hist.loc[4, "train_mse"] = 0.0  # not drawable on a log axis
    plots.plot_history(tmp_path / "h.png", hist)
    wide = matplotlib.image.imread(tmp_path / "h.png").shape[1]
    plots.plot_history(tmp_path / "h2.png", _history())
    assert wide > matplotlib.image.imread(tmp_path / "h2.png").shape[1]  # a third panel


def test_history_panels_read_text_cells_as_missing():
    """A hand-edited history.csv read by pandas gives object columns: a cell that is not a
    number is a missing point, the others stay (no pandas in the figure processes)."""
    hist = _history(20, 1).astype({"train_mse": object})
    hist.loc[2, "train_mse"] = "oops"
    hist.loc[3, "train_mse"] = None
    (mse,) = [s for m, _, s in plots.history_panels(hist) if m == "mse"]
    epochs, values = mse["train"]
    assert 3.0 not in epochs and 4.0 not in epochs and len(epochs) == 18
    np.testing.assert_allclose(values, np.delete(hist["train_loss"].to_numpy(float), [2, 3]))


def test_history_of_one_row_and_of_nothing(tmp_path):
    plots.plot_history(tmp_path / "one.png", _history(1, 1))
    _png(tmp_path / "one.png")
    plots.plot_history(tmp_path / "none.png", _history().iloc[:0])
    _png(tmp_path / "none.png")


def test_decision_boundary(tmp_path):
    g1, g2 = np.linspace(-2, 2, 60), np.linspace(-2, 2, 40)
    prob = 1 / (1 + np.exp(-4 * np.outer(g2, g1)))  # [len(g2), len(g1)]
    x = rng.normal(size=(100, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    plots.plot_decision_boundary(tmp_path / "db.png", x, y, g1, g2, prob, title="xor")
    assert _png(tmp_path / "db.png") == "xor"
    m1, m2 = np.meshgrid(g1, g2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a constant P(y=1) has no 0.5 line: no warning
        plots.plot_decision_boundary(tmp_path / "c.png", x, y, m1, m2, np.full(m1.size, 0.2))
    _png(tmp_path / "c.png")


def test_a_template_redraw_keeps_nothing_of_the_previous_run(tmp_path):
    """Templates are reused across calls: drawing A, then B, then A again must give A's
    PNG byte for byte (no line, limit or title of B left behind)."""
    units_a, units_b = _relu_units(16), 3 * _relu_units(16)
    args = dict(hidden_legend=True, bias=0.1, x_val=X_GRID, y_val=Y_GRID)
    hist_a, hist_b = _history(), _history(80, 7)
    hist_b["train_mse"] = hist_b["train_loss"] = 10 * hist_b["train_loss"]
    for name, units, score, hist in (
        ("a1", units_a, 0.1, hist_a),
        ("b", units_b, 0.5, hist_b),
        ("a2", units_a, 0.1, hist_a),
    ):
        plots.plot_layers(tmp_path / f"{name}.png", X_TRAIN, Y_TRAIN, X_GRID,
                          units.sum(1) + 0.1, units, title=name[0],
                          scores={"train MSE": score}, **args)  # fmt: skip
        plots.plot_history(tmp_path / f"h{name}.png", hist)
    read = lambda name: np.asarray(Image.open(tmp_path / name).convert("RGB"))  # noqa: E731
    assert (read("a1.png") == read("a2.png")).all()
    assert (read("ha1.png") == read("ha2.png")).all()
    assert (read("a1.png") != read("b.png")).any() and (read("ha1.png") != read("hb.png")).any()


def test_unit_colors_are_distinct_up_to_64():
    for n in (2, 10, 16, 20, 64):
        colors = plots.unit_colors(n)
        assert len({tuple(np.round(c, 3)) for c in colors}) == n
    assert len(plots.unit_colors(1024)) == 1024  # a colormap beyond


def test_history_drops_the_loss_panel_when_it_is_the_mse():
    same = plots.history_panels(_history())
    assert [m for m, _, _ in same] == ["mse"]
    penalized = _history()
    penalized["train_loss"] = penalized["train_mse"] + 0.01
    assert [m for m, _, _ in plots.history_panels(penalized)] == ["loss", "mse"]


def test_only_dense_series_are_smoothed():
    assert plots.is_dense(np.arange(1, 101, dtype=float))
    assert not plots.is_dense(np.arange(10, 1001, 10, dtype=float))  # val every 10 epochs
    assert not plots.is_dense(np.arange(1, 6, dtype=float))  # too few points


def test_a_sweeps_runs_get_the_pixels_a_fresh_template_draws(tmp_path):
    """Runs of a sweep share their x range, and a template is reused from run to run (its
    steady axes drawn once): the PNG of a run after others with the same x range, after one
    whose x range moved, and back, is the one a fresh template draws."""
    base = _relu_units(16)

    def draw(name: str, scale: float, wide: float = 1.0) -> None:
        plots.plot_layers(tmp_path / name, wide * X_TRAIN, Y_TRAIN, wide * X_GRID,
                          scale * base.sum(1), scale * base, title="s",
                          scores={"train MSE": scale})  # fmt: skip

    runs = [("s0.png", 1.0, 1.0), ("s1.png", 2.0, 1.0), ("s2.png", 3.0, 1.0),
            ("wide.png", 3.0, 2.0), ("back.png", 2.0, 1.0)]  # fmt: skip
    clear_templates()
    for name, scale, wide in runs:
        draw(name, scale, wide)
    read = lambda name: np.asarray(Image.open(tmp_path / name).convert("RGB"))  # noqa: E731
    for name, scale, wide in runs[1:]:
        clear_templates()
        draw("fresh.png", scale, wide)
        assert (read(name) == read("fresh.png")).all(), name


def test_png_palette_keeps_the_pixels_and_does_not_depend_on_draw_order(tmp_path, monkeypatch):
    """PNGs are 256 colours from a palette made of the artists' colours: against the
    rendered RGB the background stays exact, each unit's colour appears exactly (a grey
    one within 3 levels), and the
    mean error is under one level (the per-picture octree it replaced: ~1.3). The palette
    depends on the colours alone, so a run drawn after others is the same bytes as drawn
    first (a sweep's pool processes draw in any order)."""
    from regexp.figures import templates as figure_templates

    rendered = {}
    to_palette = figure_templates.Template.to_palette

    def keep(self, rgb):
        rendered[len(rendered)] = np.asarray(rgb).copy()
        return to_palette(self, rgb)

    monkeypatch.setattr(figure_templates.Template, "to_palette", keep)
    units = [_relu_units(16) for _ in range(3)]

    def draw(name: str, k: int) -> np.ndarray:
        plots.plot_layers(tmp_path / name, X_TRAIN, Y_TRAIN, X_GRID, units[k].sum(1),
                          units[k], hidden_legend=True, bias=0.0, title="p")  # fmt: skip
        return np.asarray(Image.open(tmp_path / name).convert("RGB"))

    figure_templates.clear_templates()
    for k in range(3):
        png = draw(f"{k}.png", k)
        rgb = rendered[len(rendered) - 1]
        err = np.abs(png.astype(int) - rgb).max(axis=2)
        assert err.mean() < 1.0 and np.percentile(err, 99) <= 8, (err.mean(), k)
        white = (rgb == 255).all(axis=2)
        assert (png[white] == 255).all()
        shown = 0
        for c in np.round(255 * plots.unit_colors(16)[:, :3]).astype(np.uint8):
            where = (rgb == c).all(axis=2)  # a unit's line where nothing covers it
            shown += where.sum() > 20  # (a dead unit's flat line may hide under others)
            tolerance = 3 if np.ptp(c) == 0 else 0  # greys: on the grey ramp, 4 levels apart
            assert np.abs(png[where].astype(int) - c).max(initial=0) <= tolerance, c
        assert shown >= 10
    figure_templates.clear_templates()
    assert (draw("2-first.png", 2) == draw("2.png", 2)).all()  # the same pixels...
    first = (tmp_path / "2-first.png").read_bytes()
    figure_templates.clear_templates()
    draw("0.png", 0)
    draw("2.png", 2)
    assert (tmp_path / "2.png").read_bytes() == first  # ...and bytes, drawn second


def test_a_picture_of_many_colours_keeps_white_and_greys(tmp_path, monkeypatch):
    """128 unit colours are too many for the artists' palette: an octree of the picture
    takes the colours, beside the same greys, so the page stays white and faint grey
    points keep their shape (an octree alone made them squares on a page of 254)."""
    from regexp.figures import templates as figure_templates

    rendered = []
    to_palette = figure_templates.Template.to_palette

    def keep(self, rgb):
        rendered.append(np.asarray(rgb).copy())
        return to_palette(self, rgb)

    monkeypatch.setattr(figure_templates.Template, "to_palette", keep)
    units = _relu_units(300)
    plots.plot_layers(tmp_path / "wide.png", X_TRAIN, Y_TRAIN, X_GRID, units.sum(1), units,
                      bias=0.0, x_val=X_GRID, y_val=Y_GRID)  # fmt: skip
    png = np.asarray(Image.open(tmp_path / "wide.png").convert("RGB")).astype(int)
    rgb = rendered[-1].astype(int)
    grey = (rgb.max(axis=2) == rgb.min(axis=2)) & (rgb[..., 0] < 255)
    assert (png[(rgb == 255).all(axis=2)] == 255).all()
    assert np.abs(png[grey] - rgb[grey]).max() <= 3
    assert np.abs(png - rgb).max(axis=2).mean() < 1.0
