"""A sweep's best run by its objective, and best.yaml, the file that names it.

best_row is the one place that picks the best run: the sweep's ending writes best.yaml from
it and report.html opens with the run best.yaml names (a file another tool wrote, an Optuna
study's, is read the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from regexp.config import objective as objectives
from regexp.config.values import isna
from regexp.runs.layout import write_atomic

BEST = "best.yaml"


@dataclass(frozen=True)
class Objective:
    metric: str  # a metrics.json key: val_mse unless the config key `objective` says otherwise
    direction: str  # minimize | maximize


def objective_of(df: pd.DataFrame) -> Objective:
    """The sweep's objective, from its runs' config keys `objective` and `data.task` (the
    first run that has them); val_mse for folders written before the key existed, and
    val_accuracy, maximised, for classification."""
    ok = df[df["status"] == "ok"] if "status" in df else df
    first = ok.iloc[0] if len(ok) else None

    def key(name: str, default: str) -> str:
        value = first.get(name) if first is not None else None
        return default if value is None or isna(value) else str(value)

    task = key("data.task", "")
    if not task:
        accuracy = "val_accuracy" in df and df["val_accuracy"].notna().any()
        task = "classification" if accuracy else "regression"
    wanted = key("objective", "auto")
    return Objective(objectives.metric(wanted, task), objectives.direction(wanted, task))


def best_row(df: pd.DataFrame, objective: Objective | None = None) -> pd.Series | None:
    """The ok run of collect's table with the best finite objective (the first in table order
    on a tie); None when no run has one."""
    objective = objective or objective_of(df)
    if objective.metric not in df or "status" not in df:
        return None
    values = pd.to_numeric(df[objective.metric], errors="coerce").astype(float)
    values = values.where((df["status"] == "ok") & np.isfinite(values))
    if values.notna().sum() == 0:
        return None
    index = values.idxmax() if objective.direction == "maximize" else values.idxmin()
    return df.loc[index]


def best_record(row: pd.Series, objective: Objective, sweep_dir: Path) -> dict[str, Any]:
    """best.yaml's content for a row of collect's table: the job's overrides, its objective's
    value, the objective (metric and direction), the job number and its folder (relative to
    the sweep's)."""
    folder = Path(str(row["path"]))
    try:
        folder = folder.relative_to(sweep_dir)
    except ValueError:
        pass
    job = row.get("job")
    return {
        "overrides": [str(o) for o in row.get("overrides") or ()],
        "value": float(row[objective.metric]),
        "objective": {"metric": objective.metric, "direction": objective.direction},
        "job": None if job is None or isna(job) else int(job),
        "folder": folder.as_posix(),
    }


def write_best(sweep_dir: Path, df: pd.DataFrame) -> Path | None:
    """best.yaml in the sweep folder from best_row; None (and no file) when no run is ok."""
    objective = objective_of(df)
    row = best_row(df, objective)
    if row is None:
        return None
    path = Path(sweep_dir) / BEST
    text = yaml.safe_dump(best_record(row, objective, Path(sweep_dir)), sort_keys=False)
    write_atomic(path, text)
    return path


def named_best(sweep_dir: Path, df: pd.DataFrame) -> pd.Series | None:
    """The row of the run best.yaml names (by its job, else its folder), else best_row's."""
    try:
        saved = yaml.safe_load((Path(sweep_dir) / BEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        saved = None
    if isinstance(saved, dict):
        job, folder = saved.get("job"), saved.get("folder")
        if isinstance(job, int) and "job" in df:
            hit = df[df["job"] == job]
        elif isinstance(folder, str):
            wanted = (Path(sweep_dir) / folder).resolve()
            hit = df[[Path(str(p)).resolve() == wanted for p in df["path"]]]
        else:
            hit = df.iloc[:0]
        if len(hit):
            return hit.iloc[0]
    return best_row(df)
