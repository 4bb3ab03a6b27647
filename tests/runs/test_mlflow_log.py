"""regexp.runs.mlflow_log without a sweep: which numbers are final metrics, where the local
store goes, and a store that cannot be reached costing the run nothing but a warning
(tests/scenarios/test_mlflow.py logs real sweeps into a real store)."""

from __future__ import annotations

import logging

import pytest

from regexp.runs import mlflow_log
from regexp.runs.mlflow_log import final_metrics, tracking_uri

pytest.importorskip("mlflow", reason="pip install 'regexp[mlflow]'")


def test_final_metrics_are_the_finite_numbers_but_the_seed():
    metrics = {"status": "ok", "val_mse": 0.02, "n_params": 7, "seed": 3, "batched": 4,
               "train_mse": float("nan"), "figures": "not drawn", "compiled": True,
               "made_by": {"host": "x"}}  # fmt: skip
    assert final_metrics(metrics) == {"val_mse": 0.02, "n_params": 7.0, "batched": 4.0}


def test_the_store_is_the_users_or_sqlite_in_the_outputs_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("REGEXP_OUTPUTS", str(tmp_path / "out"))
    assert tracking_uri() == f"sqlite:///{tmp_path / 'out' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri() == "http://127.0.0.1:5000"


def test_a_store_that_cannot_take_the_run_is_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://nowhere")
    (tmp_path / "metrics.json").write_text('{"status": "ok"}')
    with caplog.at_level(logging.WARNING, logger="regexp"):
        mlflow_log.log_job(tmp_path, None, {"status": "ok"}, None)  # never raises
    assert f"mlflow: run {tmp_path} not logged" in caplog.text
    assert (tmp_path / "metrics.json").read_text() == '{"status": "ok"}'
