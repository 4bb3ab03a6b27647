"""A sweep's parallel.png: parallel coordinates of its study keys and its objective, one line
per ok run, coloured by the objective (the best run drawn last, thick, and named).

Each axis is normalised to [0, 1]: numbers linearly (penalty weights and learning rates,
and MSE, in log space), other values as ordered positions. A small drawing of our own on
matplotlib's Figure API: pandas' parallel_coordinates colours by class, not by a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from regexp.config.values import fmt
from regexp.figures.sweep import MAX_LINES, as_numbers, log_key, ordered
from regexp.figures.templates import save_figure

MAX_TICKS = 12  # labelled values of a category axis; more are thinned
LABEL_BOX = dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.7)  # over lines


@dataclass(frozen=True)
class Axis:
    key: str
    positions: np.ndarray  # each run's place on the axis, in [0, 1]
    ticks: list[tuple[float, str]]  # (place, label)
    log: bool


def _numeric_axis(key: str, values: list[float], log: bool) -> Axis:
    """Ticks at each value when there are a few (a grid), else at five even steps."""
    x = np.array(values, dtype=float)
    scaled = np.log10(x) if log else x
    lo, hi = float(scaled.min()), float(scaled.max())
    span = hi - lo

    def place(v: np.ndarray | float) -> np.ndarray | float:
        return (v - lo) / span if span > 0 else 0.5 + 0 * v

    distinct = np.unique(x)
    if len(distinct) <= MAX_LINES:
        ticks = [(float(place(np.log10(v) if log else v)), fmt(float(v))) for v in distinct]
    else:
        steps = np.linspace(lo, hi, 5)
        ticks = [(float(place(v)), f"{10**v if log else v:.2g}") for v in steps]
    return Axis(key, np.asarray(place(scaled), dtype=float), ticks, log)


def axis_of(key: str, column: pd.Series) -> Axis:
    """A key's axis: numbers scaled (log for lam/lr-like keys and MSE), else ordered places."""
    text = column.map(fmt)
    nums = as_numbers(text.tolist())
    if nums is not None:
        log = (log_key(key) or key.endswith("mse")) and min(nums) > 0
        return _numeric_axis(key, nums, log)
    order = ordered(column)
    place = {v: (i / (len(order) - 1) if len(order) > 1 else 0.5) for i, v in enumerate(order)}
    every = math.ceil(len(order) / MAX_TICKS)
    ticks = [(place[v], v) for v in order[::every]]
    return Axis(key, np.array([place[v] for v in text]), ticks, False)


def plot_parallel(
    path: Path | str, runs: pd.DataFrame, keys: list[str], objective: str, direction: str
) -> list[Axis]:
    """Draw parallel.png for `runs` (one row per ok run: the study keys, the objective and
    `job`); return its axes."""
    values = pd.to_numeric(runs[objective], errors="coerce")
    runs = runs[values.notna() & np.isfinite(values)]
    values = values[runs.index].to_numpy(dtype=float)
    axes = [axis_of(k, runs[k]) for k in [*keys, objective]]
    width = max(7.0, 1.9 * len(axes) + 1.8)
    fig = Figure(figsize=(width, 5.0), dpi=100)
    ax = fig.add_axes((0.6 / width, 0.1, 1 - 1.9 / width, 0.72))
    cax = fig.add_axes((1 - 1.05 / width, 0.1, 0.18 / width, 0.72))
    log = objective.endswith("mse") and values.min() > 0
    norm = (LogNorm if log else Normalize)(values.min(), values.max())
    cmap = matplotlib.colormaps["viridis_r" if direction == "minimize" else "viridis"]
    better = values if direction == "maximize" else -values
    order = np.argsort(better, kind="stable")  # the best last: on top
    points = np.stack([a.positions for a in axes], axis=1)  # [runs, axes]
    xs = np.arange(len(axes), dtype=float)
    segments = [np.column_stack([xs, points[i]]) for i in order]
    lines = LineCollection(segments, colors=cmap(norm(values[order])), linewidths=1.2,
                           alpha=0.85)  # fmt: skip
    ax.add_collection(lines)
    best = order[-1]
    ax.plot(xs, points[best], color="black", lw=3.2, zorder=3)
    ax.plot(xs, points[best], color=cmap(norm(values[best])), lw=1.6, zorder=4)
    for i, a in enumerate(axes):
        ax.axvline(i, color="0.35", lw=1, zorder=1)
        for place, label in a.ticks:
            ax.text(i + 0.03, place, label, fontsize=7, va="center", color="0.2", zorder=5,
                    bbox=LABEL_BOX)  # fmt: skip
        title = a.key + (" (log)" if a.log else "")
        ax.text(i, 1.06, title, ha="center", va="bottom", fontsize=8, fontweight="bold")
    ax.set_xlim(-0.15, len(axes) - 1 + 0.45)
    ax.set_ylim(-0.04, 1.04)
    ax.set_axis_off()
    job = runs["job"].iloc[best] if "job" in runs else None
    name = f"job {int(job)}" if job is not None and not pd.isna(job) else "the best run"
    best_text = f"best: {name}, {fmt(float(values[best]))}, drawn thick"
    fig.suptitle(f"{len(runs)} runs over their study keys and {objective} ({best_text})",
                 fontsize=10)  # fmt: skip
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm, cmap), cax=cax)
    bar.set_label(f"{objective} ({direction}d)", fontsize=8)
    plain = FuncFormatter(lambda v, _: f"{v:.3g}")  # 0.04, not 4×10⁻² (mathtext)
    bar.ax.yaxis.set_major_formatter(plain)
    bar.ax.yaxis.set_minor_formatter(plain)
    title = f"parallel coordinates: {', '.join(keys)} and {objective}"
    save_figure(fig, path, Title=title, Description=f"best: {name}")
    return axes
