"""A sweep's own figure, summary.png: each study variable against the metrics, and the fits.

Panels (sweep_panels) are the numbers drawn, computed apart from the drawing so tests can
check them: for each study variable (the keys a user swept, seeds collapsed) and each metric
(train and val MSE; accuracy for classification), one line per value of a second swept key.
A key of a few values gets a line through its values, with the spread over the ok runs at
each: mean ± sample std on a linear axis; on a log axis (MSE) geometric mean ×/÷ geometric
std, kept within the runs' min–max, so the band never reaches values no run had (a caption
under the panels says so: a spread of runs, not an interval of their mean). A key of
many numeric values (a search's λ or learning rate) gets a point per run instead: a line
through them would join runs that differ in other keys. Keys named lam or lr get a log axis.
For 1-D regression, each run's fitted function (plots/fit.npz, written by the run) is drawn
over the training and validation points: overlaid when there are a few groups of runs, side
by side beyond. No torch here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from regexp.config.values import fmt
from regexp.figures.templates import plain_log_axis, save_figure

COLLAPSED = ("seed", "name")  # a sweep's repeats: averaged over, never an x axis
MAX_LINES = 8  # a second key with more values than this is averaged over instead
OVERLAY_MAX_GROUPS = 6  # fits of more groups than this go side by side
MAX_FIT_PANELS = 24
WIDTH, PANEL_H, FIT_H = 11.0, 3.0, 2.2  # inches: the figure, a row of panels, of fits
TICK_PER_CHAR = 0.04  # inches more under a row whose tick labels are rotated, per character


@dataclass
class Line:
    label: str  # "" for the only line, else "key=value" of the second key
    x: list[Any]  # the swept key's values, in sweep order (a scatter: each run's value)
    centre: np.ndarray  # mean, geometric on a log axis (a scatter: each run's metric)
    lo: np.ndarray  # the spread's ends; NaN where a point has one run (and in a scatter)
    hi: np.ndarray
    n: np.ndarray  # ok runs per point


@dataclass
class Panel:
    key: str  # the swept key on the x axis ("" when only seeds vary)
    metric: str
    by: str | None  # the second swept key: one line per value
    log_x: bool
    lines: list[Line] = field(default_factory=list)
    log_y: bool = False  # MSE, all positive: geometric spread
    scatter: bool = False  # a key of many numeric values: a point per run, no line


def metrics_of(df: pd.DataFrame) -> tuple[str, str]:
    """(train, val) metric columns: accuracy for classification, MSE otherwise."""
    if "val_accuracy" in df and pd.to_numeric(df["val_accuracy"], errors="coerce").notna().any():
        return ("train_accuracy", "val_accuracy")
    return ("train_mse", "val_mse")


def as_numbers(values: list[Any]) -> list[float] | None:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    return out if all(math.isfinite(v) for v in out) else None


def log_key(key: str) -> bool:
    """Keys drawn on a log axis: penalty weights and learning rates."""
    leaf = key.rsplit(".", 1)[-1]
    return leaf in ("lam", "lr", "lambda", "learning_rate") or leaf.startswith(("lam", "lr"))


def ordered(values: pd.Series) -> list[Any]:
    """Distinct values, numbers ascending, else in sweep order."""
    distinct = list(dict.fromkeys(values.map(fmt)))
    nums = as_numbers(distinct)
    return [distinct[i] for i in np.argsort(nums, kind="stable")] if nums else distinct


def is_continuous(values: pd.Series) -> bool:
    """Many numeric values (a fine grid's), or values a sampler drew (a search's: more
    significant digits than anyone types): points, not a line through means."""
    distinct = list(dict.fromkeys(values.map(fmt)))
    if as_numbers(distinct) is None:
        return False
    return len(distinct) > MAX_LINES or any(_sampled(v) for v in values)


def _sampled(value: Any) -> bool:
    """A float no one typed: more than 6 significant digits."""
    if not isinstance(value, float) or not math.isfinite(value) or value.is_integer():
        return False
    return len(repr(abs(value)).split("e")[0].replace(".", "").strip("0")) > 6


def spread(values: np.ndarray, log: bool) -> tuple[float, float, float]:
    """(centre, low, high) of one point's runs: mean ± sample std, or on a log axis the
    geometric mean ×/÷ geometric std within the runs' min–max; no spread for a lone run."""
    values = values[np.isfinite(values)]
    if log:
        values = values[values > 0]
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    if len(values) == 1:
        return float(values[0]), math.nan, math.nan
    if not log:
        mean, std = float(values.mean()), float(values.std(ddof=1))
        return mean, mean - std, mean + std
    logs = np.log(values)
    centre, factor = math.exp(logs.mean()), math.exp(logs.std(ddof=1))
    low, high = max(centre / factor, float(values.min())), min(centre * factor, float(values.max()))
    return centre, min(low, centre), max(high, centre)  # equal runs: exp(log(x)) may miss x


