"""regexp.figures.templates: a figure template built once per key and updated in place draws
the same pixels as a fresh one; PNGs are 256 colours with a Title chunk, white kept white,
written whole or not at all; fit_limits pads the finite data."""

from __future__ import annotations

import os

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from regexp.figures import templates
from regexp.figures.templates import (
    DPI,
    Template,
    fit_limits,
    octree,
    plain_log_axis,
    save_figure,
    save_png,
    template,
)


@pytest.fixture(autouse=True)
def fresh_templates():
    templates.clear_templates()
    yield
    templates.clear_templates()


BUILT: list[tuple] = []


def _build(n_lines: int) -> Template:
    BUILT.append((n_lines,))
    t = Template((3.0, 2.0))
    ax = t.fig.subplots()
    t.margins(left=0.5, right=0.2, bottom=0.4, top=0.3)
    t.lines = [ax.plot([], [], color=f"C{i}", lw=1.5)[0] for i in range(n_lines)]
    t.title = t.fig.suptitle("", fontsize=8)
    t.ax = ax
    t.axes_labels(ax, "x", "y")
    t.dynamic(ax.xaxis, ax.yaxis, *t.lines)
    return t


def _draw(path, curves, title: str) -> np.ndarray:
    """Draw curves [(x, y), ...] on the ("lines", n) template; the PNG's RGB pixels."""
    with template(("lines", len(curves)), _build) as t:
        for line, (x, y) in zip(t.lines, curves):
            line.set_data(x, y)
        fit_limits(t.ax, [x for x, _ in curves], [y for _, y in curves])
        t.set_static_text(t.title, title)
        save_png(t, path, title)
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


X = np.linspace(0, 1, 50)
A = [(X, np.sin(6 * X)), (X, X**2)]
B = [(3 * X, 10 * np.cos(4 * X)), (3 * X, -X)]  # other limits, other title


def test_a_reused_template_draws_what_a_fresh_one_draws(tmp_path):
    BUILT.clear()
    first_a = _draw(tmp_path / "a1.png", A, "run a")
    reused_b = _draw(tmp_path / "b.png", B, "run b")
    again_a = _draw(tmp_path / "a2.png", A, "run a")
    assert BUILT == [(2,)]  # one template drew all three
    templates.clear_templates()
    fresh_b = _draw(tmp_path / "b-fresh.png", B, "run b")
    assert reused_b.shape == (200, 300, 3)  # figsize x DPI
    assert (reused_b == fresh_b).all()  # nothing of run a left behind
    assert (again_a == first_a).all()
    assert (first_a != reused_b).any()  # the comparisons are of different pictures


def test_a_template_is_built_once_per_key_and_dropped_after_a_failed_update(tmp_path):
    BUILT.clear()
    for _ in range(3):
        with template(("lines", 2), _build):
            pass
    with template(("lines", 1), _build) as one:
        assert len(one.lines) == 1
    assert BUILT == [(2,), (1,)]  # built from key[1:], once each
    with pytest.raises(ValueError), template(("lines", 2), _build):
        raise ValueError("half updated")
    with template(("lines", 2), _build):
        pass
    assert BUILT == [(2,), (1,), (2,)]  # the failed one was rebuilt, the other kept


def test_the_oldest_template_goes_when_the_limit_is_reached(monkeypatch):
    monkeypatch.setattr(templates, "MAX_TEMPLATES", 2)
    BUILT.clear()
    for key in (1, 2, 3, 1):
        with template(("lines", key), _build):
            pass
    assert BUILT == [(1,), (2,), (3,), (1,)]  # 1 was dropped for 3, then built again
    for key in (3, 1):  # the two most recent are kept
        with template(("lines", key), _build):
            pass
    assert BUILT == [(1,), (2,), (3,), (1,)]


