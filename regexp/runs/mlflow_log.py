"""logger=mlflow: each finished job folder becomes an MLflow run, and a sweep a parent run.

A job's run holds the flattened resolved config as params, history.csv's columns as
per-epoch metrics (`history/<column>`, evaluated epochs only), metrics.json's numbers as its
final metrics (under their own names), plots/ and metrics.json as artifacts, and tags for
its folder, sweep, job number and `batched` K. `regexp sweep` starts the parent run before
the first job and records it in the sweep folder (mlflow_run.json), where every job, in
whatever process or machine, finds it; the parent ends with the sweep's own files.

The store is $MLFLOW_TRACKING_URI, else an SQLite store (mlflow.db, artifacts in
mlartifacts/) in the outputs root: MLflow 3 refuses its old file store. mlflow is imported
only here, by processes that log. Logging never changes a run's outcome: metrics.json is
written first, and an MLflow error is a warning. A tracking server is asked once, with a
short timeout (PROBE_SECONDS), before a run or sweep logs: one that does not answer is one
warning, and nothing more is logged for the run or sweep (mlflow_run.json says so to its
jobs); the runs go on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shlex
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

from omegaconf import OmegaConf

from regexp.config.output import output_root
from regexp.config.settings import Settings
from regexp.config.values import flatten
from regexp.runs.layout import RunDir, SweepDir, read_yaml, write_json

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from regexp.train.history import History

log = logging.getLogger("regexp")

EXPERIMENT = "regexp"  # unless $MLFLOW_EXPERIMENT_NAME names another
SWEEP_FILES = (
    *("summary.csv", "summary.md", "best.yaml", "report.html"),
    *("summary.png", "curves.png", "parallel.png", "optuna_history.png", "optuna_importance.png"),
)
# MLflow's limits on one log_batch call
MAX_METRICS, MAX_PARAMS, MAX_PARAM_CHARS = 1000, 100, 6000
PROBE_SECONDS = 3.0  # a tracking server's answer to one request, at most
OFF = "off"  # mlflow_run.json's key: why the sweep's store did not answer
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@dataclasses.dataclass(frozen=True)
class Parent:
    """Where a sweep's jobs log: the store, the experiment and the sweep's run."""

    tracking_uri: str
    experiment_id: str
    run_id: str


def tracking_uri() -> str:
    """$MLFLOW_TRACKING_URI, else the SQLite store in the outputs root."""
    given = os.environ.get("MLFLOW_TRACKING_URI")
    if given:
        return given
    return f"sqlite:///{(output_root() / 'mlflow.db').absolute()}"


def _client(uri: str) -> MlflowClient:
    # MLflow's store and alembic announce each table they create: once per new store
    for name in ("mlflow.store.db.utils", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # a server that stops answering mid-sweep: seconds per request, not MLflow's minutes of
    # retries (a user's own settings of these win)
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _experiment(client: MlflowClient) -> str:
    """The experiment's id, created when missing (artifacts beside the local store)."""
    from mlflow.exceptions import MlflowException

    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    local = not os.environ.get("MLFLOW_TRACKING_URI")
    where = (output_root() / "mlartifacts").absolute().as_uri() if local else None
    try:
        return client.create_experiment(name, artifact_location=where)
    except MlflowException:  # another job created it meanwhile
        return client.get_experiment_by_name(name).experiment_id


