"""A sweep's outcome, written and printed at its ending beside the summary: its best run
(best.yaml, regexp.read.best) and, for an Optuna search, the study's own figures
(optuna_history.png, optuna_importance.png, regexp.figures.study), before report.html is
written so that the report can show them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

from regexp.read.best import best_line, objective_of, write_best
from regexp.runs.layout import SweepDir


def write_outcome(sweep_dir: Path, df: pd.DataFrame, console: Console) -> None:
    """best.yaml and the Optuna figures of a sweep from read_sweep's table, each announced
    on the console; a failure is a line too (the summary is the sweep's result)."""
    try:
        console.print(best_line(write_best(sweep_dir, df)), markup=False)
    except Exception as err:
        console.print(f"best.yaml not written: {type(err).__name__}: {err}", markup=False)
    if not SweepDir(sweep_dir).study_file.is_file():
        return
    try:
        from regexp.figures.study import draw_study
        from regexp.runs.study import load_study  # optuna: only for an Optuna search

        study = load_study(sweep_dir)
        written, notes = (
            draw_study(study, sweep_dir, objective_of(df).metric) if study else ([], [])
        )
    except Exception as err:
        console.print(f"Optuna figures not drawn: {type(err).__name__}: {err}", markup=False)
        return
    for note in notes:
        console.print(note, markup=False)
    if written:
        names = " and ".join(p.name for p in written)
        console.print(f"optuna figures: {names} in {sweep_dir}", markup=False)
