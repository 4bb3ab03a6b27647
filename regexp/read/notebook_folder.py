"""A reproduce folder read for `regexp notebook`: every run under it (regexp.read.collect)
matched to the notebook's models by `name` and to data draws by data.seed, each draw's
numbers as a mapping, what is missing or not ok; and the notebook's published figures
(notebook_figures.csv, with the cell each comes from)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from regexp.read.collect import collect
from regexp.read.notebook_lessons import METRICS, MODELS, SHIPPED_SEED, Metrics

FIGURES = Path(__file__).with_name("notebook_figures.csv")
Draw = int | None  # a data.seed; None where a run's config is not there to say


def load_figures(path: Path | str = FIGURES) -> pd.DataFrame:
    """The notebook's published figures, indexed by model (empty cells are NaN)."""
    frame = pd.read_csv(path, dtype={"source_cell": str})
    return frame.set_index("model")


def load_runs(root: Path | str) -> pd.DataFrame:
    """One row per run under root: model, draw, status, path, metrics.

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


def draws_of(runs: pd.DataFrame) -> list[Draw]:
    """The folder's draws in the order they are added: the shipped data seed first, then the
    others in increasing order (the sequential rule's looks take them in this order)."""
    found = set(runs["draw"])
    return sorted(found, key=lambda d: (d != SHIPPED_SEED, -1 if d is None else d))


def draw_label(draw: Draw) -> str:
    return "the shipped draw" if draw is None else f"data.seed={draw}"


def as_metrics(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{model: {metric: value}} of a table indexed by model (one draw, or the figures)."""
    return {
        str(model): {k: row[k] for k in METRICS if k in row and pd.notna(row[k])}
        for model, row in frame.iterrows()
    }


def per_draw(runs: pd.DataFrame, draws: list[Draw]) -> dict[Draw, Metrics]:
    """Each draw's numbers, {draw: {model: {metric: value}}}."""
    return {
        d: as_metrics(runs[runs["draw"].map(lambda v, d=d: v == d)].set_index("model"))
        for d in draws
    }


def missing(
    runs: pd.DataFrame, draws: list[Draw], needed: dict[str, int] | None = None
) -> list[str]:
    """The models that lack a run: the model's name, or its name and the draws it lacks.
    needed: how many of the draws (in order) each model's runs must cover (default all: a
    sweep that DRAWS=auto stopped adding draws to holds fewer)."""
    have = set(zip(runs["model"], runs["draw"]))
    out = []
    for model in MODELS:
        wanted = draws[: (needed or {}).get(model, len(draws))]
        lacking = [d for d in wanted if (model, d) not in have]
        if len(lacking) == len(wanted):  # none at all (or a folder without draws)
            out.append(model)
        elif lacking:
            out.append(f"{model} on {', '.join(draw_label(d) for d in lacking)}")
    return out


def not_ok(runs: pd.DataFrame) -> list[str]:
    """The notebook's runs whose status is not ok, with the status and draw."""
    return [
        f"{row.model} ({row.status}{'' if row.draw is None else f', data.seed={row.draw}'})"
        for row in runs.itertuples()
        if row.model in MODELS and row.status != "ok"
    ]
