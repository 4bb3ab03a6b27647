"""Reading run and sweep folders into one pandas table, and a sweep's summary.csv / summary.md.

A run folder holds `.hydra/` (config.yaml, overrides.yaml) and `metrics.json`; a sweep
folder holds `multirun.yaml` and job folders 0/, 1/, ... Broken folders never raise: they
become rows with a status (incomplete, corrupt, unknown) and a short `error` note.
Kept apart from the `regexp compare` views (read/compare.py) because a sweep's ending
(read/summary.py) and the notebook's tables (read/notebook.py) read folders the same way.
No torch here: compare must start fast.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from regexp.config.errors import UsageError
from regexp.config.output import LOCK
from regexp.config.values import cell, flatten
from regexp.runs.layout import METRIC_COLUMNS, METRICS, STATUSES, RunDir, SweepDir

META = ("path", "job", "name", "overrides", "status", "error")
# metrics.json repeats a few config keys; "device" there is where it ran (cpu/cuda), not
# the requested "auto", so it gets a column of its own.
METRIC_RENAMES = {"device": "ran_on"}


# ---------------------------------------------------------------------------- reading


@dataclass
class _Run:
    path: Path
    job: int | None = None
    config: dict[str, Any] | None = None  # the raw config tree
    overrides: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    status: str = "unknown"
    errors: list[str] = field(default_factory=list)


def _is_run_dir(path: Path) -> bool:
    return RunDir(path).looks_like_run()


def _read_run(path: Path) -> _Run:
    run = _Run(path=path, job=RunDir(path).job_number())
    folder = RunDir(path)
    hydra_dir = folder.hydra_dir
    if hydra_dir.is_dir():
        try:
            config = folder.config_tree()
            if isinstance(config, dict):
                run.config = config
            else:
                run.errors.append(".hydra/config.yaml is not a mapping")
        except FileNotFoundError:
            run.errors.append("no .hydra/config.yaml")
        except (OSError, yaml.YAMLError) as exc:
            run.errors.append(f"unreadable .hydra/config.yaml ({type(exc).__name__})")
        try:
            overrides = folder.overrides()
            run.overrides = [str(o) for o in overrides] if isinstance(overrides, list) else []
        except (OSError, yaml.YAMLError):
            pass  # the config alone is enough; a missing overrides list is not worth a note

    metrics_path = folder.metrics_file
    if metrics_path.is_file():
        try:
            with open(metrics_path) as f:
                metrics = json.load(f)
        except (OSError, ValueError) as exc:
            run.status = "corrupt"
            run.errors.insert(0, f"unreadable metrics.json ({type(exc).__name__})")
            return run
        if not isinstance(metrics, dict):
            run.status = "corrupt"
            run.errors.insert(0, "metrics.json is not a JSON object")
            return run
        run.metrics = metrics
        if metrics.get("status") in STATUSES:
            run.status = metrics["status"]
            if metrics.get("error"):
                run.errors.insert(0, str(metrics["error"]).splitlines()[0])
        else:
            run.errors.insert(0, "metrics.json has no regexp status")
        return run

    if not any(p.name != LOCK for p in path.iterdir()):  # its claim's lock file at most
        run.status, run.errors = "incomplete", ["empty folder"]
    elif run.config is not None and "hidden_units" not in run.config:
        run.errors.insert(0, "not a regexp run (no hidden_units in config)")
    elif hydra_dir.is_dir():
        run.status = "incomplete"
        run.errors.insert(0, "no metrics.json (killed or still running)")
    else:
        run.status = "incomplete"
        run.errors.insert(0, "no .hydra/ and no metrics.json")
    return run


def _natural(path: Path) -> tuple:
    return (0, int(path.name), "") if path.name.isdigit() else (1, 0, path.name)


def _subdirs(path: Path) -> list[Path]:
    try:
        entries = list(os.scandir(path))
    except OSError:
        return []
    # Not following symlinks avoids loops; dot folders (.hydra, .git) are never runs.
    dirs = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and e.name[0] != "."]
    return sorted(dirs, key=_natural)


def _job_dirs(sweep_dir: Path) -> list[Path]:
    # Numbered folders (Hydra's default subdir), and run folders named some other way.
    return [d for d in _subdirs(sweep_dir) if d.name.isdigit() or _is_run_dir(d)]


def _find_runs(root: Path) -> list[Path]:
    """Run folders at or under root; a sweep's numbered job folders count even when empty."""
    if _is_run_dir(root):
        return [root]
    is_sweep = SweepDir(root).is_sweep()
    found: list[Path] = []
    for child in _subdirs(root):
        if is_sweep and child.name.isdigit():
            found.append(child)
        elif child.name != "__pycache__":
            found.extend(_find_runs(child))
    return found