def sweep_panels(df: pd.DataFrame, keys: list[str]) -> list[Panel]:
    """The panels summary.png draws: one per study key and metric (see the module's text).

    df is regexp.read.collect's table with a column per key; keys are the sweep's study
    variables. Only ok runs count; seed and name are collapsed.
    """
    ok = df[df["status"] == "ok"]
    swept = [k for k in keys if k not in COLLAPSED and k in df]
    panels = []
    for metric in metrics_of(df):
        # a metric no run has (every job stopped before it was written): an empty column
        values = pd.to_numeric(ok[metric], errors="coerce") if metric in ok else pd.Series([])
        finite = values.dropna()
        log_y = metric.endswith("mse") and len(finite) > 0 and bool((finite > 0).all())
        for key in swept or [""]:
            others = [k for k in swept if k != key and ok[k].map(fmt).nunique() <= MAX_LINES
                      and not is_continuous(ok[k])]  # fmt: skip
            by = others[0] if others else None
            scatter = bool(key) and is_continuous(ok[key])
            xs = ordered(ok[key]) if key else ["all runs"]
            nums = as_numbers(xs) if key else None
            log_x = bool(key) and log_key(key) and nums is not None
            panel = Panel(key, metric, by, log_x, log_y=log_y, scatter=scatter)
            for by_value in ordered(ok[by]) if by else [None]:
                rows = ok if by is None else ok[ok[by].map(fmt) == by_value]
                label = "" if by is None else f"{by}={by_value}"
                y = values[rows.index]
                if scatter:
                    keep = y.notna()
                    run_x = rows.loc[keep, key].map(fmt).tolist()
                    nan = np.full(int(keep.sum()), np.nan)
                    n = np.ones(int(keep.sum()), dtype=int)
                    panel.lines.append(Line(label, run_x, y[keep].to_numpy(), nan, nan, n))
                    continue
                at = rows[key].map(fmt) if key else pd.Series("all runs", index=rows.index)
                groups = [y[at == x].dropna().to_numpy(dtype=float) for x in xs]
                stats = np.array([spread(g, log_y) for g in groups]).reshape(-1, 3)
                n = np.array([len(g) for g in groups])
                panel.lines.append(Line(label, xs, stats[:, 0], stats[:, 1], stats[:, 2], n))
            panels.append(panel)
    return panels


def _positions(panel: Panel) -> tuple[np.ndarray, list[str] | None]:
    """x positions of the panel's values, and tick labels when they are not numbers."""
    xs = panel.lines[0].x
    nums = as_numbers(xs) if panel.key else None
    if nums is None:
        return np.arange(len(xs), dtype=float), [str(x) for x in xs]
    return np.array(nums), None


def _rotated(panel: Panel) -> int:
    """The length of the longest tick label when the panel's are rotated, else 0."""
    labels = _positions(panel)[1]
    longest = max(map(len, labels or []), default=0)
    return longest if longest > 6 else 0


def _grid(
    height: float, rows: int, cols: int, left: float, right: float, top: float,
    bottom: float, hgap: float, wgap: float,
) -> dict[str, float]:  # fmt: skip
    """gridspec_kw for rows x cols axes with margins and gaps in inches, in a (sub)figure
    WIDTH wide and `height` high: fixed room for titles, labels and legends instead of a
    layout engine (which took a third of summary.png's time)."""
    axes_h = (height - top - bottom - (rows - 1) * hgap) / rows
    axes_w = (WIDTH - left - right - (cols - 1) * wgap) / cols
    return dict(left=left / WIDTH, right=1 - right / WIDTH, top=1 - top / height,
                bottom=bottom / height, hspace=hgap / axes_h, wspace=wgap / axes_w)  # fmt: skip


def _banded(panel: Panel) -> bool:
    """Whether the panel draws a band: a line with two runs or more at a point."""
    return not panel.scatter and int(max(line.n.max(initial=0) for line in panel.lines)) >= 2


def _spread_words(panel: Panel) -> str:
    if panel.scatter:
        return " (each run)"
    if not _banded(panel):
        return ""
    # short: the caption under the panels says the rest
    return " (band: ×/÷ geom. std)" if panel.log_y else " (band: ± 1 std)"


