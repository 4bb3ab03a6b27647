"""A user's CSV data set (data=csv), read and checked as the config names it: the file, the
feature and target columns, their values, the validation share. The CLI checks it before any
run starts; regexp.train.data turns the same arrays into tensors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from regexp.config.errors import ConfigError
from regexp.config.settings import DataSettings


def _repeated(names: list[str]) -> str | None:
    """The first name that appears twice."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _header(path: Path) -> list[str]:
    """The file's first row as written (pandas renames a repeated name x1 to x1.1)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return next(csv.reader(f), [])


def read_table(s: DataSettings) -> tuple[np.ndarray, np.ndarray]:
    """(features [n, len(s.features)], target [n, 1]) as float64, rows in the file's order;
    ConfigError naming the key when the file or a column does not fit."""
    import pandas as pd  # deferred: only a CSV data set needs it

    path = Path(s.path or "")
    if not path.exists():
        raise ConfigError("data.path", f"no such file: {path}")
    if path.is_dir():
        raise ConfigError("data.path", f"{path} is a folder; give a CSV file")
    if not path.is_file():
        raise ConfigError(
            "data.path", f"{path} is not a regular file (a device, a pipe); give a CSV file"
        )
    try:
        frame = pd.read_csv(path)
    except Exception as err:  # pandas raises several types for unreadable files
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ConfigError("data.path", f"could not read {path} as CSV ({first})") from None
    twice = _repeated(_header(path))
    if twice:
        raise ConfigError("data.path", f"{path}'s header names column {twice!r} twice")
    twice = _repeated(list(s.features))
    if twice:
        raise ConfigError("data.features", f"lists {twice!r} twice; name each column once")
    columns = [*s.features, s.target]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        key = "data.target" if missing == [s.target] else "data.features"
        raise ConfigError(
            key, f"column {missing[0]!r} not in {path}; columns: {', '.join(map(str, frame))}"
        )
    numeric = frame[columns].apply(pd.to_numeric, errors="coerce")
    if numeric.isna().any().any():
        bad = numeric.columns[numeric.isna().any()][0]
        raise ConfigError("data.path", f"column {bad!r} has missing or non-numeric values")
    infinite = ~np.isfinite(numeric.to_numpy(np.float64)).all(axis=0)
    if infinite.any():
        bad = numeric.columns[infinite][0]
        raise ConfigError("data.path", f"column {bad!r} has infinite values")
    if s.task == "classification" and not numeric[s.target].isin([0, 1]).all():
        raise ConfigError("data.target", "must hold 0/1 labels when data.task=classification")
    n = len(numeric)
    n_val = int(round(n * s.val_fraction))
    if n_val < 1 or n - n_val < 2:
        raise ConfigError("data.val_fraction", f"leaves no validation or training rows ({n} rows)")
    return numeric[list(s.features)].to_numpy(np.float64), numeric[[s.target]].to_numpy(np.float64)
