"""regexp.runs.mlflow_log without a sweep: which numbers are final metrics, where the local
store goes, and a store that cannot be reached costing the run nothing but a warning
(tests/scenarios/test_mlflow.py logs real sweeps into a real store)."""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import os
import socket
import threading

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


@contextlib.contextmanager
def _server(status: int | None, body: bytes = b""):
    """A local HTTP server answering every GET with status and body (None: accepts the
    connection and never answers); yields its URL."""
    if status is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            sock.close()
        return

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


MLFLOW_404 = b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no experiment"}'


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, b'{"experiment": {}}', None),
        (404, MLFLOW_404, None),  # MLflow's answer: no such experiment yet
        (404, b"not found", "HTTP 404, not MLflow's answer"),
        (503, b"", "HTTP 503, not MLflow's answer"),
        (None, b"", "timed out"),
    ],
)
def test_a_server_is_asked_once_and_answers_as_mlflow_or_does_not(status, body, why):
    with _server(status, body) as url:
        assert mlflow_log.unreachable(url, timeout=0.5) == why


def test_a_closed_port_or_a_local_store_is_known_at_once():
    assert "Connection refused" in mlflow_log.unreachable(_closed_port())
    assert mlflow_log.unreachable("sqlite:////nowhere/mlflow.db") is None
    assert mlflow_log.unreachable("file:///nowhere") is None


def _no_client(uri):
    raise AssertionError("no MLflow client for a store that does not answer")


def test_a_run_with_a_dead_server_warns_once_and_is_not_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", _closed_port())
    monkeypatch.setattr(mlflow_log, "_client", _no_client)
    (tmp_path / "metrics.json").write_text('{"status": "ok"}')
    with caplog.at_level(logging.WARNING, logger="regexp"):
        mlflow_log.log_job(tmp_path, None, {"status": "ok"}, None)
    assert [r.getMessage() for r in caplog.records] == [
        f"mlflow: the store {os.environ['MLFLOW_TRACKING_URI']} does not answer ([Errno 111] "
        "Connection refused): the run is not logged"
    ]
    assert (tmp_path / "metrics.json").read_text() == '{"status": "ok"}'


def test_a_sweep_with_a_dead_server_warns_once_and_its_jobs_log_nothing(
    tmp_path, monkeypatch, caplog
):
    uri = _closed_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setattr(mlflow_log, "_client", _no_client)
    sweep = tmp_path / "sweep"
    for job in ("0", "1"):
        (sweep / job).mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    with caplog.at_level(logging.WARNING, logger="regexp"):
        mlflow_log.start_sweep(sweep)
        for job in ("0", "1"):
            mlflow_log.log_job(sweep / job, None, {"status": "ok"}, None)
        mlflow_log.end_sweep(sweep, ok=True)
    assert len(caplog.records) == 1 and "nothing is logged for this sweep" in caplog.text
    saved = json.loads((sweep / "mlflow_run.json").read_text())
    assert saved == {"tracking_uri": uri, "off": "[Errno 111] Connection refused"}


def test_a_server_that_goes_away_mid_sweep_turns_logging_off(tmp_path, monkeypatch, caplog):
    """A job's logging fails and the server no longer answers: the sweep's later jobs skip."""
    uri = _closed_port()
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    parent = {"tracking_uri": uri, "experiment_id": "1", "run_id": "abc"}
    (sweep / "mlflow_run.json").write_text(json.dumps(parent))

    def failing(*args):
        raise ConnectionError("the server went away")

    monkeypatch.setattr(mlflow_log, "_log_job", failing)
    with caplog.at_level(logging.WARNING, logger="regexp"):
        mlflow_log.log_job(sweep / "0", None, {"status": "ok"}, None)
        mlflow_log.log_job(sweep / "0", None, {"status": "ok"}, None)  # off: not even tried
    assert len(caplog.records) == 2 and "does not answer" in caplog.records[1].getMessage()
    saved = json.loads((sweep / "mlflow_run.json").read_text())
    assert saved == {**parent, "off": "[Errno 111] Connection refused"}