def band_note(panels: list[Panel]) -> str:
    """What the bands and bars of summary.png are, under its panels ("" without a band)."""
    if not any(_banded(p) for p in panels):
        return ""
    return ("bands and bars: the spread of the ok runs at each point (± 1 std; ×/÷ geometric "
            "std within min–max on a log axis), not an interval of their mean (regexp compare "
            "--over seed gives that)")  # fmt: skip


def _draw_panel(ax: Any, panel: Panel) -> None:
    if panel.scatter:
        for i, line in enumerate(panel.lines):
            ax.scatter(np.array(as_numbers(line.x) or []), line.centre, s=14, alpha=0.75, lw=0,
                       color=f"C{i % 10}", label=line.label or None)  # fmt: skip
        pos, labels = np.concatenate([as_numbers(line.x) or [] for line in panel.lines]), None
    else:
        pos, labels = _positions(panel)
    for i, line in enumerate([] if panel.scatter else panel.lines):
        color = f"C{i % 10}"
        ax.plot(pos, line.centre, marker="o", ms=4, color=color, label=line.label or None)
        band = np.isfinite(line.lo) & np.isfinite(line.hi)
        if band.any():
            ax.fill_between(pos, line.lo, line.hi, where=band, color=color, alpha=0.18, lw=0)
            # bars too: a band has no width where a point stands alone (a seeds-only sweep)
            err = np.where(band, [line.centre - line.lo, line.hi - line.centre], np.nan)
            err = np.clip(err, 0, None)
            ax.errorbar(pos, line.centre, yerr=err, fmt="none", ecolor=color, capsize=4, lw=1)
    if labels is not None:
        ax.set_xticks(pos, labels, rotation=30 if _rotated(panel) else 0, ha="right")
    elif panel.log_x and len(pos):
        if (pos > 0).all() and panel.scatter:  # drawn values: ticks at 1, 2, 5 a decade
            plain_log_axis(ax, "x")
        elif (pos > 0).all():
            ax.set_xscale("log")
        else:  # λ = 0 next to small positive λ: linear near 0, log beyond
            ax.set_xscale("symlog", linthresh=float(np.min(pos[pos > 0], initial=1e-3)))
        if not panel.scatter:  # a grid's values as they were typed (no 3×10⁻³ mathtext)
            ax.set_xticks(pos, [fmt(v) for v in pos])
            ax.xaxis.set_minor_locator(NullLocator())
    ax.set_title(f"{panel.metric} vs {panel.key or 'all runs'}{_spread_words(panel)}", fontsize=9)
    ax.set_xlabel(panel.key or "")
    ax.set_ylabel(panel.metric)
    if panel.log_y:
        plain_log_axis(ax)
        lo, hi = ax.dataLim.intervaly
        if 0 < lo and hi < 4 * lo:  # within a factor of 4: 1, 2, 5 may leave one label
            ax.yaxis.set_major_locator(MaxNLocator(5))
    if any(line.label for line in panel.lines):
        ax.legend(fontsize=7, title=panel.by, title_fontsize=7)


def _fits(
    df: pd.DataFrame, keys: list[str], fit_file: Callable[[str], Path]
) -> list[tuple[str, list[dict]]]:
    """[(group label, [fit arrays of each ok run in it])] for runs that saved a fit."""
    swept = [k for k in keys if k not in COLLAPSED and k in df]
    groups: dict[str, list[dict]] = {}
    ok = df[df["status"] == "ok"]
    # columns as lists: pandas' iterrows builds a Series per row
    for path, *values in zip(ok["path"], *(ok[k].tolist() for k in swept), strict=True):
        path = fit_file(path)
        if not path.is_file():
            continue
        try:  # the points of the first run (_draw_fits draws those), each run's curve
            with np.load(path) as z:
                names = ("x_grid", "y_grid") if groups else z.files
                arrays = {k: z[k] for k in names}
        except (OSError, ValueError, KeyError):
            continue
        label = ", ".join(f"{k}={fmt(v)}" for k, v in zip(swept, values, strict=True))
        groups.setdefault(label or "all runs", []).append(arrays)
    return list(groups.items())