def _row(run: _Run) -> dict[str, Any]:
    row: dict[str, Any] = {"path": str(run.path), "job": run.job}
    config = flatten(run.config) if run.config else {}
    row["name"] = config.pop("name", None) or run.metrics.get("name")
    row["overrides"] = tuple(run.overrides)
    for key, value in config.items():
        row[key] = value
    row["status"] = run.status
    for key, value in run.metrics.items():
        if key in ("status", "error", "name", "made_by"):  # made_by: the run's record
            continue
        key = METRIC_RENAMES.get(key, key)
        if key in config or key in row:
            continue  # seed: the config already says it
        row[key] = cell(value) if isinstance(value, list | dict) else value
    row["error"] = "; ".join(run.errors) or None
    return row


def _frame(runs: list[_Run]) -> pd.DataFrame:
    rows = [_row(r) for r in runs]
    # A key is a config key when any run's config has it (seed also sits in metrics.json).
    flat_keys = dict.fromkeys(k for r in runs if r.config for k in flatten(r.config))
    everything = dict.fromkeys(k for row in rows for k in row if k not in META and k != "name")
    config_keys = [k for k in everything if k in flat_keys]
    metric_keys = [k for k in everything if k not in flat_keys]
    metric_keys.sort(key=lambda k: METRIC_COLUMNS.index(k) if k in METRIC_COLUMNS else 99)
    columns = ["path", "job", "name", "overrides", *config_keys, "status", *metric_keys, "error"]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("job", "n_params", "epochs", "seed"):
        if col in df and df[col].map(lambda v: v is None or isinstance(v, int | float)).all():
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    for col in metric_keys:
        if col not in ("ran_on",):
            converted = pd.to_numeric(df[col], errors="coerce")
            if converted.notna().sum() == df[col].notna().sum():  # numbers only: keep them
                df[col] = converted
    df.attrs["config_keys"] = config_keys
    df.attrs["metric_keys"] = metric_keys
    return df


def collect(paths: list[Path]) -> pd.DataFrame:
    """One row per run found at or under each path (run, sweep or any parent folder).

    Columns: path, job, name, overrides, the flattened config keys (dotted), status,
    the metrics, error. `df.attrs` lists which columns are config keys and metrics.
    A path with no run under it becomes a row of status `unknown`.
    """
    runs: list[_Run] = []
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise UsageError(f"no such file or folder: {given}")
        if given.is_file() and given.name == METRICS:
            given = given.parent  # `compare run/metrics.json` means the run
        found = _find_runs(given) if given.is_dir() else []
        if not found:
            runs.append(_Run(path=given, errors=["no run found here"]))
        for path in found:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                runs.append(_read_run(path))
    return _frame(runs)


def read_sweep(sweep_dir: Path) -> pd.DataFrame:
    """collect's table of a sweep's job folders, in job order: what the sweep's ending reads,
    once, for its summary, figures and report."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise UsageError(f"not a sweep folder: {sweep_dir}")
    runs = [_read_run(d) for d in _job_dirs(sweep_dir)]
    runs.sort(key=lambda r: (r.job is None, r.job or 0, r.path.name))
    return _frame(runs)
