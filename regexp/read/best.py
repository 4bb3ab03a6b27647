"""A sweep's best run by its objective, from the table its ending reads (read_sweep's):
best.yaml in the sweep folder and the line the sweep prints.

The objective is the jobs' config key `objective` (auto: val_mse, or val_accuracy for
classification; regexp.config.objective), minimised, an accuracy maximised, as an optimizing
sweeper is told. Only ok jobs with a finite value count; of equal values the first job wins.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from regexp.config import objective
from regexp.config.values import fmt, isna
from regexp.read.table import differing_keys
from regexp.runs.layout import SweepDir, write_atomic


def _plain(value: Any) -> Any:
    """A table cell as YAML writes it: numpy's scalars as Python's, missing as None."""
    if isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def metric_of(df: pd.DataFrame) -> str:
    """The metrics.json key the sweep's jobs report as their objective (the first job's)."""
    configured = df[df["status"] != "unknown"]
    if configured.empty:
        return objective.metric("auto", "regression")
    row = configured.iloc[0]
    name, task = row.get("objective"), row.get("data.task")
    return objective.metric(
        "auto" if isna(name) else str(name), "regression" if isna(task) else str(task)
    )


def best_run(sweep_dir: Path, df: pd.DataFrame) -> dict[str, Any] | None:
    """best.yaml's content: objective, direction, value, job, path (the job folder, relative
    to the sweep's), overrides (its own: `regexp run` them to train it again) and params (its
    values of the keys that tell the sweep's jobs apart); None when no job counts."""
    metric = metric_of(df)
    direction = objective.direction(metric, "")
    if metric not in df:
        return None
    values = [
        objective.value({"status": status, metric: _plain(number)}, metric)
        for status, number in zip(df["status"], df[metric])
    ]
    ranked = [(v if direction == "minimize" else -v, i) for i, v in enumerate(values)]
    ranked = [(v, i) for v, i in ranked if math.isfinite(v)]
    if not ranked:
        return None
    row = df.iloc[min(ranked)[1]]
    return {
        "objective": metric,
        "direction": direction,
        "value": values[min(ranked)[1]],
        "job": _plain(row["job"]),
        "path": os.path.relpath(row["path"], sweep_dir),
        "overrides": list(row["overrides"]),
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
