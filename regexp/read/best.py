"""A sweep's best run by its objective, from the table its ending reads (read_sweep's):
best.yaml in the sweep folder, the line the sweep prints, and the run report.html opens with.

The objective is the jobs' config key `objective` (auto: val_mse, or val_accuracy for
classification; regexp.config.objective), minimised, an accuracy maximised, as an optimizing
sweeper is told. Only ok jobs with a finite value count; of equal values the first job wins.
best_row is the one place that picks a run.

With repeats (jobs that differ only in `seed` or `data.seed`), the best is a configuration,
not its luckiest repeat: repeated_best names the configuration with the best mean over its
repeats, with the mean's 95 % t-interval, and says whether the runner-up is distinguishable
from it (the interval of their difference, paired on the repeats both have, else Welch's,
clears 0: regexp.read.statistics). Its run in best.yaml is the one nearest its mean. A sweep
without repeats is as before.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from regexp.config import objective as objectives
from regexp.config.values import fmt, isna
from regexp.read.statistics import Interval, mean_interval, welch_interval
from regexp.read.table import differing_keys, support
from regexp.runs.layout import SweepDir, write_atomic

REPEATS = ("seed", "data.seed")  # keys whose values are repeats of one configuration


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
    values = _values(df, objective)
    if values.notna().sum() == 0:
        return None
    index = values.idxmax() if objective.direction == "maximize" else values.idxmin()
    return df.loc[index]


# ------------------------------------------------------------------- repeats (issue 34)


@dataclass(frozen=True)
class Configuration:
    """The ok runs (finite objective) of one configuration: its values of the keys that tell
    configurations apart, its runs and its mean with the mean's 95 % t-interval."""

    params: dict[str, Any]
    runs: pd.DataFrame
    mean: Interval


@dataclass(frozen=True)
class RepeatedBest:
    objective: Objective
    over: list[str]  # the repeat keys that vary
    best: Configuration
    runner_up: Configuration | None
    difference: Interval | None  # runner-up's mean minus the best's
    paired: bool  # the difference paired on the repeats both have (else Welch's)
    run: pd.Series  # the best configuration's run nearest its mean

    @property
    def distinguishable(self) -> bool | None:
        """Whether the difference's interval clears 0 (None: no runner-up, or too few runs)."""
        if self.difference is None or math.isnan(self.difference.low):
            return None
        return bool(self.difference.low > 0 or self.difference.high < 0)


def _values(df: pd.DataFrame, objective: Objective) -> pd.Series:
    values = pd.to_numeric(df[objective.metric], errors="coerce").astype(float)
    return values.where((df["status"] == "ok") & np.isfinite(values))


def _difference(a: Configuration, b: Configuration, over: list[str], metric: str):
    """b's mean minus a's: paired on the repeats both have when each has every repeat once
    (two pairs at least), else Welch's interval; (interval, paired)."""

    def by_repeat(c: Configuration) -> pd.Series:
        keys = c.runs[over].map(fmt).agg("|".join, axis=1)
        return pd.Series(c.runs[metric].to_numpy(dtype=float), index=keys.to_numpy())

    x, y = by_repeat(a), by_repeat(b)
    if x.index.is_unique and y.index.is_unique and set(x.index) == set(y.index) and len(x) > 1:
        return mean_interval(list(y[x.index] - x)), True
    return welch_interval(y.to_numpy(), x.to_numpy()), False


def repeated_best(df: pd.DataFrame, objective: Objective | None = None) -> RepeatedBest | None:
    """The best configuration by its mean over its repeats; None when no configuration has two
    ok runs with a finite objective (a sweep without repeats: best_row's run is the best)."""
    objective = objective or objective_of(df)
    if objective.metric not in df or "status" not in df:
        return None
    over = [k for k in REPEATS if k in df and df[k].map(fmt).nunique() > 1]
    if not over:
        return None
    values = _values(df, objective)
    ok = df[values.notna()].assign(**{objective.metric: values[values.notna()]})
    keys = [k for k in differing_keys(df) if k not in REPEATS]
    groups = ok.groupby([ok[k].map(fmt) for k in keys], sort=False) if keys else [((), ok)]
    found = [
        Configuration(
            {k: _plain(runs[k].iloc[0]) for k in keys},
            runs,
            mean_interval(list(runs[objective.metric]), support=support(objective.metric)),
        )  # fmt: skip
        for _, runs in groups
    ]
    if not found or max(len(c.runs) for c in found) < 2:
        return None
    sign = -1 if objective.direction == "maximize" else 1
    ranked = sorted(found, key=lambda c: sign * c.mean.estimate)  # stable: first seen on a tie
    best, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    difference, paired = (None, False)
    if runner_up is not None:
        difference, paired = _difference(best, runner_up, over, objective.metric)
    nearest = (best.runs[objective.metric] - best.mean.estimate).abs().idxmin()
    return RepeatedBest(objective, over, best, runner_up, difference, paired, df.loc[nearest])


def _interval(i: Interval) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in (i.low, i.high)]


def _repeated_yaml(sweep_dir: Path, found: RepeatedBest) -> dict[str, Any]:
    """best.yaml's content for a sweep with repeats."""
    row, best = found.run, found.best
    out: dict[str, Any] = {
        "objective": found.objective.metric,
        "direction": found.objective.direction,
        "value": float(best.mean.estimate),  # the configuration's mean over its repeats
        "job": _plain(row.get("job")),  # its run nearest that mean
        "folder": Path(os.path.relpath(row["path"], sweep_dir)).as_posix(),
        "overrides": [str(o) for o in row.get("overrides") or ()],
        "params": best.params,
        "repeats": {
            "over": found.over,
            "n": best.mean.n,
            "std": float(best.runs[found.objective.metric].std(ddof=1))
            if best.mean.n > 1
            else None,
            "ci95": _interval(best.mean),
            "jobs": [_plain(j) for j in best.runs["job"]] if "job" in best.runs else [],
        },
    }
    if found.runner_up is not None and found.difference is not None:
        out["runner_up"] = {
            "params": found.runner_up.params,
            "value": float(found.runner_up.mean.estimate),
            "n": found.runner_up.mean.n,
            "ci95": _interval(found.runner_up.mean),
            "difference": {
                "estimate": float(found.difference.estimate),
                "ci95": _interval(found.difference),
                "method": f"paired over {', '.join(found.over)}" if found.paired else "Welch",
            },
            "distinguishable": found.distinguishable,
        }
    return out


def repeated_line(best: dict[str, Any]) -> str:
    """The line a sweep with repeats prints about its best configuration."""
    params = " ".join(f"{k}={fmt(v)}" for k, v in best["params"].items()) or "the one setting"
    low, high = best["repeats"]["ci95"]
    interval = "" if low is None else f" [{fmt(low)}, {fmt(high)}]"
    over = ", ".join(best["repeats"]["over"])
    line = (f"best: {params}, {best['objective']} mean {fmt(best['value'])}{interval} over "
            f"{best['repeats']['n']} runs ({over}; {best['direction']})")  # fmt: skip
    runner = best.get("runner_up")
    if runner is not None:
        verdict = {True: "distinguishable", False: "not distinguishable", None: "too few runs"}
        others = " ".join(f"{k}={fmt(v)}" for k, v in runner["params"].items())
        line += (f"; runner-up {others} {fmt(runner['value'])}: "
                 f"{verdict[runner['distinguishable']]}")  # fmt: skip
    return line + " -> best.yaml"


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
    repeated = repeated_best(df, objective)
    if repeated is not None:
        return _repeated_yaml(sweep_dir, repeated)
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
    if "repeats" in best:
        return repeated_line(best)
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