def test_a_png_has_256_colours_its_title_and_white_kept_white(tmp_path, monkeypatch):
    rendered = []
    to_palette = Template.to_palette

    def keep(self, rgb):
        rendered.append(np.asarray(rgb).copy())
        return to_palette(self, rgb)

    monkeypatch.setattr(Template, "to_palette", keep)
    png = _draw(tmp_path / "p.png", A, "fits: ä ≤ 1")
    with Image.open(tmp_path / "p.png") as img:
        assert img.mode == "P" and img.format == "PNG"
        assert img.text["Title"] == "fits: ä ≤ 1"
    white = (rendered[0] == 255).all(axis=2)
    assert white.mean() > 0.5 and (png[white] == 255).all()
    for colour in ("C0", "C1"):  # each line's own colour survives exactly where drawn
        c = np.round(255 * np.array(to_rgb(colour))).astype(np.uint8)
        where = (rendered[0] == c).all(axis=2)
        assert where.sum() > 20 and (png[where] == c).all()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_white_stays_exact_beside_near_white_greys_within_3_levels_flat_colours_exact():
    def row(colour, n=256):
        return np.tile(np.array(colour, dtype=np.uint8), (1, n, 1))

    every_grey = np.repeat(np.arange(256, dtype=np.uint8), 3).reshape(1, 256, 3)
    near_white, colours = [[253, 252, 250], [250, 250, 251]], [[31, 119, 180], [255, 127, 14]]
    rows = [every_grey, row([255, 255, 255]), *map(row, near_white), *map(row, colours)]
    rgb = np.concatenate(rows)
    got = np.asarray(octree(Image.fromarray(rgb)).convert("RGB")).astype(int)
    assert (got[1] == 255).all()  # no near-white palette entry takes white's pixels
    assert np.abs(got[0] - every_grey[0]).max() <= 3
    assert (got[4:] == rgb[4:]).all()
    assert len(np.unique(got.reshape(-1, 3), axis=0)) <= 256


def test_a_picture_of_an_image_keeps_its_colormap(tmp_path):
    """An image's many colours get a palette of their own: the PNG stays within a few levels
    of what was rendered, where the artists' palette of a few flat colours is far off."""
    t = Template((2.0, 2.0))
    ax = t.fig.subplots()
    t.dynamic(ax.imshow(np.random.default_rng(0).random((20, 20)), cmap="viridis"))
    rendered = np.asarray(t.render())[..., :3].astype(int)
    save_png(t, tmp_path / "i.png", "image")
    with Image.open(tmp_path / "i.png") as img:
        assert img.mode == "P" and img.text["Title"] == "image"
        png = np.asarray(img.convert("RGB")).astype(int)
    assert np.abs(png - rendered).mean() < 3


def test_a_one_off_figure_carries_its_text_chunks(tmp_path):
    fig = Figure(figsize=(2.0, 1.5), dpi=DPI)
    fig.subplots().plot([0, 1], [1, 0], color="C2")
    save_figure(fig, tmp_path / "f.png", Title="t", Description='[{"key": "seed"}]')
    with Image.open(tmp_path / "f.png") as img:
        assert img.mode == "P" and img.size == (200, 150)
        assert img.text == {"Title": "t", "Description": '[{"key": "seed"}]'}
        assert (np.asarray(img.convert("RGB"))[0, 0] == 255).all()  # the corner stays white


def test_limits_pad_the_finite_data_by_5_percent():
    ax = Figure().subplots()
    fit_limits(ax, [[0.0, 10.0, np.nan]], [[-1.0, np.inf, 1.0], [0.5]])
    assert ax.get_xlim() == pytest.approx((-0.5, 10.5))
    assert ax.get_ylim() == pytest.approx((-1.1, 1.1))
    fit_limits(ax, [[2.0]], [[]])  # one value: a span of half its size; no y data: y kept
    assert ax.get_xlim() == pytest.approx((1.95, 2.05)) and ax.get_ylim() == pytest.approx(
        (-1.1, 1.1)
    )


def test_a_log_axis_pads_in_log_space_and_reads_plainly():
    ax = Figure().subplots()
    plain_log_axis(ax)
    fit_limits(ax, [[0, 1]], [[0.01, 1.0, 0.0, -3.0]], log=True)  # non-positive values ignored
    assert ax.get_ylim() == pytest.approx((10**-2.1, 10**0.1))
    label = ax.yaxis.get_major_formatter()
    assert [label(v, 0) for v in (0.04, 0.1, 1e-05, 200.0)] == ["0.04", "0.1", "1e-05", "200"]
    assert ax.get_yscale() == "log"
