"""notebook.png: the reproduced notebook over its data draws, one row per section.

A lesson compares models within a draw, so each draw is drawn as one line through its
models (the shipped draw, the notebook's own, darker), with the notebook's published figures
as red diamonds beside them; a reader sees whether the lines fall the same way on every draw,
not only how far the points spread. Beside each panel, the section's lessons: the verdict,
the effect with its interval, and on how many draws it held. Values and texts are given as
plain lists and strings (regexp.read.notebook_output builds them): no run folder is read here.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from regexp.figures.templates import plain_log_axis, save_figure

LABELS = {"train_mse": "training MSE", "val_mse": "validation MSE", "val_accuracy": "val accuracy"}
COLOURS = {"holds": "tab:green", "fails": "tab:red", "undecided": "0.35"}
DRAW, SHIPPED = "tab:blue", "navy"
WRAP = 62  # characters a lesson's line keeps beside its panel


@dataclass(frozen=True)
class LessonNote:
    """A lesson as written beside its panel: its verdict (holds, fails, undecided; the
    colour), its sentence and its numbers."""

    verdict: str
    label: str
    numbers: str


@dataclass(frozen=True)
class Panel:
    """One section of the notebook: its models, each with one value per draw (NaN where a
    draw has none; the first draw is the shipped one) and the notebook's published value
    (None where it printed none), and the section's lessons."""

    title: str
    metric: str  # a metrics.json key: train_mse, val_mse or val_accuracy
    models: Sequence[str]
    values: Sequence[Sequence[float]]
    published: Sequence[float | None]
    lessons: Sequence[LessonNote] = field(default_factory=tuple)


def draw_lines(panel: Panel) -> np.ndarray:
    """The panel's values as one row per draw, one column per model (NaN where missing)."""
    if not panel.values:
        return np.zeros((0, 0))
    return np.asarray(panel.values, dtype=float).T


def _panel(ax, panel: Panel) -> None:
    xs = np.arange(len(panel.models))
    lines = draw_lines(panel)
    thin = 0.9 if len(lines) <= 5 else 0.6
    alpha = 0.75 if len(lines) <= 5 else max(0.3, 3.5 / len(lines))
    for i, row in reversed(list(enumerate(lines))):  # the shipped draw on top
        colour, width = (SHIPPED, 1.8) if i == 0 else (DRAW, thin)
        # a model the draw has no number for breaks its line (NaN): no segment claims a
        # comparison the draw did not make (DRAWS=auto trains some models on fewer draws)
        ax.plot(xs, row, "-o", color=colour, lw=width, ms=2.5,
                alpha=1.0 if i == 0 else alpha, zorder=3 if i == 0 else 2)  # fmt: skip
    pub = np.array([np.nan if p is None else p for p in panel.published], dtype=float)
    if np.isfinite(pub).any():
        ax.scatter(xs + 0.12, pub, marker="D", s=28, color="tab:red", zorder=5)
    positive = [v for v in lines[np.isfinite(lines)]] + [p for p in pub[np.isfinite(pub)]]
    if panel.metric != "val_accuracy" and positive and min(positive) > 0:
        plain_log_axis(ax)
    ax.set_xticks(xs, [m.removeprefix("model_") for m in panel.models], rotation=25, ha="right",
                  fontsize=8)  # fmt: skip
    ax.set_xlim(-0.4, len(panel.models) - 0.6)
    ax.set_title(panel.title, fontsize=10, loc="left")
    ax.set_ylabel(LABELS.get(panel.metric, panel.metric), fontsize=9)
    ax.grid(axis="y", alpha=0.3)


def _notes(ax, lessons: Sequence[LessonNote]) -> None:
    """The section's lessons, top down: the verdict in its colour, the sentence, the numbers."""
    ax.axis("off")
    y = 0.98
    for note in lessons:
        colour = COLOURS.get(note.verdict, "black")
        ax.text(0.0, y, note.verdict.upper(), color=colour, fontsize=8.5, weight="bold",
                va="top", transform=ax.transAxes)  # fmt: skip
        label = textwrap.wrap(note.label, WRAP)
        ax.text(0.17, y, "\n".join(label), fontsize=8, va="top", transform=ax.transAxes)
        y -= 0.075 * len(label)
        ax.text(0.17, y, "\n".join(textwrap.wrap(note.numbers, WRAP)), fontsize=7.5,
                color=colour, va="top", transform=ax.transAxes)  # fmt: skip
        y -= 0.075 * len(textwrap.wrap(note.numbers, WRAP)) + 0.05


def notebook_figure(panels: Sequence[Panel], n_draws: int, caption: str = "") -> Figure:
    """One row per section (its panel, its lessons beside it), a legend and the caption (how
    the verdicts were reached) under them."""
    rows = len(panels)
    fig = Figure(figsize=(13, 3.3 * rows + 0.9), dpi=100, layout="constrained")
    grid = fig.subplots(rows, 2, width_ratios=(1.0, 1.05), squeeze=False)
    for (plot, text), panel in zip(grid, panels):
        _panel(plot, panel)
        _notes(text, panel.lessons)
    draws = f"{n_draws} data draw{'s' if n_draws != 1 else ''}"
    handles = [
        Line2D(
            [], [], color=DRAW, marker="o", ms=3, lw=0.9, label="one data draw, through its models"
        ),
        Line2D([], [], color=SHIPPED, marker="o", ms=3, lw=1.8, label="the shipped draw"),
        Line2D([], [], marker="D", linestyle="", color="tab:red", label="the notebook's figure"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False, fontsize=9)
    fig.suptitle(f"The notebook reproduced on {draws}" + (f"\n{caption}" if caption else ""),
                 fontsize=11)  # fmt: skip
    return fig


def plot_notebook(
    panels: Sequence[Panel], n_draws: int, path: Path | str, caption: str = ""
) -> None:
    """Write notebook.png (notebook_figure)."""
    draws = f"{n_draws} data draw{'s' if n_draws != 1 else ''}"
    save_figure(notebook_figure(panels, n_draws, caption), path, Title="notebook",
                Description=f"regexp notebook over {draws}")  # fmt: skip
