"""`regexp notebook`'s outputs from its Report (regexp.read.notebook_stats): the table and the
lessons printed, notebook.json and notebook.png (regexp.figures.notebook) written."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from regexp.figures.notebook import LessonNote, Panel, plot_notebook
from regexp.read.notebook_folder import as_metrics, draw_label
from regexp.read.notebook_lessons import (
    CLASSIFIERS,
    DEEPER,
    LABELS,
    METRICS,
    TARGETS,
    short,
    spreads,
)
from regexp.read.notebook_stats import LessonOverDraws, Report, SpreadOverDraws, mean_std
from regexp.read.statistics import METHOD, REFERENCES, Plan
from regexp.runs.layout import write_atomic

JSON_NAME, PNG_NAME = "notebook.json", "notebook.png"
COLOURS = {"holds": "green", "fails": "red", "undecided": "yellow"}
NOTEBOOK = {True: "holds", False: "fails", None: "not printed"}
# notebook.png's panels: each section's models and the metric its lessons read (the depth
# chain ends with somany, so the layers panel shows it too).
PANELS = {
    "units": (TARGETS["units"], "train_mse"),
    "layers": (DEEPER, "train_mse"),
    "penalties": (TARGETS["penalties"], "val_mse"),
    "classification": (CLASSIFIERS, "val_accuracy"),
}


# ------------------------------------------------------------------------------ words


def ratio(ours: object, published: object) -> float | None:
    """ours / published where both are finite numbers and published is not 0."""
    numbers = [v for v in (ours, published) if isinstance(v, int | float) and math.isfinite(v)]
    if len(numbers) < 2 or published == 0:
        return None
    return float(ours) / float(published)  # type: ignore[arg-type]


def _num(value: float, scale: str) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}" if scale == "ratio" else f"{value:+.4f}"


def effect_text(r: LessonOverDraws) -> str:
    """The effect, its interval and the lesson's side: 'ratio 0.29 [0.21, 0.4], lesson < 1'."""
    lesson = r.lesson
    estimate, low, high = r.effect
    side = ">" if lesson.above else "<"
    interval = f"[{_num(low, lesson.scale)}, {_num(high, lesson.scale)}]"
    effect = f"{lesson.scale} {_num(estimate, lesson.scale)}"
    return f"{effect} {interval}, lesson {side} {lesson.bound_text}"


def held_text(r: LessonOverDraws) -> str:
    low, high = r.wilson95
    return f"{r.holds} of {r.used} draws [{low:.2f}, {high:.2f}]"


def chance_text(r: LessonOverDraws) -> str:
    return "n/a" if r.p_improvement is None else f"{r.p_improvement:.2f}"


def needed_text(r: LessonOverDraws) -> str:
    at = r.decision.decided_at
    if at is None:
        return "not yet" if r.adds_draws else "adds none"
    return f"{at} draws"


def method_text(plan: Plan) -> str:
    if not plan.sequential:
        return (
            f"each lesson's paired effect over the draws, 95 % t-interval ({plan.looks[0]} draws)"
        )
    looks = ", ".join(map(str, plan.looks))
    return (
        f"looks at {looks} draws, each at {100 * plan.confidence:.2f} % (Bonferroni: 95 % over the "
        "looks); a lesson is decided at the first look whose interval clears its bound"
    )


def _spread_text(spread: SpreadOverDraws) -> str:
    if not spread.values:
        return "n/a"
    median = statistics.median(spread.values)
    if len(spread.values) == 1:
        return f"{median:.2f}x"
    return f"median {median:.2f}x [{min(spread.values):.2f}–{max(spread.values):.2f}]"


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------- printing


def _console() -> Console:
    console = Console()
    if not console.is_terminal:  # piped or under make: do not squeeze the table into 80 columns
        console = Console(width=200)
    return console


def _status(rows: pd.DataFrame, n: int) -> str:
    if rows.empty:
        return "missing"
    ok = int((rows["status"] == "ok").sum())
    if n == 1 or len(rows) == 1:
        return str(rows["status"].iloc[0])
    return f"{ok}/{n} ok"


