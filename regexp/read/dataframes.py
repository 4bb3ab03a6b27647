"""Results at hand in Python: `regexp.load(PATH)`, `regexp.load_history(RUN)` and
`regexp.load_model(RUN)` (regexp/__init__.py hands these out).

load is the table `regexp compare` reads (regexp.read.collect), without the rows of folders
that hold no run; load_history is a run's history.csv; load_model rebuilds its trained torch
module (regexp.runs.weights). torch is imported by load_model alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from regexp.read.collect import collect
from regexp.runs.layout import RunDir

if TYPE_CHECKING:  # torch is loaded by load_model only
    import torch


def load(*paths: Path | str) -> pd.DataFrame:
    """One row per run found at or under the paths (run, sweep or any parent folder): path
    (the run's folder), job, name, overrides, the config keys flattened (`data.seed`,
    `penalty.lam`, ...), status (ok, pruned, diverged, failed, incomplete, corrupt), the metrics
    (`val_mse`, ...), error. `df.attrs["config_keys"]` and `["metric_keys"]` say which
    columns are which. FileNotFoundError for a path that does not exist."""
    for path in paths:
        if not Path(path).exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
    table = collect([Path(p) for p in paths])
    runs = table[table["status"] != "unknown"].reset_index(drop=True)
    runs.attrs = dict(table.attrs)
    return runs


def load_history(run: Path | str) -> pd.DataFrame:
    """A run's history.csv: one row per epoch (validation columns NaN between evaluations)."""
    path = RunDir(run).history_file
    if not path.is_file():
        raise FileNotFoundError(f"no history.csv in {run}")
    return pd.read_csv(path)


def load_model(run: Path | str) -> torch.nn.Module:
    """The run's trained model (on the CPU, in eval mode), rebuilt from its config and
    weights; regexp.config.errors.UsageError when they cannot be read back."""
    from regexp.runs.weights import load_run  # torch: only for the one who asks for a model

    return load_run(run)[1]
