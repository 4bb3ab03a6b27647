"""A sweep's launcher settings, checked before any folder is made: the values its plugin
would refuse only once the sweep has started (with a traceback), or would take silently.
One function per launcher class, by the class its config names (hydra.launcher._target_).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from importlib.util import find_spec
from typing import Any

from omegaconf import DictConfig, OmegaConf

from regexp.config.errors import ConfigError, UsageError

# hydra_plugins.regexp_launcher.dispatch.DISPATCHES (tests/config/test_launchers.py: equal)
DISPATCHES = ("local", "submitit", "ray")


def _count(conf: Mapping, key: str, low: int = 1, optional: bool = False) -> None:
    """ConfigError unless conf[key] is an integer >= low (or None, where optional)."""
    value = conf.get(key)
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"hydra.launcher.{key}", f"must be an integer >= {low}, got {value!r}")


def _slurm(choice: str) -> None:
    """UsageError where this machine has no SLURM to submit to."""
    if shutil.which("srun") is None or shutil.which("sbatch") is None:
        raise UsageError(
            f"hydra/launcher={choice}: no SLURM here (no srun or sbatch on PATH); run the sweep "
            "on the cluster's login node, or pick a local launcher such as submitit_local"
        )


def _batched(conf: Mapping, choice: str) -> None:
    memory = conf.get("memory_mb")
    if isinstance(memory, bool) or not isinstance(memory, int | float) or not memory > 0:
        raise ConfigError("hydra.launcher.memory_mb", f"must be a number > 0, got {memory!r}")
    for key in ("max_group", "min_group", "max_params"):
        _count(conf, key)
    dispatch = conf.get("dispatch")
    if dispatch not in DISPATCHES:
        allowed = ", ".join(DISPATCHES)
        raise ConfigError("hydra.launcher.dispatch", f"must be one of {allowed}, got {dispatch!r}")
    if dispatch != "local" and find_spec(dispatch) is None:
        raise UsageError(f"hydra.launcher.dispatch={dispatch} needs its package: pip install "
                         f"{dispatch}")  # fmt: skip
    if dispatch == "submitit" and (conf.get("submitit") or {}).get("cluster") == "slurm":
        _slurm(choice)


def _joblib(conf: Mapping, choice: str) -> None:
    n_jobs = conf.get("n_jobs")
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0
    ):
        raise ConfigError(
            "hydra.launcher.n_jobs", f"must be a number of processes other than 0 (-1: one per "
            f"core), got {n_jobs!r}"
        )  # fmt: skip


def _submitit(conf: Mapping, choice: str) -> None:
    _count(conf, "timeout_min")
    for key in ("cpus_per_task", "tasks_per_node", "nodes"):
        _count(conf, key, optional=True)
    _count(conf, "gpus_per_node", low=0, optional=True)
    if str(conf.get("_target_", "")).endswith("SlurmLauncher"):
        _slurm(choice)


CHECKS = {
    "BatchedLauncher": _batched,
    "JoblibLauncher": _joblib,
    "SlurmLauncher": _submitit,
    "LocalLauncher": _submitit,
}


def check_launcher(launcher: DictConfig | Mapping, choice: str | None = None) -> None:
    """ConfigError naming the key, or UsageError naming the launcher (choice: its
    hydra/launcher option), for settings its plugin would refuse once the sweep has begun."""
    conf: Any = launcher
    if isinstance(launcher, DictConfig):
        conf = OmegaConf.to_container(launcher, resolve=False)
    check = CHECKS.get(str(conf.get("_target_", "")).rsplit(".", 1)[-1])
    if check is not None:
        check(conf, choice or str(conf.get("_target_")))
