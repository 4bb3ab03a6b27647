"""Matplotlib figures of one run, as PNG files: fit and hidden units, activations, history.

Pure functions of numpy arrays (no model, no torch). Speed matters (a sweep draws three
figures per job), so each kind of figure is a template built once per process and per
shape (regexp.figures.templates), then updated with the new data and drawn on its Agg
canvas with fixed margins (no layout engine); PNGs are written at zlib level 1 by PIL.
Nothing is registered with pyplot. Each PNG is written atomically and carries its title
in the PNG "Title" text chunk (handy for tests and file browsers).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from regexp.figures.templates import (
    DPI,
    PNG_COMPRESSION,
    Template,
    fit_limits,
    plain_log_axis,
    save_png,
    template,
    unit_colors,
)
from regexp.system.files import write_atomic
from regexp.train.history import History
from regexp.train.update import ewma

if TYPE_CHECKING:  # pandas for a type only: a process drawing figures need not import it
    import pandas as pd

__all__ = ["DPI", "PNG_COMPRESSION", "unit_colors"]

LEGEND_MAX_UNITS = 16  # a legend entry per unit stops being readable beyond this
DENSE_MIN_POINTS = 10  # fewer points than this, or gaps between epochs: no smoothing


def subset_indices(n_units: int, max_units: int) -> np.ndarray:
    """Evenly spaced unit indices, first and last included; all of them when n <= max."""
    if n_units <= max_units:
        return np.arange(n_units)
    return np.unique(np.linspace(0, n_units - 1, max(max_units, 1)).round().astype(int))


def subset_label(shown: int, total: int) -> str:
    """'64 of 1024 units' when a subset is drawn, '16 units' otherwise."""
    return f"{shown} of {total} units" if shown < total else f"{total} units"


def _flat(a: np.ndarray | list | None) -> np.ndarray:
    return np.empty(0) if a is None else np.asarray(a, dtype=float).reshape(-1)


def _scores_text(scores: dict[str, float] | None) -> str:
    parts = [f"{k} {v:.3g}" for k, v in (scores or {}).items() if v is not None]
    return ", ".join(parts)


# ---------------------------------------------------------------------------- layers.png


def _build_layers(n_lines: int, legend: bool, with_units: bool, total_label: str) -> Template:
    t = Template((8.0, 6.2) if with_units else (8.0, 4.4))
    if with_units:
        ax_fit, ax_hid = t.fig.subplots(2, 1, sharex=True, height_ratios=[1.25, 1])
    else:
        ax_fit, ax_hid = t.fig.subplots(1, 1), None
    t.margins(left=0.8, right=1.75, bottom=0.55, top=0.55, hspace=0.28)
    t.val = ax_fit.scatter([], [], s=7, color="0.6", alpha=0.35, lw=0, label="validation", zorder=1)
    t.train = ax_fit.scatter([], [], s=16, color="0.15", lw=0, label="training", zorder=3)
    (t.fit,) = ax_fit.plot([], [], color="C3", lw=2.2, label="fitted function", zorder=4)
    ax_fit.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    t.ax_fit, t.ax_hid = ax_fit, ax_hid
    # The title is static (it changes with the run's name or shape); the scores are not.
    t.suptitle = t.fig.suptitle("", fontsize=11, y=1 - 0.08 / t.fig.get_figheight())
    t.scores = t.fig.text(0.5, 1 - 0.32 / t.fig.get_figheight(), "", ha="center", va="top",
                          fontsize=9, color="0.2")  # fmt: skip
    t.axes_labels(ax_fit, xlabel="" if with_units else "x", ylabel="y")
    t.dynamic(ax_fit.xaxis, ax_fit.yaxis, t.val, t.train, t.fit, t.scores)
    if ax_hid is None:
        return t
    t.zero = ax_hid.axhline(0, color="0.8", lw=0.8, zorder=0)
    if legend:
        t.units = [ax_hid.plot([], [], lw=1.2, color=c)[0] for c in unit_colors(n_lines)]
    else:
        t.units = LineCollection([], linewidths=1.0 if n_lines <= 64 else 0.6, alpha=0.9)
        t.units.set_color(unit_colors(n_lines))
        ax_hid.add_collection(t.units)
    (t.bias,) = ax_hid.plot([], [], color="0.3", lw=1.2, ls=":", zorder=4, label="output bias")
    (t.total,) = ax_hid.plot([], [], color="C3", lw=1.4, ls="--", alpha=0.8, zorder=5,
                             label=total_label)  # fmt: skip
    t.axes_labels(ax_hid, "x", "contribution to output" if total_label else "unit output")
    # The legend is drawn once: its entries are the same for every run of this shape.
    handles = (list(t.units) if legend else []) + ([t.total, t.bias] if total_label else [])
    labels = [f"unit {j}" for j in range(n_lines)] if legend else []
    labels += [total_label, "output bias"] if total_label else []
    if handles:
        ax_hid.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                      frameon=False, ncols=2 if len(handles) > 12 else 1, handlelength=1.2,
                      columnspacing=0.6)  # fmt: skip
    units = list(t.units) if legend else [t.units]
    t.dynamic(ax_hid.xaxis, ax_hid.yaxis, t.zero, *units, t.bias, t.total)
    return t


def plot_layers(
    path: Path | str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_grid: np.ndarray,
    y_grid: np.ndarray,
    hidden: np.ndarray | None = None,
    hidden_legend: bool = False,
    title: str = "",
    max_units: int = 128,
    *,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    bias: float | None = None,
    scores: dict[str, float] | None = None,
    layer_name: str = "first hidden layer",
    total_label: str = "sum + bias = fit",
) -> None:
    """1-D regression: the fitted function over the training points (validation faint), and
    a panel of the hidden units below it.

    `hidden` is [n_grid, n_units] over x_grid. With `bias` given, it is each unit's
    contribution to the output (its output weight × its activation): the panel then also
    draws the bias and their sum plus the bias, which is the fitted function. Without, it is
    each unit's raw output. Units get distinct colours up to 64 (a colormap beyond); the
    legends sit right of the axes, off the data. Wide layers draw an evenly spaced subset of
    `max_units` units and the title says so. `scores` ({"train MSE": 0.04, ...}) go in the
    title.
    """
    x_grid, y_grid = _flat(x_grid), _flat(y_grid)
    order = np.argsort(x_grid)
    x_grid, y_grid = x_grid[order], y_grid[order]
    x_train, y_train, x_val, y_val = map(_flat, (x_train, y_train, x_val, y_val))

    acts, idx, n_units = None, np.arange(0), 0
    if hidden is not None:
        acts = np.asarray(hidden, dtype=float).reshape(len(order), -1)[order]
        n_units = acts.shape[1]
        idx = subset_indices(n_units, max_units)
    legend = hidden_legend and n_units <= LEGEND_MAX_UNITS
    if acts is None or bias is None:
        total_label = ""  # raw unit outputs: they do not add up to the fit
    key = ("layers", len(idx), legend, acts is not None, total_label)
    with template(key, _build_layers) as t:
        t.train.set_offsets(np.column_stack([x_train, y_train]))
        t.val.set_offsets(np.column_stack([x_val, y_val]))
        t.fit.set_data(x_grid, y_grid)
        xs = [x_grid, x_train, x_val]
        fit_limits(t.ax_fit, xs, [y_grid, y_train, y_val])
        full_title = title
        if acts is not None:
            shown = acts[:, idx]
            _update_units(t, x_grid, shown, idx, legend)
            label = subset_label(len(idx), n_units)
            ys = [shown.ravel()]
            if bias is not None:
                total = acts.sum(axis=1) + bias
                t.bias.set_data(x_grid[[0, -1]], [bias, bias])
                t.total.set_data(x_grid, total)
                ys += [total, [bias]]
                what = f"{layer_name}: {label}, each unit's output weight × activation"
            else:
                what = f"{layer_name}: {label}, each unit's output"
            fit_limits(t.ax_hid, xs, ys)
            t.set_static_text(t.ax_hid.title, what)
            t.ax_hid.title.set_fontsize(9)
            if len(idx) < n_units:
                full_title = f"{title} ({label} shown)" if title else f"{label} shown"
        t.set_static_text(t.suptitle, full_title)
        t.scores.set_text(_scores_text(scores))
        save_png(t, path, full_title)


def _update_units(t: Template, x: np.ndarray, shown: np.ndarray, idx, legend: bool) -> None:
    if legend:
        for line, j in zip(t.units, range(shown.shape[1])):
            line.set_data(x, shown[:, j])
    else:
        # One LineCollection instead of thousands of Line2D objects keeps wide layers fast.
        t.units.set_segments(np.stack([np.column_stack([x, shown[:, k]]) for k in range(len(idx))]))


def save_fit(path: Path | str, **arrays: np.ndarray) -> None:
    """The arrays a sweep's summary.png overlays (x_grid, y_grid, x_train, ...), as float32
    .npz: a sweep's figure reads them instead of loading each model (no torch there)."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v, dtype=np.float32).reshape(-1) for k, v in arrays.items()})
    write_atomic(Path(path), buf.getvalue())


