"""Hand-written run and sweep folders for tests (the files a run writes, no training)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

BASE_CONFIG: dict[str, Any] = {
    "hidden_units": [2],
    "activation": "relu",
    "seed": 0,
    "device": "auto",
    "name": "run",
    "task": "regression",
    "data": {"name": "regression", "n_train": 50, "n_val": 1000, "noise": 0.15, "seed": 1},
    "penalty": {"name": "none", "lam": 0.0, "biases": False},
    "optimizer": {"name": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
    "train": {"epochs": 100, "batch_size": None, "eval_every": 1},
    "init": {"mean": 0.0, "stddev": 1.0},
}


def _merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        node = out
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def metrics(val_mse: float | None = 0.03, status: str = "ok", **extra: Any) -> dict[str, Any]:
    m = {
        "status": status,
        "train_mse": None if val_mse is None else val_mse / 2,
        "val_mse": val_mse,
        "train_loss": None if val_mse is None else val_mse / 2 + 0.001,
        "val_loss": None if val_mse is None else val_mse + 0.001,
        "penalty": 0.001,
        "n_params": 7,
        "epochs": 100,
        "seconds": 1.5,
        "device": "cpu",
        "seed": 0,
        "name": "run",
    }
    m.update(extra)
    return m


def make_run(
    folder: Path,
    config: dict[str, Any] | None = None,
    overrides: list[str] | None = None,
    result: dict[str, Any] | None | str = "default",
    plot: bool = False,
) -> Path:
    """A run folder; `config` holds dotted changes to BASE_CONFIG, result=None: no metrics."""
    cfg = _merge(BASE_CONFIG, config or {})
    hydra = folder / ".hydra"
    hydra.mkdir(parents=True)
    (hydra / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (hydra / "overrides.yaml").write_text(yaml.safe_dump(overrides or []))
    (hydra / "hydra.yaml").write_text("hydra:\n  mode: RUN\n")
    if result == "default":
        result = metrics(seed=cfg["seed"], name=cfg["name"])
    if result is not None:
        (folder / "metrics.json").write_text(json.dumps(result))
        (folder / "history.csv").write_text("epoch,train_loss,val_loss\n1,1.0,1.1\n")
    if plot:
        import matplotlib.image

        (folder / "plots").mkdir()
        img = np.zeros((60, 80, 3))
        img[20:40, 20:60] = 1.0
        matplotlib.image.imsave(folder / "plots" / "layers.png", img)
    return folder


def make_sweep(root: Path, jobs: list[dict[str, Any]]) -> Path:
    """A sweep folder: multirun.yaml and job folders 0/, 1/, ... from make_run kwargs."""
    root.mkdir(parents=True)
    (root / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    for i, job in enumerate(jobs):
        make_run(root / str(i), **job)
    return root


def write_history(run: Path, scale: float, epochs: int = 30, every: int = 10) -> None:
    """history.csv as a run writes it: val_mse every `every` epochs, empty between."""
    rows = ["epoch,train_loss,train_mse,val_mse"]
    for e in range(1, epochs + 1):
        val = f"{scale / e:.6g}" if e % every == 0 else ""
        rows.append(f"{e},{scale / e:.6g},{scale / e:.6g},{val}")
    (run / "history.csv").write_text("\n".join(rows) + "\n")
