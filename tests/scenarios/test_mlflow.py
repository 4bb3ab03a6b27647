"""logger=mlflow end to end: a sweep over two keys (a batched group of 4) and a single run
logged into a real local MLflow store (SQLite, in the outputs root), read back through
MLflow's own client and compared with each job's folder."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow", reason="pip install 'regexp[mlflow]'")

REGEXP = [sys.executable, "-m", "regexp.cli"]


def _regexp(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["REGEXP_OUTPUTS"] = str(tmp_path / "outputs")
    return subprocess.run([*REGEXP, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def _client(tmp_path: Path):
    from mlflow.tracking import MlflowClient

    store = tmp_path / "outputs" / "mlflow.db"
    assert store.is_file()
    return MlflowClient(tracking_uri=f"sqlite:///{store}")


def _check_job(client, run, folder: Path) -> None:
    """params, per-epoch metrics, final metrics and artifacts against the job's folder."""
    saved = json.loads((folder / "metrics.json").read_text())
    history = pd.read_csv(folder / "history.csv")
    params = run.data.params
    assert params["hidden_units"] == "[4]" and params["train.epochs"] == "30"
    assert params["logger"] == "mlflow" and params["seed"] == str(saved["seed"])
    for column in history.columns.drop("epoch"):
        logged = client.get_metric_history(run.info.run_id, f"history/{column}")
        kept = history[["epoch", column]].dropna()
        assert len(logged) == len(kept), column  # validation: evaluated epochs only
        assert [m.step for m in sorted(logged, key=lambda m: m.step)] == kept["epoch"].tolist()
        by_step = {m.step: m.value for m in logged}
        assert all(by_step[e] == v for e, v in zip(kept["epoch"], kept[column])), column
    for key in ("train_mse", "val_mse", "train_loss", "val_loss", "penalty", "seconds"):
        assert math.isclose(run.data.metrics[key], saved[key], rel_tol=0, abs_tol=1e-12), key
    assert run.data.metrics["n_params"] == saved["n_params"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"metrics.json", "plots"}
    plots = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"history.png", "layers.png"} <= plots
    assert run.info.status == "FINISHED"


@pytest.mark.slow
def test_a_sweep_is_a_parent_run_with_its_jobs_nested(tmp_path):
    done = _regexp(tmp_path, "sweep", "logger=mlflow", "hidden_units=[4]", "train.epochs=30",
                   "penalty=l2", "penalty.lam=0.01,0.001", "optimizer.lr=0.01,0.003")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    client = _client(tmp_path)
    experiment = client.get_experiment_by_name("regexp")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("regexp.kind") == "sweep"]
    assert parent.data.tags["regexp.sweep"] == str(sweep)
    assert parent.info.status == "FINISHED"
    jobs = [r for r in runs if r.data.tags.get("regexp.kind") == "job"]
    assert sorted(int(r.data.tags["regexp.job"]) for r in jobs) == [0, 1, 2, 3]
    for run in jobs:
        tags = run.data.tags
        assert tags["mlflow.parentRunId"] == parent.info.run_id
        assert tags["regexp.sweep"] == str(sweep)
        assert tags["regexp.batched"] == "4"  # the four jobs trained as one program
        folder = sweep / tags["regexp.job"]
        assert tags["regexp.folder"] == str(folder)
        _check_job(client, run, folder)
    # the sweep's own files end up on its parent run
    files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"summary.csv", "summary.png", "curves.png", "parallel.png", "report.html",
            "best.yaml"} <= files  # fmt: skip
    best = client.get_run(parent.info.run_id).data.metrics["best"]
    vals = [json.loads((sweep / str(j) / "metrics.json").read_text())["val_mse"] for j in range(4)]
    assert best == min(vals)


@pytest.mark.slow
def test_a_single_run_is_a_run_of_its_own(tmp_path):
    done = _regexp(tmp_path, "run", "logger=mlflow", "hidden_units=[4]", "train.epochs=30")
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "outputs").glob("20*/*")
    client = _client(tmp_path)
    (run,) = client.search_runs([client.get_experiment_by_name("regexp").experiment_id])
    assert run.data.tags["regexp.kind"] == "run" and "mlflow.parentRunId" not in run.data.tags
    assert run.data.tags["regexp.batched"] == "1"
    _check_job(client, run, folder)


def _closed_port() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.slow
@pytest.mark.parametrize("verb", [["run"], ["sweep", "seed=1,2,3"]])
def test_a_dead_server_costs_one_warning_and_the_runs_go_on(tmp_path, verb):
    """A 5-epoch run (or a 3-job sweep) with an unreachable MLFLOW_TRACKING_URI ends ok with
    one warning, its folders as without a logger (MLflow's own client would retry for
    minutes: the subprocess's timeout stands for that)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(REGEXP_OUTPUTS=str(tmp_path / "outputs"), MLFLOW_TRACKING_URI=_closed_port())
    done = subprocess.run([*REGEXP, *verb, "logger=mlflow", "train.epochs=5", "hidden_units=[4]"],
                          cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = [line for line in (done.stdout + done.stderr).splitlines() if "mlflow" in line]
    assert len(said) == 1 and "does not answer ([Errno 111] Connection refused)" in said[0], said
    runs = list((tmp_path / "outputs").rglob("metrics.json"))
    assert len(runs) == (1 if verb == ["run"] else 3)
    assert all(json.loads(p.read_text())["status"] == "ok" for p in runs)
    assert not (tmp_path / "outputs" / "mlflow.db").exists()