# ---------------------------------------------------------------------------- activations


def _build_activations(ncols: int, nrows: int, labels: tuple[int, ...], _layer: int) -> Template:
    t = Template((1.3 * ncols + 0.4, 1.0 * nrows + 0.7))
    ax = t.fig.add_axes((0.01, 0.01, 0.98, 1 - 0.7 / t.fig.get_figheight()))
    cells = np.arange(len(labels))
    col, row = cells % ncols, cells // ncols
    boxes = [[[c, -r - 1], [c + 1, -r - 1], [c + 1, -r], [c, -r], [c, -r - 1]] for c, r in
             zip(col, row)]  # fmt: skip
    ax.add_collection(LineCollection(boxes, colors="0.75", linewidths=0.8))
    t.zero = LineCollection([], colors="0.85", linewidths=0.6)
    t.curves = LineCollection([], colors="C0", linewidths=1.0)
    ax.add_collection(t.zero)
    ax.add_collection(t.curves)
    t.suptitle = t.fig.suptitle("", fontsize=10)
    # The shared y range changes with every run: a short text of its own, not the title.
    t.y_range = t.fig.text(0.99, 0.995, "", ha="right", va="top", fontsize=7, color="0.35")
    t.dynamic(t.zero, t.curves, t.y_range)
    for k, j in enumerate(labels):
        ax.text(col[k] + 0.04, -row[k] - 0.06, str(j), fontsize=6, va="top", color="0.35")
    ax.set(xlim=(-0.02, ncols + 0.02), ylim=(-nrows - 0.02, 0.02))
    ax.set_axis_off()
    t.col, t.row = col, row
    return t


