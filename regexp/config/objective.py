"""A run's objective: the number Hydra's optimizing sweepers (Optuna, Nevergrad, Ax) get back
from each job. The config key `objective` names a metrics.json key; `auto` means val_mse, or
val_accuracy (maximised) for classification."""

from __future__ import annotations

import math
from collections.abc import Mapping

from omegaconf import OmegaConf

# metrics.json's numbers an objective may name
METRICS = ("train_mse", "val_mse", "train_loss", "val_loss", "penalty")
ACCURACY = ("train_accuracy", "val_accuracy")


def metric(objective: str, task: str) -> str:
    """The metrics.json key that `objective` names for a data set of this task."""
    if objective == "auto":
        return "val_accuracy" if task == "classification" else "val_mse"
    return objective


def direction(objective: str, task: str) -> str:
    """minimize, or maximize for an accuracy (the word Optuna's and Nevergrad's sweepers take)."""
    return "maximize" if metric(objective, task) in ACCURACY else "minimize"


def value(metrics: Mapping, key: str) -> float:
    """The job's objective; NaN when the run failed or diverged (a failed trial to Optuna)."""
    number = metrics.get(key)
    if metrics.get("status") != "ok" or not isinstance(number, int | float):
        return math.nan
    return float(number) if math.isfinite(number) else math.nan


def of_job(objective: str | None, metrics: Mapping) -> float:
    """A job's value for its sweeper: value() of its objective's metric; NaN for a job whose
    settings did not validate (objective None)."""
    return value(metrics, objective) if objective is not None else math.nan


def register_resolvers() -> None:
    """${regexp_direction:${objective},${data.task}} for sweeper presets (conf/hydra/sweeper)."""

    OmegaConf.register_new_resolver("regexp_direction", direction, replace=True)
