"""Views of collect's table of runs: the config keys that tell runs apart, the columns a
table of runs shows, and a sweep's summary (summary.csv / summary.md)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from regexp.config.values import fmt, isna
from regexp.read.statistics import ANY
from regexp.runs.layout import METRIC_COLUMNS, REUSED, write_atomic

SUMMARY_METRICS = ("train_mse", "val_mse", "train_loss", "val_loss", "penalty")
SUMMARY_METRICS += ("train_accuracy", "val_accuracy", "n_params", "seconds")
# the values a metric of a run can take: an interval of its mean stops there
SHARES = ("train_accuracy", "val_accuracy")
NON_NEGATIVE = ("train_mse", "val_mse", "train_loss", "val_loss", "penalty", "n_params", "seconds")


def support(metric: str) -> tuple[float, float]:
    """The values a run's metric can take: [0, 1] for an accuracy, [0, inf) for an MSE, a
    loss (penalty included), a count or seconds; any other (a metric of the user's own) is
    unbounded."""
    if metric in SHARES:
        return 0.0, 1.0
    return (0.0, math.inf) if metric in NON_NEGATIVE else ANY


def differing_keys(df: pd.DataFrame) -> list[str]:
    """Config keys whose values differ between the runs that have a config."""
    keys = df.attrs.get("config_keys", [])
    # Foreign folders and empty job folders have no config: they would make every key differ.
    has_config = df[keys].notna().any(axis=1) & (df["status"] != "unknown")
    sub = df.loc[has_config, keys].map(lambda v: None if isna(v) else repr(v))
    return [k for k in keys if sub[k].nunique(dropna=False) > 1]


def plain_columns(df: pd.DataFrame, show_all: bool) -> list[str]:
    """path, job, name, the keys (those that differ unless show_all), status, the metrics
    (metrics.json's contract keys unless show_all), error."""
    keys = df.attrs["config_keys"] if show_all else differing_keys(df)
    metrics = [m for m in df.attrs["metric_keys"] if df[m].notna().any()]
    if not show_all:  # the contract's numbers, and where a reused job was first trained
        metrics = [m for m in metrics if m in (*METRIC_COLUMNS, REUSED)]
    cols = ["path"] + (["job"] if df["job"].notna().any() else []) + ["name"]
    cols += [k for k in keys if k != "name"] + ["status"] + metrics
    return cols + (["error"] if df["error"].notna().any() else [])


def _override_key_value(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def with_missing_jobs(df: pd.DataFrame, jobs: list[list[str]]) -> pd.DataFrame:
    """read_sweep's table with a row (status `missing`, its overrides) for each of the
    sweep's `jobs` (each job's overrides, in job order) that has no folder at all, and their
    overrides for the folders stopped before Hydra's files were written: a sweep stopped
    early still lists every job it was to run, with its swept values."""
    df = df.copy()
    df["overrides"] = [
        tuple(jobs[int(j)]) if not o and not isna(j) and int(j) < len(jobs) else o
        for j, o in zip(df["job"], df["overrides"])
    ]
    present = {int(j) for j in df["job"].dropna()}
    rows = [
        {"path": "", "job": i, "overrides": tuple(o), "status": "missing"}
        for i, o in enumerate(jobs)
        if i not in present
    ]
    if not rows:
        return df
    out = pd.concat([df, pd.DataFrame(rows)], ignore_index=True)
    out["job"] = out["job"].astype("Int64")
    out = out.sort_values("job", kind="stable", na_position="last", ignore_index=True)
    out.attrs = dict(df.attrs)
    return out


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """A sweep's summary from read_sweep's table: one row per job.

    Columns: job, name, one column per overridden key in the order they were typed (a
    config group override such as `penalty=l2` shows the group's name as `penalty.name`),
    status, metrics (accuracy only when a job has it), the epoch a job stopped at when one
    stopped early (early stopping, an Optuna search's pruner), error when a job has one. Works
    with failed or missing jobs."""
    config_keys = df.attrs.get("config_keys", [])
    swept: dict[str, str] = {}  # override key -> column
    for overrides in df["overrides"]:
        for key, _ in map(_override_key_value, overrides):
            if key in swept or key.startswith("hydra.") or not key:
                continue
            group = key not in config_keys and any(k.startswith(f"{key}.") for k in config_keys)
            swept[key] = f"{key}.name" if group else key
    table = pd.DataFrame({"job": df["job"], "name": df["name"]})
    for key, column in swept.items():
        if column in table:
            continue
        cells = df[column].tolist() if column in df else [None] * len(df)
        typed = [dict(map(_override_key_value, o)).get(key) for o in df["overrides"]]
        table[column] = [t if isna(v) else v for v, t in zip(cells, typed, strict=True)]
    table["status"] = df["status"]
    for col in SUMMARY_METRICS:
        optional = col.endswith("_accuracy")  # classification only
        if col in df and (not optional or df[col].notna().any()):
            table[col] = df[col]
        elif not optional:
            table[col] = float("nan")  # every job failed: keep the columns anyway
    if "stopped_epoch" in df and df["stopped_epoch"].notna().any():  # early stopping, pruning
        table["stopped_epoch"] = df["stopped_epoch"].astype("Int64")
    if REUSED in df and df[REUSED].notna().any():
        table[REUSED] = df[REUSED]
    if df["error"].notna().any():
        table["error"] = df["error"]
    return table


def study_keys(table: pd.DataFrame) -> list[str]:
    """The study variables of a sweep: summary_table's overridden keys (the columns between
    name and status: an experiment sweep's is `experiment`) whose values differ between its
    jobs; seeds aside, they are repeats."""
    columns = list(table.columns)
    if "name" not in columns or "status" not in columns:
        return []
    swept = columns[columns.index("name") + 1 : columns.index("status")]
    return [k for k in swept if k != "seed" and table[k].map(fmt).nunique() > 1]


def study_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """(collect's table with a column for each study key it lacks, the study keys): what a
    sweep's figures draw. Runs that were given no overrides at all (runs side by side in
    `regexp compare`) are told apart by the config keys that differ instead."""
    table = summary_table(df)
    if any(len(o) for o in df["overrides"]):
        keys = study_keys(table)
    else:
        keys = [k for k in differing_keys(df) if k not in ("seed", "name")]
    missing = {k: table[k].to_numpy() for k in keys if k not in df}
    if not missing:
        return df, keys
    out = df.assign(**missing)
    out.attrs = dict(df.attrs)
    return out, keys


def write_summary(sweep_dir: Path, table: pd.DataFrame) -> None:
    """summary.csv and summary.md at the sweep's root."""
    write_atomic(sweep_dir / "summary.csv", table.to_csv(index=False, float_format="%.10g"))
    write_atomic(sweep_dir / "summary.md", table.map(fmt).to_markdown(index=False) + "\n")
