"""A sweep's curves.png: the validation metric against the epoch for every ok run, and every
run an Optuna search's pruner stopped (drawn to where it stopped, its end marked ×).

Runs are coloured by the sweep's first study variable (a colour per value, or a colour map
with its bar for a key of many numeric values) and, when a second one has at most four
values, dashed by it; runs of one setting that differ only in seed are one mean line in a
min–max band, and the title says so (a pruned run is a line of its own). Curves are given as
arrays (regexp.read.sweep_figures reads them): no run folder is read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from regexp.figures.sweep import MAX_LINES, as_numbers, log_key
from regexp.figures.templates import plain_log_axis, save_figure

STYLES = ("-", "--", ":", "-.")  # the second study key's values, when it has this few


@dataclass(frozen=True)
class Curve:
    """One run's evaluated epochs and its metric there."""

    colour: str  # the first study key's value, as text ("" when nothing but seeds varies)
    style: str  # the second study key's value, as text ("" when there is none)
    setting: str  # every study key's value: runs of one setting (seeds) share a band
    epochs: np.ndarray
    values: np.ndarray
    pruned: bool = False  # stopped by a search's pruner: its curve ends there


@dataclass(frozen=True)
class Setting:
    """The runs of one setting, as drawn: the centre line and its band (NaN for one run)."""

    colour: str
    style: str
    epochs: np.ndarray
    centre: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    runs: int
    pruned: bool = False


def settings_of(curves: Sequence[Curve], log: bool) -> list[Setting]:
    """The curves grouped by setting, in first-seen order: on the epochs all its runs share,
    their mean (geometric on a log axis) and their min and max."""
    groups: dict[str, list[Curve]] = {}
    for i, curve in enumerate(curves):  # a pruned curve is its own: it would cut a band short
        key = f"{curve.setting}#{i}" if curve.pruned else curve.setting
        groups.setdefault(key, []).append(curve)
    out = []
    for runs in groups.values():
        epochs = runs[0].epochs
        for run in runs[1:]:
            epochs = np.intersect1d(epochs, run.epochs)
        stack = np.array([run.values[np.isin(run.epochs, epochs)] for run in runs], dtype=float)
        if len(runs) == 1:
            centre, lo, hi = stack[0], np.full(len(epochs), np.nan), np.full(len(epochs), np.nan)
        else:
            centre = np.exp(np.log(stack).mean(0)) if log else stack.mean(0)
            lo, hi = stack.min(0), stack.max(0)
        first = runs[0]
        out.append(Setting(first.colour, first.style, epochs, centre, lo, hi, len(runs),
                           first.pruned))  # fmt: skip
    return out


def _colours(values: list[str], key: str) -> tuple[dict[str, tuple], Normalize | None]:
    """A colour per value of the first study key, and the norm of the colour map's bar when
    the key has many numeric values."""
    distinct = list(dict.fromkeys(values))
    nums = as_numbers(distinct)
    if nums is not None and len(distinct) > MAX_LINES:
        positive = min(nums) > 0
        norm: Normalize = (LogNorm if log_key(key) and positive else Normalize)(
            min(nums), max(nums)
        )
        cmap = matplotlib.colormaps["viridis"]
        return {v: cmap(norm(x)) for v, x in zip(distinct, nums)}, norm
    if nums is not None:
        distinct = [distinct[i] for i in np.argsort(nums, kind="stable")]
    cmap = matplotlib.colormaps["tab10" if len(distinct) <= 10 else "turbo"]
    steps = np.arange(len(distinct)) if len(distinct) <= 10 else np.linspace(0, 1, len(distinct))
    return {v: cmap(s) for v, s in zip(distinct, steps)}, None


def plot_curves(
    path: Path | str,
    curves: Sequence[Curve],
    metric: str,
    key: str = "",
    second: str = "",
) -> list[Setting]:
    """Draw curves.png: the curves of `metric`, coloured by `key`, dashed by `second` (study
    keys; "" for none); return the settings drawn."""
    log = metric.endswith(("mse", "loss")) and all((c.values > 0).all() for c in curves)
    drawn = settings_of(curves, log)
    colours, norm = _colours([s.colour for s in drawn], key)
    styles = list(dict.fromkeys(s.style for s in drawn))
    dashed = bool(second) and 1 < len(styles) <= len(STYLES)
    fig = Figure(figsize=(10, 5.2), dpi=100)
    ax = fig.subplots(gridspec_kw=dict(left=0.08, right=0.74 if norm is None else 0.86,
                                       top=0.9, bottom=0.11))  # fmt: skip
    alpha = 1.0 if len(drawn) <= 12 else max(0.35, 12 / len(drawn))
    band = 0.15 if len(drawn) <= 6 else 0.07  # overlapping bands of many settings stay light
    for s in drawn:
        colour = colours[s.colour]
        line = STYLES[styles.index(s.style)] if dashed else "-"
        marker = "o" if len(s.epochs) <= 3 else None  # a curve of one or two evaluations
        ax.plot(s.epochs, s.centre, line, color=colour, lw=1.4, alpha=alpha, marker=marker, ms=3)
        if s.runs > 1:
            ax.fill_between(s.epochs, s.lo, s.hi, color=colour, alpha=band, lw=0)
        if s.pruned and len(s.epochs):
            ax.plot(s.epochs[-1:], s.centre[-1:], "x", color=colour, alpha=alpha, ms=5)
    if log:
        plain_log_axis(ax)
    last = max((float(s.epochs.max()) for s in drawn if len(s.epochs)), default=1.0)
    ax.set_xlim(0, last * 1.02)  # from the start, even when only the last epoch was evaluated
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    seeds = max((s.runs for s in drawn), default=1)
    note = band_note(log) if seeds > 1 else ""
    pruned = sum(s.pruned for s in drawn)
    if pruned:
        said = f"{pruned} pruned: drawn to where the pruner stopped them (×)"
        note = f"{note}; {said}" if note else said
    ax.set_title(f"{metric} of every run ({len(curves)}) against the epoch"
                 f"{chr(10) + note if note else ''}", fontsize=10 if not note else 9)  # fmt: skip
    if norm is not None:
        bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm, "viridis"), ax=ax, pad=0.02)
        bar.set_label(key)
    elif key:
        handles = [Line2D([], [], color=c, lw=2, label=v) for v, c in colours.items()]
        fig.legend(handles=handles, title=key, loc="upper left", bbox_to_anchor=(0.75, 0.9),
                   fontsize=8, title_fontsize=8, frameon=False)  # fmt: skip
    if dashed:
        handles = [Line2D([], [], color="0.3", ls=STYLES[i], label=v) for i, v in enumerate(styles)]
        fig.legend(handles=handles, title=second, loc="lower left", fontsize=8,
                   bbox_to_anchor=(0.75 if norm is None else 0.08, 0.11), title_fontsize=8,
                   frameon=False)  # fmt: skip
    bands = {"Comment": note} if note else {}
    save_figure(fig, path, Title=f"curves: {metric} by {key or 'run'}", **bands)
    return drawn


def band_note(log: bool) -> str:
    """What a band of curves.png is."""
    mean = "geometric mean" if log else "mean"
    return (f"line: the {mean} of a setting's seeds; band: their min–max (a spread of runs, "
            "not an interval of the mean)")  # fmt: skip
