"""`regexp notebook [FOLDER]`: the reproduced notebook beside its published figures, over
every data draw the folder holds.

Reads every run's metrics.json under FOLDER (default outputs/reproduce, where `make
reproduce` puts its sweeps; `make reproduce DRAWS=N` trains each model on N draws, each a
data.seed), matches runs to the notebook's models by `name` and to draws by data.seed, and
prints one table with our numbers (mean ± std over draws) next to the notebook's
(regexp/read/notebook_figures.csv, with the cell each comes from) and their ratio; each
published ordering as "holds on k of N draws" with the numbers of the draws where it fails;
and the two spreads the notebook shows as median [min–max] over draws beside its own.
Writes notebook.json (the same, for programs) and notebook.png (regexp.figures.notebook)
into FOLDER. A failed ordering is a finding, not an error: the exit code is 0. Missing runs
exit with 2 and write nothing. No torch here, so the report starts fast.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from regexp.figures.notebook import Panel, plot_notebook
from regexp.read.collect import collect
from regexp.read.notebook_checks import (
    CLASSIFIERS,
    DEEPER,
    LABELS,
    METRICS,
    MODELS,
    SHIPPED_SEED,
    TARGETS,
    Check,
    Metrics,
    run_checks,
    short,
    spreads,
)
from regexp.runs.layout import write_atomic

FIGURES = Path(__file__).with_name("notebook_figures.csv")
DEFAULT_ROOT = Path("outputs/reproduce")
JSON_NAME, PNG_NAME = "notebook.json", "notebook.png"
# notebook.png's panels: each section's lesson, its models and metric (the depth ordering
# ends with somany, so the layers panel shows it too).
PANELS = {
    "units": (TARGETS["units"], "train_mse"),
    "layers": (DEEPER, "train_mse"),
    "penalties": (TARGETS["penalties"], "val_mse"),
    "classification": (CLASSIFIERS, "val_accuracy"),
}


def load_figures(path: Path | str = FIGURES) -> pd.DataFrame:
    """The notebook's published figures, indexed by model (empty cells are NaN)."""
    frame = pd.read_csv(path, dtype={"source_cell": str})
    return frame.set_index("model")


def load_runs(root: Path | str) -> pd.DataFrame:
    """One row per run under root (regexp.read.collect): model, draw, status, path, metrics.

    draw is the run's data.seed (None where its config is not there to say). Where one model
    has several runs on one draw (a re-run into the same tree), the newest counts; folders
    that are not runs, or have no name, are left out.
    """
    table = collect([Path(root)])
    table = table[table["name"].notna() & (table["status"] != "unknown")].copy()
    for key in METRICS:
        if key not in table:
            table[key] = float("nan")
    table[list(METRICS)] = table[list(METRICS)].apply(pd.to_numeric, errors="coerce")
    seeds = table["data.seed"] if "data.seed" in table else pd.Series(None, index=table.index)
    table["draw"] = [None if pd.isna(v) else int(v) for v in seeds]
    table["mtime"] = [Path(p).stat().st_mtime for p in table["path"]]
    table = table.sort_values("mtime").drop_duplicates(["name", "draw"], keep="last")
    table = table.rename(columns={"name": "model"})
    return table[["model", "draw", "status", "path", *METRICS]].reset_index(drop=True)


def draws_of(runs: pd.DataFrame) -> list[int | None]:
    """The folder's draws: the shipped data seed first, then the others in increasing order."""
    found = set(runs["draw"])
    return sorted(found, key=lambda d: (d != SHIPPED_SEED, -1 if d is None else d))


def draw_label(draw: int | None) -> str:
    return "the shipped draw" if draw is None else f"data.seed={draw}"


