"""Matplotlib figures of one run, as PNG files: fit and hidden units, activations, history.

Pure functions of numpy arrays (no model, no torch). Figures are built with
`matplotlib.figure.Figure` rather than pyplot: PNGs render through Agg with no backend
switch or display, nothing is registered globally, and a sweep of many runs does not
accumulate open figures; each PNG is written atomically and
carries its title in the PNG "Title" text chunk (handy for tests and file browsers).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from regexp.core.runs import write_atomic
from regexp.tools.ewma import ewma

DPI = 100
LEGEND_MAX_UNITS = 16  # a legend entry per unit stops being readable beyond this


def subset_indices(n_units: int, max_units: int) -> np.ndarray:
    """Evenly spaced unit indices, first and last included; all of them when n <= max."""
    if n_units <= max_units:
        return np.arange(n_units)
    return np.unique(np.linspace(0, n_units - 1, max(max_units, 1)).round().astype(int))


def subset_label(shown: int, total: int) -> str:
    """'64 of 1024 units' when a subset is drawn, '16 units' otherwise."""
    return f"{shown} of {total} units" if shown < total else f"{total} units"


def _save(fig: Figure, path: Path | str, title: str) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Title": title})
    fig.clear()  # drop artists now instead of waiting for the garbage collector
    write_atomic(path, buf.getvalue())


def _margins(fig: Figure, left=0.75, right=0.2, bottom=0.55, top=0.6, **space: float) -> None:
    # Fixed margins in inches: constrained layout would double the time of each figure.
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, **space
    )


def _flat(a: np.ndarray | list) -> np.ndarray:
    return np.asarray(a, dtype=float).reshape(-1)


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
) -> None:
    """1-D regression: training points, the fitted function and the first layer's units.

    `hidden` is [n_grid, n_units]: each first-layer unit's output over x_grid. Units go in a
    panel of their own below the fit so the fit keeps its scale; for wide layers an evenly
    spaced subset of `max_units` is drawn and the title says so.
    """
    x_train, y_train = _flat(x_train), _flat(y_train)
    x_grid, y_grid = _flat(x_grid), _flat(y_grid)
    order = np.argsort(x_grid)
    x_grid, y_grid = x_grid[order], y_grid[order]

    if hidden is None:
        fig = Figure(figsize=(7, 4.5), dpi=DPI)
        ax_fit = fig.add_subplot()
        ax_hid = None
    else:
        fig = Figure(figsize=(7, 6.5), dpi=DPI)
        ax_fit, ax_hid = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    _margins(fig, hspace=0.15)

    ax_fit.scatter(x_train, y_train, s=14, color="0.25", label="training data", zorder=3)
    ax_fit.plot(x_grid, y_grid, color="C3", lw=2, label="fitted function")
    ax_fit.set_ylabel("y")
    ax_fit.legend(loc="best", fontsize=8)

    full_title = title
    if ax_hid is not None:
        acts = np.asarray(hidden, dtype=float).reshape(len(order), -1)[order]
        n_units = acts.shape[1]
        idx = subset_indices(n_units, max_units)
        label = subset_label(len(idx), n_units)
        if hidden_legend and n_units <= LEGEND_MAX_UNITS:
            for j in idx:
                ax_hid.plot(x_grid, acts[:, j], lw=1, label=f"unit {j}")
            ax_hid.legend(loc="upper left", fontsize=7, ncols=min(4, n_units))
        else:
            # One LineCollection instead of thousands of Line2D objects keeps this fast.
            segs = np.stack([np.column_stack([x_grid, acts[:, j]]) for j in idx])
            colors = matplotlib.colormaps["viridis"](np.linspace(0, 1, len(idx)))
            lw = 1.0 if len(idx) <= 32 else 0.6
            ax_hid.add_collection(LineCollection(segs, colors=colors, linewidths=lw, alpha=0.8))
            ax_hid.autoscale_view()
        ax_hid.set_ylabel("unit output")
        ax_hid.set_title(f"first hidden layer: {label}", fontsize=9)
        ax_hid.set_xlabel("x")
        if len(idx) < n_units:
            full_title = f"{title} ({label} shown)" if title else f"{label} shown"
    else:
        ax_fit.set_xlabel("x")
    if full_title:
        fig.suptitle(full_title)
    _save(fig, path, full_title)


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
    cells = np.arange(len(idx))
    col, row = cells % ncols, cells // ncols
    u = pad + (1 - 2 * pad) * (x - x[0]) / span_x  # x within a cell, in [pad, 1 - pad]
    v = pad + (1 - 2 * pad) * (shown - lo) / span_y
    curves = np.stack(
        [
            np.column_stack([c + u, -r - 1 + v[:, k]])
            for k, (c, r) in enumerate(zip(col, row, strict=True))
        ]
    )
    boxes = np.array(
        [
            [[c, -r - 1], [c + 1, -r - 1], [c + 1, -r], [c, -r], [c, -r - 1]]
            for c, r in zip(col, row, strict=True)
        ],
        dtype=float,
    )

    fig = Figure(figsize=(1.3 * ncols + 0.4, 1.0 * nrows + 0.7), dpi=DPI)
    ax = fig.add_axes((0.01, 0.01, 0.98, 1 - 0.7 / fig.get_figheight()))
    ax.add_collection(LineCollection(boxes, colors="0.75", linewidths=0.8))
    if lo < 0 < hi:  # the zero line: where a relu unit is off
        z = -np.arange(nrows)[:, None] - 1 + pad + (1 - 2 * pad) * (0 - lo) / span_y
        zero = [[(c, zr), (c + 1, zr)] for c, zr in zip(col, z[row, 0], strict=True)]
        ax.add_collection(LineCollection(zero, colors="0.85", linewidths=0.6))
    ax.add_collection(LineCollection(curves, colors="C0", linewidths=1.0))
    for k, j in enumerate(idx):
        ax.text(col[k] + 0.04, -row[k] - 0.06, str(j), fontsize=6, va="top", color="0.35")
    ax.set(xlim=(-0.02, ncols + 0.02), ylim=(-nrows - 0.02, 0.02))
    ax.set_axis_off()
    title = (
        f"layer {layer} activations: {subset_label(len(idx), n_units)}"
        f" (shared y range [{lo:.3g}, {hi:.3g}])"
    )
    fig.suptitle(title, fontsize=10)
    _save(fig, path, title)


_HISTORY_PANELS = (("loss", True), ("mse", True), ("accuracy", False))  # (metric, log y)


def plot_history(path: Path | str, history: pd.DataFrame, smoothing: float = 0.6) -> None:
    """Train and validation curves per metric; raw faintly, EWMA-smoothed on top.

    Validation columns may be NaN on epochs where it was not evaluated: each series keeps
    only its own finite points. Losses and MSE get a log y axis.
    """
    epoch = (
        pd.to_numeric(history["epoch"], errors="coerce").to_numpy(dtype=float)
        if "epoch" in history
        else np.arange(1, len(history) + 1, dtype=float)
    )
    panels = []
    for metric, log in _HISTORY_PANELS:
        series = {}
        for split in ("train", "val"):
            col = f"{split}_{metric}"
            if col in history:
                y = pd.to_numeric(history[col], errors="coerce").to_numpy(dtype=float)
                keep = np.isfinite(y) & np.isfinite(epoch) & ((y > 0) if log else True)
                if keep.any():
                    series[split] = (epoch[keep], y[keep])
        if series or metric != "accuracy":
            panels.append((metric, log, series))

    fig = Figure(figsize=(4.5 * len(panels), 3.8), dpi=DPI)
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)).ravel()
    _margins(fig, left=0.6, wspace=0.25)
    for ax, (metric, log, series) in zip(axes, panels, strict=True):
        for split, color in (("train", "C0"), ("val", "C1")):
            if split not in series:
                continue
            x, y = series[split]
            marker = "o" if len(x) == 1 else None
            if smoothing > 0:
                ax.plot(x, y, color=color, lw=1, alpha=0.3, marker=marker)
                ax.plot(x, ewma(y, smoothing), color=color, lw=1.8, label=split)
            else:
                ax.plot(x, y, color=color, lw=1.5, marker=marker, label=split)
        if log and series:
            ax.set_yscale("log")
        if series:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
        ax.set(xlabel="epoch", title=metric)
    title = "training history" + (
        f" (faint: raw; bold: EWMA β={smoothing:g}, bias-corrected)" if smoothing > 0 else ""
    )
    fig.suptitle(title, fontsize=10)
    _save(fig, path, title)


def plot_decision_boundary(
    path: Path | str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    grid_x1: np.ndarray,
    grid_x2: np.ndarray,
    prob: np.ndarray,
    title: str = "",
) -> None:
    """2-D classification: filled contour of P(y=1), the 0.5 boundary, labelled points.

    grid_x1/grid_x2 are either the 1-D axes of the grid (prob is then [len(x2), len(x1)]
    or flat in that order) or 2-D meshgrid arrays of prob's shape.
    """
    g1, g2 = np.asarray(grid_x1, dtype=float), np.asarray(grid_x2, dtype=float)
    if g1.ndim == 1 and g2.ndim == 1:
        g1, g2 = np.meshgrid(g1, g2)
    p = np.asarray(prob, dtype=float).reshape(g1.shape)
    x = np.asarray(x_train, dtype=float).reshape(len(x_train), -1)
    y = _flat(y_train)

    fig = Figure(figsize=(6.5, 5.5), dpi=DPI)
    ax = fig.add_subplot()
    _margins(fig, right=0.1, top=0.45)
    filled = ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
    fig.colorbar(filled, ax=ax, label="P(y = 1)")
    if np.nanmin(p) < 0.5 < np.nanmax(p):  # else contour() warns that no level was found
        ax.contour(g1, g2, p, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(
        x[:, 0], x[:, 1], c=y, cmap="RdBu_r", vmin=0, vmax=1, s=14, edgecolors="k", linewidths=0.4
    )
    ax.set(xlabel="x1", ylabel="x2")
    full_title = title or "decision boundary (P(y = 1) = 0.5)"
    ax.set_title(full_title)
    _save(fig, path, full_title)
