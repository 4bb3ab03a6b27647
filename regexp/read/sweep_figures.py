"""A sweep's curves.png and parallel.png from the table its ending reads: the rows and
columns each figure needs, and the runs' history.csv for the curves (regexp.figures draws
from arrays and tables, never from run folders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from regexp.config.values import fmt
from regexp.figures.curves import Curve, plot_curves
from regexp.figures.parallel import plot_parallel
from regexp.figures.sweep import metrics_of
from regexp.read.best import Objective
from regexp.runs.layout import RunDir
from regexp.train.history import History

CURVES, PARALLEL = "curves.png", "parallel.png"


def read_curves(df: pd.DataFrame, keys: list[str], metric: str) -> list[Curve]:
    """Each ok or pruned run's evaluated epochs of `metric` from its history.csv (a pruned
    run's end where the pruner stopped it; runs whose history cannot be read, or lacks the
    metric, are left out)."""
    ok = df[df["status"].isin(("ok", "pruned"))]
    curves = []
    for _, row in ok.iterrows():
        try:  # History's own reader, not pandas' read_csv: cheaper a file (docs/speed.md)
            text = RunDir(row["path"]).history_file.read_text()
            columns = History.from_csv(text).columns_
            epochs, found = columns["epoch"], np.asarray(columns[metric], dtype=float)
        except (OSError, ValueError, KeyError, UnicodeDecodeError):
            continue
        kept = ~np.isnan(found)
        if not kept.any():
            continue
        values = [fmt(row[k]) for k in keys]
        curves.append(
            Curve(
                colour=values[0] if values else "",
                style=values[1] if len(values) > 1 else "",
                setting=", ".join(f"{k}={v}" for k, v in zip(keys, values)),
                epochs=epochs[kept],
                values=found[kept],
                pruned=row["status"] == "pruned",
            )
        )
    return curves


def curve_metric(df: pd.DataFrame, objective: Objective) -> str:
    """The objective when it is a per-epoch column (val_mse, val_accuracy, val_loss ...),
    else the validation metric of the task."""
    return objective.metric if objective.metric != "penalty" else metrics_of(df)[1]


def draw_curves(
    sweep_dir: Path, df: pd.DataFrame, keys: list[str], objective: Objective
) -> Path | None:
    """curves.png, when some ok or pruned run has a history of the metric; its path."""
    metric = curve_metric(df, objective)
    curves = read_curves(df, keys, metric)
    if not curves:
        return None
    path = Path(sweep_dir) / CURVES
    second = keys[1] if len(keys) > 1 else ""
    plot_curves(path, curves, metric, keys[0] if keys else "", second)
    return path


def draw_parallel(
    sweep_dir: Path, df: pd.DataFrame, keys: list[str], objective: Objective
) -> Path | None:
    """parallel.png for a sweep over two study keys or more, when two ok runs have a finite
    objective; its path."""
    if len(keys) < 2 or objective.metric not in df:
        return None
    ok = df[df["status"] == "ok"]
    values = pd.to_numeric(ok[objective.metric], errors="coerce")
    ok = ok[values.notna()]
    if len(ok) < 2:
        return None
    path = Path(sweep_dir) / PARALLEL
    plot_parallel(path, ok, keys, objective.metric, objective.direction)
    return path