def print_models(report: Report, runs: pd.DataFrame, published: pd.DataFrame, root: Path) -> None:
    """Our numbers (mean ± std over the draws) beside the notebook's, model by model."""
    n = len(report.draws)
    over = f"{n} data draws, mean ± std" if n > 1 else "one data draw"
    table = Table(title=f"The notebook reproduced ({root}, {over}) beside its published figures")
    for name in ("target", "model", "status"):
        table.add_column(name)
    for key in METRICS:
        label = LABELS[key]
        table.add_column(f"{label}\nours", justify="right")
        table.add_column(f"{label}\nnotebook", justify="right", style="dim")
        table.add_column(f"{label}\nours/nb", justify="right")
    table.add_column("cell", style="dim")
    for target, models in TARGETS.items():
        for i, model in enumerate(models):
            pub = published.loc[model] if model in published.index else None
            cells = [
                target if i == 0 else "",
                short(model),
                _status(runs[runs["model"] == model], n),
            ]
            for key in METRICS:
                stats = mean_std(report.values(model, key))
                pub_value = None if pub is None else pub[key]
                if stats is None:
                    cells.append("")
                else:
                    cells.append(f"{stats[0]:.4g} ± {stats[1]:.2g}" if n > 1 else _fmt(stats[0]))
                cells.append(_fmt(pub_value))
                r = ratio(None if stats is None else stats[0], pub_value)
                cells.append("" if r is None else f"{r:.2f}")
            cells.append("" if pub is None else _fmt(pub["source_cell"]))
            table.add_row(*cells, end_section=i == len(models) - 1)
    _console().print(table)


def print_lessons(report: Report, published: pd.DataFrame) -> None:
    """Each lesson's statement, the draws where it failed, and the spreads."""
    console = _console()
    table = Table(title=f"The notebook's lessons over {len(report.draws)} data draws: "
                  f"{method_text(report.plan)}", title_justify="left")  # fmt: skip
    for name, right in (("verdict", False), ("lesson", False), ("whose", False),
                        ("effect [95 % interval]", False), ("held on", True),
                        ("P(new draw)", True), ("notebook", False)):  # fmt: skip
        table.add_column(name, justify="right" if right else "left")
    sequential = report.plan.sequential
    if sequential:
        table.add_column("decided at", justify="right")
    for r in report.lessons:
        colour = COLOURS[r.verdict]
        cells = [
            Text(r.verdict, style=colour), Text(r.lesson.label),
            "notebook" if r.lesson.published else "ours", Text(effect_text(r)),
            Text(held_text(r)), chance_text(r), NOTEBOOK[r.notebook],
        ]  # fmt: skip
        table.add_row(*cells, *([needed_text(r)] if sequential else []))
    console.print(table)
    for r in report.lessons:
        for draw, detail in r.failing:
            console.print(f"      {r.lesson.key} fails on {draw_label(draw)}: {detail}",
                          highlight=False, markup=False)  # fmt: skip
        for draw, detail in r.unknown:
            console.print(f"      {r.lesson.key} n/a on {draw_label(draw)}: {detail}",
                          highlight=False, markup=False)  # fmt: skip
    if len(report.draws) == 1:
        for r in report.lessons:
            if r.on and r.on[0][1].passed:
                console.print(f"      {r.lesson.key}: {r.on[0][1].detail}", highlight=False,
                              markup=False)  # fmt: skip
    needed = report.next_draws
    if report.waiting and needed:
        console.print(f"{len(report.waiting)} undecided; the plan's next look: {needed} draws")
    resting = [r for r in report.undecided if not r.adds_draws]
    if report.plan.sequential and resting:
        keys = ", ".join(r.lesson.key for r in resting)
        console.print(f"      {keys}: undecided on the draws it has; draws are added for the "
                      "notebook's published lessons only (make reproduce DRAWS_FOR=all adds "
                      "them for ours too)", highlight=False, markup=False)  # fmt: skip
    console.print("Spreads, ours beside the notebook's:")
    for spread, pub in zip(report.spreads, spreads(as_metrics(published))):
        console.print(
            f"      {spread.label}: {_spread_text(spread)}  [dim](notebook: {pub.detail})[/dim]",
            highlight=False,
        )


