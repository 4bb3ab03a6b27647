"""A sweep's best run by its objective, from the table its ending reads (read_sweep's):
best.yaml in the sweep folder, the line the sweep prints, and the run report.html opens with.

The objective is the jobs' config key `objective` (auto: val_mse, or val_accuracy for
classification; regexp.config.objective), minimised, an accuracy maximised, as an optimizing
sweeper is told. Only ok jobs with a finite value count; of equal values the first job wins.
best_row is the one place that picks it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from regexp.config import objective as objectives
from regexp.config.values import fmt, isna
from regexp.read.table import differing_keys
from regexp.runs.layout import SweepDir, write_atomic


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


def _plain(value: Any) -> Any:
    """A table cell as YAML writes it: numpy's scalars as Python's, missing as None."""
    if isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def best_run(sweep_dir: Path, df: pd.DataFrame) -> dict[str, Any] | None:
    """best.yaml's content: objective, direction, value, job, folder (relative to the
    sweep's), overrides (its own: `regexp run` them to train it again) and params (its values
    of the keys that tell the sweep's jobs apart); None when no job counts."""
    objective = objective_of(df)
    row = best_row(df, objective)
    if row is None:
        return None
    return {
        "objective": objective.metric,
        "direction": objective.direction,
        "value": float(row[objective.metric]),
        "job": _plain(row.get("job")),
        "folder": Path(os.path.relpath(row["path"], sweep_dir)).as_posix(),
        "overrides": [str(o) for o in row.get("overrides") or ()],
        "params": {key: _plain(row[key]) for key in differing_keys(df)},
    }


def write_best(sweep_dir: Path, df: pd.DataFrame) -> dict[str, Any] | None:
    """Write best.yaml into the sweep folder (removing an older one when no job counts now);
    its content, or None."""
    best = best_run(sweep_dir, df)
    path = SweepDir(sweep_dir).best_file
    if best is None:
        path.unlink(missing_ok=True)
        return None
    write_atomic(path, yaml.safe_dump(best, sort_keys=False, allow_unicode=True))
    return best


def best_line(best: dict[str, Any] | None) -> str:
    """The line a sweep prints about its best run."""
    if best is None:
        return "best: none (no job finished ok with a finite objective)"
    params = " ".join(f"{k}={fmt(v)}" for k, v in best["params"].items())
    value = f"{best['objective']} {fmt(best['value'])} ({best['direction']})"
    return f"best: job {best['job']}, {value}{', ' + params if params else ''} -> best.yaml"


def named_best(sweep_dir: Path, df: pd.DataFrame) -> pd.Series | None:
    """The row of the run best.yaml names (by its job, else its folder), else best_row's: a
    best.yaml another tool wrote is read the same way."""
    try:
        saved = yaml.safe_load(SweepDir(sweep_dir).best_file.read_text(encoding="utf-8"))
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