def as_metrics(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{model: {metric: value}} of a table indexed by model (one draw, or the figures)."""
    return {
        str(model): {k: row[k] for k in METRICS if k in row and pd.notna(row[k])}
        for model, row in frame.iterrows()
    }


def ratio(ours: object, published: object) -> float | None:
    """ours / published where both are finite numbers and published is not 0."""
    numbers = [v for v in (ours, published) if isinstance(v, int | float) and math.isfinite(v)]
    if len(numbers) < 2 or published == 0:
        return None
    return float(ours) / float(published)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Ordering:
    """One published ordering over the draws: on each, whether it holds (None: a number it
    needs is missing) and the numbers it read."""

    label: str
    on: list[tuple[int | None, bool | None, str]]  # (draw, holds, detail)

    @property
    def holds(self) -> int:
        return sum(passed is True for _, passed, _ in self.on)

    @property
    def draws(self) -> int:
        return len(self.on)

    @property
    def failing(self) -> list[tuple[int | None, str]]:
        return [(d, detail) for d, passed, detail in self.on if passed is False]

    @property
    def undecided(self) -> list[tuple[int | None, str]]:
        return [(d, detail) for d, passed, detail in self.on if passed is None]


@dataclass(frozen=True)
class SpreadOverDraws:
    key: str
    label: str
    values: list[float]  # one per draw that has both numbers
    notebook: float | None

    def stat(self, fn) -> float | None:
        return fn(self.values) if self.values else None


@dataclass(frozen=True)
class Report:
    draws: list[int | None]
    per_draw: dict[int | None, Metrics]
    orderings: list[Ordering]
    spreads: list[SpreadOverDraws]

    def values(self, model: str, key: str) -> list[float]:
        """The model's metric on each draw, NaN where that draw has none."""
        return [self.per_draw[d].get(model, {}).get(key, math.nan) for d in self.draws]


def report_of(runs: pd.DataFrame, published: pd.DataFrame) -> Report:
    """Every ordering and spread on each draw of runs, counted over the draws."""
    draws = draws_of(runs)
    per_draw = {
        d: as_metrics(runs[runs["draw"].map(lambda v, d=d: v == d)].set_index("model"))
        for d in draws
    }
    checks: dict[int | None, list[Check]] = {d: run_checks(per_draw[d]) for d in draws}
    labels = [c.label for c in run_checks({})]
    orderings = [
        Ordering(label, [(d, checks[d][i].passed, checks[d][i].detail) for d in draws])
        for i, label in enumerate(labels)
    ]
    ours = {d: spreads(per_draw[d]) for d in draws}
    theirs = spreads(as_metrics(published))
    found = [
        SpreadOverDraws(
            pub.key,
            pub.label,
            [ours[d][i].value for d in draws if ours[d][i].value is not None],
            pub.value,
        )
        for i, pub in enumerate(theirs)
    ]
    return Report(draws, per_draw, orderings, found)


def _stats(values: Sequence[float]) -> tuple[float, float] | None:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else 0.0


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _spread_text(spread: SpreadOverDraws) -> str:
    if not spread.values:
        return "n/a"
    median = statistics.median(spread.values)
    if len(spread.values) == 1:
        return f"{median:.2f}x"
    return f"median {median:.2f}x [{min(spread.values):.2f}–{max(spread.values):.2f}]"


def to_json(report: Report) -> dict:
    """notebook.json: the orderings' counts, the spreads' medians and each classifier's
    accuracy per draw (draws in the order of data_seeds)."""
    return {
        "draws": len(report.draws),
        "data_seeds": report.draws,
        "orderings": [
            {
                "name": o.label,
                "holds": o.holds,
                "draws": o.draws,
                "failing": [{"data_seed": d, "detail": text} for d, text in o.failing],
                "undecided": [{"data_seed": d, "detail": text} for d, text in o.undecided],
            }
            for o in report.orderings
        ],
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


def _print_report(report: Report, runs: pd.DataFrame, published: pd.DataFrame, root: Path):
    console = Console()
    if not console.is_terminal:  # piped or under make: do not squeeze the table into 80 columns
        console = Console(width=180)
    n = len(report.draws)
    over = f"{n} data draws, mean ± std" if n > 1 else "one data draw"
    table = Table(title=f"The notebook reproduced ({root}, {over}) beside its published figures")
    table.add_column("target")
    table.add_column("model")
    table.add_column("status")
    for key in METRICS:
        label = LABELS[key]
        table.add_column(f"{label}\nours", justify="right")
        table.add_column(f"{label}\nnotebook", justify="right", style="dim")
        table.add_column(f"{label}\nours/nb", justify="right")
    table.add_column("cell", style="dim")
    for target, models in TARGETS.items():
        for i, model in enumerate(models):
            mine = runs[runs["model"] == model]
            pub = published.loc[model] if model in published.index else None
            cells = [target if i == 0 else "", short(model), _status(mine, n)]
            for key in METRICS:
                stats = _stats(report.values(model, key))
                pub_value = None if pub is None else pub[key]
                if stats is None:
                    cells.append("")
                elif n > 1:
                    cells.append(f"{stats[0]:.4g} ± {stats[1]:.2g}")
                else:
                    cells.append(_fmt(stats[0]))
                cells.append(_fmt(pub_value))
                r = ratio(None if stats is None else stats[0], pub_value)
                cells.append("" if r is None else f"{r:.2f}")
            cells.append("" if pub is None else _fmt(pub["source_cell"]))
            table.add_row(*cells, end_section=i == len(models) - 1)
    console.print(table)

    theirs = run_checks(as_metrics(published))
    draws = f"{n} draw{'s' if n != 1 else ''}"
    console.print(f"Published orderings, on our runs over {draws} (and on the notebook's):")
    for mine, pub in zip(report.orderings, theirs):
        colour = "green" if mine.holds == n else "red" if mine.holds * 5 < n * 4 else "yellow"
        note = {True: "holds", False: "fails", None: "not printed"}[pub.passed]
        unknown = f", n/a on {len(mine.undecided)}" if mine.undecided else ""
        console.print(
            f"[{colour}]holds on {mine.holds} of {n}{unknown}[/{colour}]  {mine.label}"
            f"  [dim](notebook: {note})[/dim]",
            highlight=False,
        )
        if n == 1 and mine.holds:
            console.print(f"      {mine.on[0][2]}", highlight=False)
        for draw, detail in mine.failing:
            console.print(f"      fails on {draw_label(draw)}: {detail}", highlight=False)
        for draw, detail in mine.undecided:
            console.print(f"      n/a on {draw_label(draw)}: {detail}", highlight=False)
    console.print("Spreads, ours beside the notebook's:")
    for spread, pub in zip(report.spreads, spreads(as_metrics(published))):
        console.print(
            f"      {spread.label}: {_spread_text(spread)}  [dim](notebook: {pub.detail})[/dim]",
            highlight=False,
        )


def _status(rows: pd.DataFrame, n: int) -> str:
    if rows.empty:
        return "missing"
    ok = int((rows["status"] == "ok").sum())
    if n == 1 or len(rows) == 1:
        return str(rows["status"].iloc[0])
    return f"{ok}/{n} ok"


def panels(report: Report, published: pd.DataFrame) -> list[Panel]:
    """notebook.png's panels: each section's lesson metric per model, per draw."""

    def pub(model: str, key: str) -> float | None:
        value = published.loc[model, key] if model in published.index else None
        return None if value is None or pd.isna(value) else float(value)

    return [
        Panel(
            title,
            metric,
            models,
            [report.values(m, metric) for m in models],
            [pub(m, metric) for m in models],
        )
        for title, (models, metric) in PANELS.items()
    ]


def _missing(runs: pd.DataFrame, draws: list[int | None]) -> list[str]:
    have = set(zip(runs["model"], runs["draw"]))
    out = []
    for model in MODELS:
        lacking = [d for d in draws if (model, d) not in have]
        if len(lacking) == len(draws):
            out.append(model)
        elif lacking:
            out.append(f"{model} on {', '.join(draw_label(d) for d in lacking)}")
    return out


def cli(argv: list[str]) -> int:
    """`regexp notebook [FOLDER]`: 0 when the report is complete (notebook.json and .png
    written), 2 when runs are missing or not ok (nothing written)."""
    if argv[:1] in (["-h"], ["--help"]):
        print(
            "usage: regexp notebook [FOLDER]  (default: outputs/reproduce, see `make reproduce "
            "[DRAWS=N]`); writes FOLDER/notebook.json and FOLDER/notebook.png"
        )
        return 0
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("regexp notebook: error: give at most one FOLDER (no options)", file=sys.stderr)
        return 2
    root = Path(argv[0]) if argv else DEFAULT_ROOT
    if not root.is_dir():
        print(
            f"regexp notebook: error: no folder {root}; run `make reproduce` first",
            file=sys.stderr,
        )
        return 2
    runs = load_runs(root)
    published = load_figures()
    report = report_of(runs, published)
    if not runs.empty:
        _print_report(report, runs, published, root)
    missing = _missing(runs, report.draws)
    not_ok = [
        f"{row.model} ({row.status}{'' if row.draw is None else f', data.seed={row.draw}'})"
        for row in runs.itertuples()
        if row.model in MODELS and row.status != "ok"
    ]
    if missing or not_ok:  # an incomplete report leaves the folder as it was
        if missing:
            print(
                f"regexp notebook: error: {len(missing)} of {len(MODELS)} models lack runs "
                f"under {root}: {'; '.join(missing)} (run `make reproduce`); "
                f"{JSON_NAME} and {PNG_NAME} not written",
                file=sys.stderr,
            )
        if not_ok:
            print(f"regexp notebook: error: runs not ok: {', '.join(not_ok)}", file=sys.stderr)
        return 2
    try:
        plot_notebook(panels(report, published), len(report.draws), root / PNG_NAME)
        write_atomic(root / JSON_NAME, json.dumps(to_json(report), indent=2) + "\n")
    except OSError as exc:
        print(f"regexp notebook: error: cannot write into {root}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"Wrote {root / JSON_NAME} and {root / PNG_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
