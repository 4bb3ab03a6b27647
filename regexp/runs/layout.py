"""Run and sweep folders: their layout (RunDir, SweepDir own the file names), written
atomically (regexp.system.files).

Everything outside this module asks a RunDir for its files, status and whether it is done,
so compare, resume, the notebook table and the launchers never spell the layout themselves.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from regexp.system.files import write_atomic

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
HYDRA = ".hydra"  # Hydra's output_subdir: config.yaml, hydra.yaml, overrides.yaml
MULTIRUN = "multirun.yaml"  # Hydra writes it into a sweep folder before the first job
MLFLOW_RUN = "mlflow_run.json"  # logger=mlflow: the store and parent run of a sweep's jobs
STUDY = "study.db"  # an Optuna sweep's study (SQLite), in its sweep folder
BEST = "best.yaml"  # a sweep's best run by its objective, written at its ending
REUSED = "reused_from"  # metrics.json of a job filled from the store: where it was trained
# what the runner writes into metrics.json; "pruned": an Optuna search's pruner stopped the job
# (a trial cut short on purpose: finished, not a failure)
STATUSES = ("ok", "pruned", "diverged", "failed")
DONE = ("ok", "pruned")  # finished as asked: a resumed sweep never runs them again
# metrics.json's "figures" of a trained job until its figures are drawn: an interrupted sweep
# leaves it, and its resume draws them
NOT_DRAWN = "not drawn yet: if the sweep was stopped, regexp sweep --resume draws them"
PLOTS = "plots"
FIT = "fit.npz"  # in plots/ of a 1-D run: its fitted function and points, for summary.png
# the figure that shows a run best, first found (a report's thumbnail)
MAIN_FIGURES = ("layers.png", "decision_boundary.png", "history.png")


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
    return RunDir(run_dir).metrics()


def read_yaml(path: Path | str) -> Any:
    """A YAML file's tree, with libyaml's loader when present (much faster on big trees)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=loader)  # noqa: S506 (a safe loader)
    except UnicodeDecodeError as err:  # binary garbage: as unreadable as broken YAML
        raise yaml.YAMLError(f"not UTF-8 text ({err.reason})") from None


@dataclass(frozen=True)
class RunDir:
    """One run's folder: Hydra's .hydra/ files, metrics.json (written last), history.csv, the
    weights and plots/. metrics.json's presence marks the run finished, its status says how."""

    path: Path

    def __init__(self, path: Path | str) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def hydra_dir(self) -> Path:
        return self.path / HYDRA

    @property
    def config_file(self) -> Path:
        return self.hydra_dir / "config.yaml"

    @property
    def hydra_file(self) -> Path:
        return self.hydra_dir / "hydra.yaml"

    @property
    def overrides_file(self) -> Path:
        return self.hydra_dir / "overrides.yaml"

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS

    @property
    def history_file(self) -> Path:
        return self.path / HISTORY

    @property
    def weights_file(self) -> Path:
        return self.path / WEIGHTS

    @property
    def plots_dir(self) -> Path:
        return self.path / PLOTS

    @property
    def fit_file(self) -> Path:
        return self.plots_dir / FIT

    def main_figure(self) -> Path | None:
        """The figure that shows the run best (MAIN_FIGURES), None when it has none."""
        for name in MAIN_FIGURES:
            if (self.plots_dir / name).is_file():
                return self.plots_dir / name
        return None

    def looks_like_run(self) -> bool:
        """Hydra's .hydra/ or a metrics.json: a run folder, finished or not."""
        return self.hydra_dir.is_dir() or self.metrics_file.is_file()

    def has_weights(self) -> bool:
        return self.weights_file.is_file()

    def metrics(self) -> dict:
        """metrics.json; raises FileNotFoundError or ValueError when absent or corrupt."""
        with open(self.metrics_file) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("metrics.json is not a JSON object")
        return data

    def write_metrics(self, metrics: dict) -> None:
        """Write metrics.json, atomically; write it last: it marks the run finished."""
        write_json(self.metrics_file, metrics)

    def status(self) -> str | None:
        """ok, pruned, diverged or failed from metrics.json; None while it is absent or
        unreadable."""
        try:
            status = self.metrics().get("status")
        except (OSError, ValueError):
            return None
        return status if status in STATUSES else None

    def is_done(self) -> bool:
        """Finished with status ok (or pruned) and its weights written: nothing left to run
        again."""
        return self.status() in DONE and self.has_weights()

    def figures_missing(self) -> bool:
        """Finished, but its figures were not drawn (an interrupted sweep)."""
        try:
            return self.metrics().get("figures") == NOT_DRAWN
        except (OSError, ValueError):
            return False

    def config_tree(self) -> Any:
        """.hydra/config.yaml as plain containers (raises OSError or yaml.YAMLError)."""
        return read_yaml(self.config_file)

    def overrides(self) -> Any:
        """.hydra/overrides.yaml: the job's task overrides (raises OSError, yaml.YAMLError)."""
        return read_yaml(self.overrides_file)

    def job_num(self) -> int | None:
        """hydra.job.num from .hydra/hydra.yaml, when readable."""
        try:
            num = read_yaml(self.hydra_file)["hydra"]["job"]["num"]
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            return None
        return num if isinstance(num, int) else None

    def sweep(self) -> SweepDir | None:
        """The sweep this run is a job of (the folder above it holds multirun.yaml), else None."""
        parent = SweepDir(self.path.parent)
        return parent if parent.is_sweep() else None

    def job_number(self) -> int | None:
        """The job number of a sweep's job folder: its name, else hydra.yaml's hydra.job.num;
        None for a run that is no sweep's job."""
        if self.path.name.isdigit():
            return int(self.path.name)
        return self.job_num() if self.sweep() is not None else None


@dataclass(frozen=True)
class SweepDir:
    """A sweep's folder: multirun.yaml (the sweep's overrides), job folders, the summary."""

    path: Path

    def __init__(self, path: Path | str) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def multirun_file(self) -> Path:
        return self.path / MULTIRUN

    @property
    def mlflow_file(self) -> Path:
        return self.path / MLFLOW_RUN

    @property
    def study_file(self) -> Path:
        return self.path / STUDY

    @property
    def best_file(self) -> Path:
        return self.path / BEST

    def is_sweep(self) -> bool:
        return self.multirun_file.is_file()

    def job(self, subdir: str | int) -> RunDir:
        return RunDir(self.path / str(subdir))

    def overrides(self) -> tuple[list[str], list[str]]:
        """(task overrides, hydra overrides) of the sweep's first launch, from multirun.yaml.
        Raises OSError, KeyError, TypeError or yaml.YAMLError when absent or unreadable."""
        saved = read_yaml(self.multirun_file)["hydra"]["overrides"]
        return list(saved["task"]), list(saved["hydra"])

    def sweeper_target(self) -> str | None:
        """The class of the sweeper that wrote multirun.yaml (hydra.sweeper._target_), when
        it says. Raises as overrides() does."""
        hydra = read_yaml(self.multirun_file)["hydra"]
        sweeper = hydra.get("sweeper") if isinstance(hydra, dict) else None
        target = sweeper.get("_target_") if isinstance(sweeper, dict) else None
        return str(target) if target else None