def _draw_fits(fig: Any, fits: list[tuple[str, list[dict]]], height: float) -> None:
    first = fits[0][1][0]
    overlay = len(fits) <= OVERLAY_MAX_GROUPS
    shown = fits if overlay else _spread(fits, MAX_FIT_PANELS)
    ncols = 1 if overlay else min(6, len(shown))
    nrows = 1 if overlay else math.ceil(len(shown) / ncols)
    if overlay:  # the legend sits right of the axes: room for its longest entry
        longest = max(len(f"{label} ({len(runs)} runs)") for label, runs in shown)
        room = _grid(height, 1, 1, 0.85, min(4.5, 0.8 + 0.055 * longest), 0.35, 0.45, 0, 0)
    else:
        lines = max(label.count(", ") + 1 for label, _ in shown)  # a title line per key
        title_h = 0.14 * lines + 0.1
        room = _grid(height, nrows, ncols, 0.85, 0.3, 0.35 + title_h, 0.45, title_h, 0.3)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False, gridspec_kw=room)
    for i, ax in enumerate(axes.ravel()):
        if not overlay and i >= len(shown):
            ax.set_axis_off()
            continue
        ax.scatter(first["x_val"], first["y_val"], s=3, color="0.75", lw=0, label="validation")
        ax.scatter(first["x_train"], first["y_train"], s=9, color="0.15", lw=0, label="training")
        for j, (label, runs) in enumerate(shown if overlay else [shown[i]]):
            color = f"C{(j if overlay else 0) % 10}"
            alpha = max(0.15, 1 / math.sqrt(len(runs)))
            for k, run in enumerate(runs):
                name = f"{label} ({len(runs)} runs)" if len(runs) > 1 else label
                ax.plot(run["x_grid"], run["y_grid"], color=color, lw=1.5, alpha=alpha,
                        label=name if k == 0 else None)  # fmt: skip
        if overlay:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
            ax.set_title("fitted functions over the training and validation points", fontsize=9)
        else:
            n = len(shown[i][1])
            label = shown[i][0].replace(", ", "\n") + (f" ({n} runs)" if n > 1 else "")
            ax.set_title(label, fontsize=7)
    if not overlay:
        note = "" if len(shown) == len(fits) else f" ({len(shown)} of {len(fits)} groups)"
        fig.suptitle(f"fitted functions over training (dark) and validation points{note}",
                     fontsize=9, y=1 - 0.12 / height)  # fmt: skip


def _spread(items: list, n: int) -> list:
    if len(items) <= n:
        return items
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))]


def plot_sweep(
    path: Path | str,
    df: pd.DataFrame,
    keys: list[str],
    fit_file: Callable[[str], Path] | None = None,
) -> list[Panel]:
    """Draw summary.png for the runs in df (keys: the sweep's study variables, columns of df);
    return the metric panels drawn. One row of panels per key, train and val side by side, then
    the fitted functions of 1-D regression runs whose fit_file(run's path) exists."""
    panels = sweep_panels(df, keys)
    fits = _fits(df, keys, fit_file) if fit_file is not None else []
    n_rows = len(panels) // 2
    fit_rows = 0
    if fits:
        fit_rows = 1 if len(fits) <= OVERLAY_MAX_GROUPS else math.ceil(
            min(len(fits), MAX_FIT_PANELS) / 6
        )  # fmt: skip
    ticks = min(2.0, TICK_PER_CHAR * max(map(_rotated, panels), default=0))
    note = band_note(panels)
    caption_h = 0.25 if note else 0.0  # inches under the panels for the bands' caption
    top_h = PANEL_H * n_rows + ticks + caption_h
    fit_h = FIT_H * fit_rows + 0.8 if fits else 0.0
    fig = Figure(figsize=(WIDTH, top_h + fit_h), dpi=100)
    ratios = [top_h, fit_h] if fits else None
    parts = fig.subfigures(2 if fits else 1, 1, squeeze=False, height_ratios=ratios)
    room = _grid(top_h, n_rows, 2, 0.85, 0.3, 0.35, 0.55 + ticks + caption_h, 0.85 + ticks, 0.95)
    axes = parts[0, 0].subplots(n_rows, 2, squeeze=False, gridspec_kw=room)
    if note:
        parts[0, 0].text(0.5, 0.08 / top_h, note, ha="center", va="bottom", fontsize=7,
                         color="0.3")  # fmt: skip
    # panels come metric by metric: the train metric's panels, then the val metric's
    for i, panel in enumerate(panels):
        _draw_panel(axes[i % n_rows, i // n_rows], panel)
    if fits:
        _draw_fits(parts[1, 0], fits, fit_h)
    title = "sweep summary: " + ", ".join(
        dict.fromkeys(p.key or "all runs" for p in panels)
    )  # fmt: skip
    bands = {"Comment": note} if note else {}
    save_figure(fig, path, Title=title, Description=_describe(panels), **bands)
    return panels


def _describe(panels: list[Panel]) -> str:
    """The panels as JSON (key, metric, by): what a test or a script can read back."""
    return json.dumps([{"key": p.key, "metric": p.metric, "by": p.by} for p in panels])
