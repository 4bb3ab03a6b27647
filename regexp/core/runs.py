"""Read and write run and sweep folders: unique folder names, atomic writes, loading weights."""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

OUTPUT_ROOT = Path("outputs")
# metrics.json's numbers in display order (the contract's keys; classification adds accuracy)
METRIC_COLUMNS = (
    "train_mse",
    "val_mse",
    "train_loss",
    "val_loss",
    "penalty",
    "train_accuracy",
    "val_accuracy",
    "n_params",
    "epochs",
    "seconds",
)
METRICS = "metrics.json"
HISTORY = "history.csv"
WEIGHTS = "weights.safetensors"
FIT = "plots/fit.npz"  # 1-D runs: fitted function and points, overlaid by a sweep's summary.png


def claim_dir(parent: Path | str, now: datetime | None = None) -> Path:
    """Create and return a new folder parent/YYYY-MM-DD/HH-MM-SS[-N].

    os.mkdir is atomic, so runs started in the same second get distinct folders.
    """
    now = now or datetime.now()
    day = Path(parent) / now.strftime("%Y-%m-%d")
    day.mkdir(parents=True, exist_ok=True)
    stem = now.strftime("%H-%M-%S")
    for n in range(10_000):
        path = day / (stem if n == 0 else f"{stem}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not claim a folder under {day}")


def write_atomic(path: Path | str, data: bytes | str) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_safe(value: Any) -> Any:
    # JSON has no NaN/inf: a diverged run records them as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path | str, obj: dict) -> None:
    write_atomic(path, json.dumps(_json_safe(obj), indent=2, sort_keys=False) + "\n")


def read_metrics(run_dir: Path | str) -> dict:
    """The run's metrics.json; raises FileNotFoundError or ValueError when absent or corrupt."""
    with open(Path(run_dir) / METRICS) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("metrics.json is not a JSON object")
    return data