def unreachable(uri: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why a tracking server does not answer as MLflow's does, in a few words; None when it
    does, or when the store is not a server (sqlite:, file:, ...). Asked once, with a short
    timeout: MLflow's own client retries a dead server for minutes. MLflow answers this
    request with the experiment, or an error of its own (JSON with an error_code)."""
    if urlsplit(uri).scheme not in ("http", "https"):
        return None
    url = f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}"
    try:
        with urlopen(url, timeout=timeout):  # noqa: S310 (the user's own server)
            return None
    except HTTPError as err:
        try:
            mine = "error_code" in json.loads(err.read() or b"{}")
        except (OSError, ValueError, TypeError):
            mine = False
        return None if mine and err.code < 500 else f"HTTP {err.code}, not MLflow's answer"
    except (URLError, OSError, ValueError) as err:  # refused, no route, timed out, bad URL
        return str(getattr(err, "reason", None) or err)


def _saved(sweep: SweepDir | None) -> dict[str, Any] | None:
    """mlflow_run.json of a sweep: its parent run, or why logging is off for the sweep."""
    if sweep is None:
        return None
    try:
        saved = json.loads(sweep.mlflow_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


def _parent(sweep: SweepDir | None) -> Parent | None:
    saved = _saved(sweep)
    try:
        return Parent(saved["tracking_uri"], saved["experiment_id"], saved["run_id"])
    except (KeyError, TypeError):
        return None


def _off(sweep: SweepDir | None) -> bool:
    """Whether the sweep's store did not answer: its jobs log nothing."""
    return bool((_saved(sweep) or {}).get(OFF))


def _turn_off(sweep: SweepDir, uri: str, why: str) -> None:
    """Logging off for the rest of the sweep (its jobs, in whatever process, and its parent
    run's ending), its parent run kept for a later --resume; one warning."""
    log.warning("mlflow: the store %s does not answer (%s): nothing is logged for this sweep; "
                "its runs go on", uri, why)  # fmt: skip
    write_json(sweep.mlflow_file, {**(_saved(sweep) or {"tracking_uri": uri}), OFF: why})


def _label(path: Path) -> str:
    """A run's name in MLflow: the last two parts of its folder (2026-12-05/10-00-00/3)."""
    return "/".join(path.absolute().parts[-3 if path.name.isdigit() else -2 :])


def start_sweep(sweep_dir: Path) -> None:
    """The sweep's parent run, created (or, for a resumed sweep, marked running again) and
    recorded in the sweep folder before its first job."""
    sweep = SweepDir(sweep_dir)
    try:
        saved = _parent(sweep)
        uri = saved.tracking_uri if saved is not None else tracking_uri()
        why = unreachable(uri)
        if why is not None:
            _turn_off(sweep, uri, why)
            return
        if _off(sweep):  # a resumed sweep whose store answers again
            write_json(sweep.mlflow_file, {k: v for k, v in _saved(sweep).items() if k != OFF})
        if saved is not None:
            _client(saved.tracking_uri).update_run(saved.run_id, "RUNNING")
            return
        client = _client(uri)
        experiment = _experiment(client)
        tags = {"regexp.sweep": str(sweep.path.absolute()), "regexp.kind": "sweep"}
        tags["regexp.command"] = shlex.join(["regexp", *sys.argv[1:]])  # the CLI's, as typed
        run = client.create_run(experiment, run_name=_label(sweep.path), tags=tags)
        write_json(sweep.mlflow_file, dataclasses.asdict(Parent(uri, experiment, run.info.run_id)))
    except Exception as err:
        log.warning("mlflow: no parent run for the sweep (%s: %s)", type(err).__name__, err)


def end_sweep(sweep_dir: Path, ok: bool) -> None:
    """Close the sweep's parent run with the sweep's own files (summary, figures, report,
    best.yaml) as its artifacts, and best.yaml's value as its metric `best`."""
    sweep = SweepDir(sweep_dir)
    saved = _parent(sweep)
    if saved is None or _off(sweep):
        return
    try:
        client = _client(saved.tracking_uri)
        for name in SWEEP_FILES:
            if (sweep.path / name).is_file():
                client.log_artifact(saved.run_id, str(sweep.path / name))
        best = _best_value(sweep.path / "best.yaml")
        if best is not None:
            client.log_metric(saved.run_id, "best", best)
        client.set_terminated(saved.run_id, "FINISHED" if ok else "FAILED")
    except Exception as err:
        log.warning("mlflow: sweep's run not closed (%s: %s)", type(err).__name__, err)


def _best_value(path: Path) -> float | None:
    try:
        value = read_yaml(path).get("value")
    except Exception:
        return None
    return float(value) if isinstance(value, int | float) else None


def log_job(out: Path, settings: Settings, metrics: Mapping[str, Any], history: History) -> None:
    """A finished job's folder (metrics.json written) as an MLflow run; a warning, never an
    error, when the store cannot take it. A sweep's job logs nothing once its sweep's store
    did not answer; a run alone asks its store once first."""
    run = RunDir(out)
    sweep = run.sweep()
    if _off(sweep):
        return
    if sweep is None:
        uri = tracking_uri()
        why = unreachable(uri)
        if why is not None:
            log.warning("mlflow: the store %s does not answer (%s): the run is not logged",
                        uri, why)  # fmt: skip
            return
    try:
        _log_job(run, settings, metrics, history)
    except Exception as err:
        log.warning("mlflow: run %s not logged (%s: %s)", out, type(err).__name__, err)
        if sweep is not None:  # its server may have gone away during the sweep
            parent = _parent(sweep)
            uri = parent.tracking_uri if parent is not None else tracking_uri()
            why = unreachable(uri)
            if why is not None:
                _turn_off(sweep, uri, why)


def _log_job(
    run_dir: RunDir, settings: Settings, metrics: Mapping[str, Any], history: History
) -> None:
    from mlflow.entities import Metric, Param

    sweep = run_dir.sweep()
    parent = _parent(sweep)
    client = _client(parent.tracking_uri if parent else tracking_uri())
    experiment = parent.experiment_id if parent else _experiment(client)
    tags = {
        "regexp.folder": str(run_dir.path.absolute()),
        "regexp.status": str(metrics.get("status")),
        "regexp.batched": str(metrics.get("batched", 1)),
        "regexp.kind": "job" if sweep else "run",
    }
    if sweep is not None:
        tags["regexp.sweep"] = str(sweep.path.absolute())
        job = run_dir.job_number()
        tags["regexp.job"] = "" if job is None else str(job)
    if parent is not None:
        tags["mlflow.parentRunId"] = parent.run_id
    start = int(1000 * (time.time() - float(metrics.get("seconds") or 0)))
    run = client.create_run(experiment, start, tags, run_name=_label(run_dir.path))
    run_id = run.info.run_id
    config = flatten(_config(run_dir, settings))
    params = [Param(k, str(v)[:MAX_PARAM_CHARS]) for k, v in config.items()]
    for chunk in _chunks(params, MAX_PARAMS):
        client.log_batch(run_id, params=chunk)
    now = int(time.time() * 1000)
    numbers = [Metric(k, float(v), now, int(metrics.get("epochs") or 0))
               for k, v in final_metrics(metrics).items()]  # fmt: skip
    for chunk in _chunks([*numbers, *_history_metrics(history, now)], MAX_METRICS):
        client.log_batch(run_id, metrics=chunk)
    if run_dir.plots_dir.is_dir():
        client.log_artifacts(run_id, str(run_dir.plots_dir), "plots")
    client.log_artifact(run_id, str(run_dir.metrics_file))
    status = "FINISHED" if metrics.get("status") == "ok" else "FAILED"
    client.set_terminated(run_id, status)


def final_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """metrics.json's finite numbers (the seed is a param, not a metric)."""
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "seed"
        and math.isfinite(v)
    }  # fmt: skip


def _history_metrics(history: History, now: int) -> Iterator[Any]:
    """history/<column> at each epoch it holds a number (validation: evaluated epochs)."""
    from mlflow.entities import Metric

    epochs = [int(e) for e in history["epoch"]]
    for column in history.columns:
        if column == "epoch":
            continue
        for epoch, value in zip(epochs, history[column].tolist()):
            if math.isfinite(value):
                yield Metric(f"history/{column}", value, now, epoch)


def _config(run_dir: RunDir, settings: Settings) -> dict[str, Any]:
    """The job's resolved config (.hydra/config.yaml), else its validated settings."""
    try:
        tree = run_dir.config_tree()
        if isinstance(tree, dict):
            return OmegaConf.to_container(OmegaConf.create(tree), resolve=True)
    except Exception:  # no .hydra/ (hydra.output_subdir=null), or an unresolvable value
        pass
    return dataclasses.asdict(settings)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
