"""Ctrl-C and SIGTERM during a sweep: trained jobs keep `ok` and their metrics (figures not
drawn are said so in metrics.json), the summary lists every job with every swept column, the
exit code is 130 / 143, and `--resume` draws what is missing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from regexp.runs.layout import NOT_DRAWN

REGEXP = [sys.executable, "-m", "regexp.cli"]
pytestmark = pytest.mark.slow


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*REGEXP, "sweep", *args, "hydra.sweep.dir=s"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def _metrics(sweep: Path) -> dict[int, dict]:
    return {int(p.parent.name): json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")}


def test_sigterm_while_figures_are_drawn_keeps_the_trained_jobs(tmp_path):
    sweep = tmp_path / "s"
    proc = _start(tmp_path, "seed=range(0,48)", "hidden_units=[8]", "train.epochs=30")
    _wait_for(lambda: len(list(sweep.glob("*/metrics.json"))) >= 3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "regexp: terminated" in err
    before = _metrics(sweep)
    assert {m["status"] for m in before.values()} == {"ok"}  # none marked failed
    table = pd.read_csv(sweep / "summary.csv")
    assert table["seed"].tolist() == list(range(48))  # every job, with its swept value
    done = table["status"] == "ok"
    assert set(table.loc[~done, "status"]) <= {"incomplete", "missing"}
    assert table.loc[done, "val_mse"].notna().all()
    resumed = subprocess.run(
        [*REGEXP, "sweep", "--resume", "s"], cwd=tmp_path, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = _metrics(sweep)
    assert len(after) == 48 and {m["status"] for m in after.values()} == {"ok"}
    assert not any(m.get("figures") == NOT_DRAWN for m in after.values())
    assert all((sweep / str(i) / "plots" / "layers.png").is_file() for i in range(48))
    for i, m in before.items():  # the resume drew figures; it did not train again
        assert after[i]["val_mse"] == m["val_mse"] and after[i]["seconds"] == m["seconds"]


def test_ctrl_c_while_a_group_trains_lists_every_job_in_the_summary(tmp_path):
    sweep = tmp_path / "s"
    proc = _start(
        tmp_path, "seed=1,2,3", "hidden_units=[4],[8]", "train.epochs=200000",
        "plots.enabled=false",
    )  # fmt: skip
    _wait_for(lambda: (sweep / "multirun.yaml").is_file())
    time.sleep(3)  # importing torch, then training the first group
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "regexp: interrupted" in err
    table = pd.read_csv(sweep / "summary.csv")
    assert table["seed"].tolist() == [1, 1, 2, 2, 3, 3]  # Hydra's order of the jobs
    assert table["hidden_units"].tolist() == ["[4]", "[8]"] * 3
    assert set(table["status"]) <= {"missing", "incomplete"}
    assert "6 missing" in out or "not ok" in out


def test_sigterm_during_the_ending_still_writes_the_summary(tmp_path):
    """Every job ok, then SIGTERM as the sweep's ending reads them: summary.csv lists every
    job, and the exit code says the sweep was stopped."""
    sweep = tmp_path / "s"
    proc = _start(tmp_path, "seed=range(0,8)", "hidden_units=[4]", "train.epochs=5",
                  "plots.enabled=false")  # fmt: skip
    _wait_for(lambda: len(list(sweep.glob("*/metrics.json"))) == 8, seconds=180)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err
    table = pd.read_csv(sweep / "summary.csv")
    assert table["seed"].tolist() == list(range(8)) and set(table["status"]) == {"ok"}


def test_a_closed_stdout_never_stops_a_sweep(tmp_path):
    """`regexp sweep ... | head -2`: every job is trained and ok on disk, the summary
    written, exit code 0, and no logging errors on stderr."""
    shell = (
        f"{sys.executable} -m regexp.cli sweep 'seed=1,2,3' 'hidden_units=[4]' "
        "train.epochs=20 hydra.sweep.dir=s 2>err.txt | head -2; exit ${PIPESTATUS[0]}"
    )
    done = subprocess.run(["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    err = (tmp_path / "err.txt").read_text()
    assert done.returncode == 0, err[-2000:]
    assert len(done.stdout.splitlines()) == 2
    assert "Error" not in err and "Traceback" not in err, err[-2000:]
    assert {m["status"] for m in _metrics(tmp_path / "s").values()} == {"ok"}
    assert len(_metrics(tmp_path / "s")) == 3
    assert pd.read_csv(tmp_path / "s" / "summary.csv")["status"].tolist() == ["ok"] * 3