# ---------------------------------------------------------------------------- notebook.json


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def lesson_json(r: LessonOverDraws) -> dict[str, Any]:
    estimate, low, high = r.effect
    lesson = r.lesson
    return {
        "key": lesson.key,
        "name": lesson.label,
        "published": lesson.published,
        "verdict": r.verdict,
        "holds": r.holds,
        "draws": r.used,
        "wilson95": list(r.wilson95),
        "effect": {
            "measure": lesson.scale,
            "estimate": _finite(estimate),
            "ci95": [_finite(low), _finite(high)],
            "bound": lesson.bound,
            "lesson_side": "above" if lesson.above else "below",
        },
        "p_improvement": r.p_improvement,
        "decided_at": r.decision.decided_at,
        "notebook": NOTEBOOK[r.notebook],
        "failing": [{"data_seed": d, "detail": text} for d, text in r.failing],
        "undecided": [{"data_seed": d, "detail": text} for d, text in r.unknown],
    }


def to_json(report: Report) -> dict[str, Any]:
    """notebook.json: the method, the plan, each lesson's statement, the draws each needed,
    the spreads' medians and each classifier's accuracy per draw (in data_seeds' order)."""
    plan = report.plan
    return {
        "method": {
            "name": METHOD,
            "references": REFERENCES,
            "looks": plan.looks,
            "confidence_per_look": plan.confidence,
            "share": "Wilson score interval, 95 %, of the draws the verdict rests on",
            "p_improvement": "the chance the lesson holds on a new draw: Student's t predictive",
        },
        "draws_max": plan.draws_max,
        "draws_for": report.draws_for,
        "draws": len(report.draws),
        "data_seeds": report.draws,
        "draws_needed": {r.lesson.key: r.decision.decided_at for r in report.lessons},
        "next_draws": report.next_draws,
        "orderings": [lesson_json(r) for r in report.lessons],
        "spreads": {
            s.key: {
                "median": s.stat(statistics.median),
                "min": s.stat(min),
                "max": s.stat(max),
                "notebook": s.notebook,
                "values": s.values,
            }
            for s in report.spreads
        },
        "accuracy": {
            m: [None if math.isnan(v) else v for v in report.values(m, "val_accuracy")]
            for m in CLASSIFIERS
        },
    }


# ---------------------------------------------------------------------------- notebook.png


def panels(report: Report, published: pd.DataFrame) -> list[Panel]:
    """notebook.png's panels: each section's models per draw, and its lessons."""

    def pub(model: str, key: str) -> float | None:
        value = published.loc[model, key] if model in published.index else None
        return None if value is None or pd.isna(value) else float(value)

    def notes(section: str) -> list[LessonNote]:
        return [
            LessonNote(
                r.verdict,
                r.lesson.label + ("" if r.lesson.published else " (ours)"),
                f"{effect_text(r)}; held on {held_text(r)}; P(new draw) {chance_text(r)}",
            )  # fmt: skip
            for r in report.lessons
            if r.lesson.section == section
        ]

    return [
        Panel(
            title,
            metric,
            models,
            [report.values(m, metric) for m in models],
            [pub(m, metric) for m in models],
            notes(title),
        )  # fmt: skip
        for title, (models, metric) in PANELS.items()
    ]


def write_files(report: Report, published: pd.DataFrame, root: Path) -> None:
    """notebook.png, then notebook.json (atomically) into root."""
    plot_notebook(panels(report, published), len(report.draws), root / PNG_NAME,
                  method_text(report.plan))  # fmt: skip
    write_atomic(root / JSON_NAME, json.dumps(to_json(report), indent=2) + "\n")
