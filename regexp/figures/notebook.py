"""notebook.png: the reproduced notebook over its data draws, one panel per section.

Each panel shows one metric per model: every draw's value as a point, their mean as a bar,
and the notebook's published value as a red diamond beside it, so a reader sees at once how
far the draws spread and where the notebook's single run falls. Values are given as plain
lists (regexp.read.notebook reads the runs): no run folder is read here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from regexp.figures.templates import plain_log_axis, save_figure

LABELS = {"train_mse": "training MSE", "val_mse": "validation MSE", "val_accuracy": "val accuracy"}


@dataclass(frozen=True)
class Panel:
    """One section of the notebook: its models, each with one value per draw (NaN where a
    draw has none) and the notebook's published value (None where it printed none)."""

    title: str
    metric: str  # a metrics.json key: train_mse, val_mse or val_accuracy
    models: Sequence[str]
    values: Sequence[Sequence[float]]
    published: Sequence[float | None]


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def _panel(ax, panel: Panel, n_draws: int) -> None:
    xs = np.arange(len(panel.models))
    # Spread a model's draws across its slot in a fixed order (draw 1 at the left), so the
    # same draw sits at the same offset in every panel.
    offsets = np.linspace(-0.22, 0.22, n_draws) if n_draws > 1 else np.zeros(1)
    for x, values, published in zip(xs, panel.values, panel.published):
        array = np.asarray(values, dtype=float)
        shown = np.isfinite(array)
        ax.scatter(x + offsets[: len(array)][shown], array[shown], s=16, color="C0", alpha=0.7,
                   zorder=3, linewidths=0)  # fmt: skip
        finite = _finite(values)
        if finite.size:
            ax.hlines(finite.mean(), x - 0.3, x + 0.3, color="C0", linewidth=2.2, zorder=4)
        if published is not None and math.isfinite(published):
            ax.scatter(x + 0.38, published, marker="D", s=30, color="tab:red", zorder=5)
    positive = [v for vs in panel.values for v in _finite(vs)] + [
        p for p in panel.published if p is not None and math.isfinite(p)
    ]
    if panel.metric != "val_accuracy" and positive and min(positive) > 0:
        plain_log_axis(ax)
    ax.set_xticks(xs, [m.removeprefix("model_") for m in panel.models], rotation=30, ha="right",
                  fontsize=8)  # fmt: skip
    ax.set_xlim(-0.6, len(panel.models) - 0.4)
    ax.set_title(panel.title, fontsize=10)
    ax.set_ylabel(LABELS.get(panel.metric, panel.metric), fontsize=9)
    ax.grid(axis="y", alpha=0.3)


def plot_notebook(panels: Sequence[Panel], n_draws: int, path: Path | str) -> None:
    """Write notebook.png: a 2 x 2 grid (one panel per section), a legend under it."""
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(11, 4.2 * rows), dpi=100, layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, panel in zip(axes, panels):
        _panel(ax, panel, n_draws)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    draws = f"{n_draws} data draw{'s' if n_draws != 1 else ''}"
    handles = [
        Line2D([], [], marker="o", linestyle="", color="C0", alpha=0.7, label="one data draw"),
        Line2D([], [], color="C0", linewidth=2.2, label=f"mean of {draws}"),
        Line2D([], [], marker="D", linestyle="", color="tab:red", label="the notebook's figure"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle(f"The notebook reproduced on {draws}", fontsize=12)
    save_figure(fig, path, Title="notebook", Description="regexp notebook over data draws")