def plot_activations(
    path: Path | str, x_grid: np.ndarray, acts: np.ndarray, layer: int, max_units: int = 64
) -> None:
    """One small facet per unit of hidden layer `layer` (acts is [n_grid, n_units]).

    As the notebook's plot_layer_activations_facetted: facets share one y range (the
    notebook's fixed scales), so dead and saturated units stand out. Wide layers get an
    evenly spaced subset of `max_units` units, and the title says so.
    """
    x = _flat(x_grid)
    order = np.argsort(x)
    x = x[order]
    acts = np.asarray(acts, dtype=float).reshape(len(order), -1)[order]
    n_units = acts.shape[1]
    idx = subset_indices(n_units, max_units)
    ncols = max(1, math.ceil(math.sqrt(len(idx))))
    nrows = max(1, math.ceil(len(idx) / ncols))

    # All facets live in one Axes, each curve rescaled into its own cell: 64 real subplots
    # take over a second to draw, this takes a tenth of that.
    shown = acts[:, idx]
    finite = shown[np.isfinite(shown)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    span_y = hi - lo if hi > lo else 1.0
    span_x = x[-1] - x[0] if len(x) > 1 and x[-1] > x[0] else 1.0
    pad = 0.08
    # a template per layer: its title is in the static layer, redrawn when it changes
    key = ("activations", ncols, nrows, tuple(idx.tolist()), layer)
    with template(key, _build_activations) as t:
        col, row = t.col, t.row
        u = pad + (1 - 2 * pad) * (x - x[0]) / span_x  # x within a cell, in [pad, 1 - pad]
        v = pad + (1 - 2 * pad) * (shown - lo) / span_y
        t.curves.set_segments(
            np.stack(
                [
                    np.column_stack([c + u, -r - 1 + v[:, k]])
                    for k, (c, r) in enumerate(zip(col, row))
                ]
            )  # fmt: skip
        )
        zero = []
        if lo < 0 < hi:  # the zero line: where a relu unit is off
            z = -row - 1 + pad + (1 - 2 * pad) * (0 - lo) / span_y
            zero = [[(c, zr), (c + 1, zr)] for c, zr in zip(col, z)]
        t.zero.set_segments(zero)
        title = f"layer {layer} activations: {subset_label(len(idx), n_units)}, one y range"
        t.set_static_text(t.suptitle, title)
        t.y_range.set_text(f"y: [{lo:.3g}, {hi:.3g}]")
        save_png(t, path, f"{title} [{lo:.3g}, {hi:.3g}]")


# ---------------------------------------------------------------------------- history.png


def is_dense(epochs: np.ndarray) -> bool:
    """A series with a point on (nearly) every epoch: smoothing it is honest."""
    return len(epochs) >= DENSE_MIN_POINTS and float(np.median(np.diff(epochs))) <= 1


def _floats(values: Any) -> np.ndarray:
    """A column as floats, NaN where a cell is not a number (a hand-edited CSV)."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            try:
                out[i] = float(v)
            except (TypeError, ValueError):
                pass
        return out


def history_panels(history: History | pd.DataFrame) -> list[tuple[str, bool, dict]]:
    """[(metric, log y, {split: (epochs, values)})] of the panels history.png draws.

    Every finite point of each series (validation may be NaN between evaluations; points
    that a log axis cannot show are dropped); the loss panel only when it differs from the
    mse panel (it is the same curve when there is no penalty).
    """
    epoch = (
        _floats(history["epoch"])
        if "epoch" in history
        else np.arange(1, len(history) + 1, dtype=float)
    )
    panels = []
    for metric, log in (("loss", True), ("mse", True), ("accuracy", False)):
        series = {}
        for split in ("train", "val"):
            col = f"{split}_{metric}"
            if col in history:
                y = _floats(history[col])
                keep = np.isfinite(y) & np.isfinite(epoch) & ((y > 0) if log else True)
                if keep.any():
                    series[split] = (epoch[keep], y[keep])
        if series or metric != "accuracy":
            panels.append((metric, log, series))
    by_name = {m: s for m, _, s in panels}
    if by_name.get("mse") and _same_series(by_name["loss"], by_name["mse"]):
        panels = [p for p in panels if p[0] != "loss"]
    return panels


def _same_series(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(
        len(a[k][1]) == len(b[k][1])
        and np.allclose(a[k][0], b[k][0])
        and np.allclose(a[k][1], b[k][1], rtol=1e-6, atol=0)
        for k in a
    )


def _build_history(layout: tuple[tuple[str, bool, tuple[str, ...]], ...]) -> Template:
    t = Template((4.6 * len(layout) + 1.0, 3.9))
    axes = t.fig.subplots(1, len(layout), squeeze=False)[0]
    t.margins(left=0.8, right=0.2, bottom=0.55, top=0.95, wspace=0.32)
    t.axes, t.lines, t.titles = list(axes), {}, []
    t.suptitle = t.fig.suptitle("", fontsize=9)
    for ax, (metric, log, splits) in zip(axes, layout):
        for split, color in (("train", "C0"), ("val", "C1")):
            if split in splits:
                (raw,) = ax.plot([], [], color=color, lw=1, alpha=0.3)
                (bold,) = ax.plot([], [], color=color, lw=1.8, label=split)
                t.lines[metric, split] = (raw, bold)
                t.dynamic(raw, bold)
        if log:
            plain_log_axis(ax)
        if splits:  # above the panel, right of its title: never over the curves
            handles = [Line2D([], [], color=c, lw=1.8) for s, c in zip(("train", "val"),
                       ("C0", "C1")) if s in splits]  # fmt: skip
            ax.legend(handles, [s for s in ("train", "val") if s in splits], fontsize=8,
                      loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False,
                      borderaxespad=0.1)  # fmt: skip
        else:
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
        t.titles.append(ax.set_title(" ", loc="left", fontsize=10))
        t.axes_labels(ax, "epoch")
        t.dynamic(ax.xaxis, ax.yaxis)
    return t


def plot_history(path: Path | str, history: History | pd.DataFrame, smoothing: float = 0.6) -> None:
    """Train and validation curves per metric (history_panels). A dense series (a point per
    epoch) is drawn raw and faint with its EWMA (bias-corrected) on top; a sparse one
    (validation every few epochs) raw with markers, since smoothing over few points lags
    behind them. Losses and MSE get a log y axis with plain tick labels."""
    panels = history_panels(history)
    layout = tuple((m, log, tuple(sorted(s))) for m, log, s in panels)
    smoothed_any = False
    with template(("history", layout), _build_history) as t:
        for ax, title_text, (metric, log, series) in zip(t.axes, t.titles, panels):
            ys = []
            for split, (x, y) in series.items():
                raw, bold = t.lines[metric, split]
                smooth = smoothing > 0 and is_dense(x)
                smoothed_any |= smooth
                marker = "" if smooth or len(x) > 150 else "o"
                raw.set_data(x, y)
                raw.set(alpha=0.3 if smooth else 1.0, lw=1.0 if smooth else 1.4, marker=marker,
                        markersize=2.5 if len(x) > 1 else 5)  # fmt: skip
                if smooth:
                    bold.set_data(x, ewma(y, smoothing))
                else:
                    bold.set_data([], [])
                ys.append(y)
            if series:
                fit_limits(ax, [s[0] for s in series.values()], ys, log=log)
            title = metric
            if metric == "mse" and not any(p[0] == "loss" for p in panels):
                title = "mse (= loss: no penalty)"
            t.set_static_text(title_text, title)
        title = "training history" + (
            f"\nbold: EWMA β={smoothing:g} (bias-corrected) of per-epoch series, faint: raw;"
            "\nseries with points only every few epochs: raw points"
            if smoothed_any
            else "\nraw values"
        )
        t.set_static_text(t.suptitle, title)
        save_png(t, path, title)


# ---------------------------------------------------------------------------- decision boundary


def _build_boundary(shape: tuple[int, int]) -> Template:
    t = Template((7.4, 6.0))
    ax = t.fig.add_subplot()
    t.margins(left=0.75, right=1.0, bottom=0.55, top=0.85)
    t.field = ax.imshow(np.zeros(shape), origin="lower", cmap="RdBu_r", vmin=0, vmax=1,
                        alpha=0.55, aspect="auto", interpolation="bilinear")  # fmt: skip
    t.fig.colorbar(t.field, ax=ax, label="P(y = 1)", fraction=0.05, pad=0.02)
    style = dict(s=22, linewidths=0.6, zorder=3)
    t.c0 = ax.scatter([], [], marker="o", color="#1f4e99", edgecolors="white", label="class 0",
                      **style)  # fmt: skip
    t.c1 = ax.scatter([], [], marker="^", color="#b2182b", edgecolors="black", label="class 1",
                      **style)  # fmt: skip
    (t.edge,) = ax.plot([], [], color="k", lw=1.5, label="P(y = 1) = 0.5")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, fontsize=8, frameon=False,
              borderaxespad=0.2)  # fmt: skip
    t.axes_labels(ax, "x1", "x2")
    t.suptitle = t.fig.suptitle("", fontsize=10)
    t.ax, t.contour = ax, None
    t.dynamic(t.field, ax.xaxis, ax.yaxis, t.c0, t.c1, t.suptitle)
    return t


def plot_decision_boundary(
    path: Path | str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    grid_x1: np.ndarray,
    grid_x2: np.ndarray,
    prob: np.ndarray,
    title: str = "",
) -> None:
    """2-D classification: the P(y=1) field, its 0.5 contour, each class its own marker.

    grid_x1/grid_x2 are either the 1-D axes of the grid (prob is then [len(x2), len(x1)]
    or flat in that order) or 2-D meshgrid arrays of prob's shape. The axes span the grid
    exactly (no blank band): pass a grid that covers the points.
    """
    g1, g2 = np.asarray(grid_x1, dtype=float), np.asarray(grid_x2, dtype=float)
    if g1.ndim == 1 and g2.ndim == 1:
        g1, g2 = np.meshgrid(g1, g2)
    p = np.asarray(prob, dtype=float).reshape(g1.shape)
    x = np.asarray(x_train, dtype=float).reshape(len(x_train), -1)
    y = _flat(y_train)
    with template(("boundary", p.shape), _build_boundary) as t:
        extent = (g1.min(), g1.max(), g2.min(), g2.max())
        t.field.set_data(p)
        t.field.set_extent(extent)
        t.c0.set_offsets(x[y < 0.5, :2])
        t.c1.set_offsets(x[y >= 0.5, :2])
        if t.contour is not None:
            t.forget(t.contour)
            t.contour.remove()
            t.contour = None
        if np.nanmin(p) < 0.5 < np.nanmax(p):  # else contour() warns that no level was found
            t.contour = t.ax.contour(g1, g2, p, levels=[0.5], colors="k", linewidths=1.5)
            t.dynamic(t.contour)
        t.ax.set(xlim=extent[:2], ylim=extent[2:])
        full_title = title or "decision boundary (P(y = 1) = 0.5)"
        t.suptitle.set_text(full_title)
        save_png(t, path, full_title)


# The figures regexp.figures.specs names: a spec travels by name (to a pool's process, say),
# since the training process does not import matplotlib
FIGURES = {
    "plot_history": plot_history,
    "plot_layers": plot_layers,
    "plot_activations": plot_activations,
    "plot_decision_boundary": plot_decision_boundary,
    "save_fit": save_fit,
}


def draw_plots(specs: list[tuple[str, tuple, dict]]) -> None:
    """Draw regexp.figures.specs.plot_specs' figures: (a FIGURES name, its arguments, path
    first; its keywords). Imports no torch, for a pool's processes."""
    for name, args, kwargs in specs:
        Path(args[0]).parent.mkdir(parents=True, exist_ok=True)
        FIGURES[name](*args, **kwargs)
