"""regexp.read.ending_process: a sweep's ending in a process of its own writes what the ending
in the sweep's process writes and returns its code; one that died leaves the ending to the
caller (None); one never asked is killed at close, not waited for; and the process is only
started where it gains (here, in a test's process with the ending's modules loaded, never)."""

from __future__ import annotations

import io
import signal

import pandas as pd
import pytest
from rich.console import Console

from regexp.read import ending_process
from regexp.read.ending_process import EndingProcess, start_ending
from regexp.read.summary import end_sweep
from tests.fixtures_runs import make_sweep, metrics


def _sweep(root):
    return make_sweep(root, [
        dict(config={"seed": 1}, overrides=["seed=1"], result=metrics(0.05, seed=1)),
        dict(config={"seed": 2}, overrides=["seed=2"], result=metrics(0.04, seed=2)),
        dict(config={"seed": 3}, overrides=["seed=3"], result=None),
    ])  # fmt: skip


def test_the_ending_process_writes_what_the_ending_here_writes(tmp_path, capfd):
    there, here = _sweep(tmp_path / "there"), _sweep(tmp_path / "here")
    with EndingProcess() as ending:
        code = ending.end(there, 3, None, False)
    assert code == 1  # job 2 has no metrics: as the ending here says
    assert end_sweep(here, 3, Console(file=io.StringIO())) == 1
    ours, theirs = (pd.read_csv(p / "summary.csv") for p in (there, here))
    pd.testing.assert_frame_equal(ours.drop(columns="path", errors="ignore"),
                                  theirs.drop(columns="path", errors="ignore"))  # fmt: skip
    for name in ("summary.md", "summary.png", "report.html"):
        assert (there / name).is_file(), name
    out = capfd.readouterr().out  # printed by the ending's process, to the same stdout
    assert f"sweep {there}" in out and "1 job(s) not ok" in out


def test_an_ending_process_that_died_leaves_the_ending_to_the_caller(tmp_path):
    sweep = _sweep(tmp_path / "s")
    ending = EndingProcess()
    ending.process.kill()
    ending.process.join()
    assert ending.end(sweep, 3, None, False) is None
    ending.close()
    assert not (sweep / "summary.csv").exists()


def test_an_ending_process_never_asked_is_killed_at_close():
    ending = EndingProcess()
    ending.close()  # still importing pandas and matplotlib: killed, not waited for
    assert ending.process.exitcode == -signal.SIGKILL and not ending.process.is_alive()


def test_an_error_of_the_ending_is_raised_in_the_sweeps_process(tmp_path):
    with EndingProcess() as ending, pytest.raises(TypeError):
        ending.end(tmp_path, "three", None, False)  # type: ignore[arg-type]


def test_no_ending_process_where_the_ending_modules_are_loaded_or_one_core(monkeypatch):
    assert ending_process.ENDING_MODULE == end_sweep.__module__
    assert start_ending() is None  # this test's process has loaded them
    monkeypatch.delitem(__import__("sys").modules, ending_process.ENDING_MODULE)
    monkeypatch.setattr(ending_process, "cpu_count", lambda: 1)
    assert start_ending() is None
    monkeypatch.setattr(ending_process, "cpu_count", lambda: 2)
    started = start_ending()
    assert isinstance(started, EndingProcess)
    started.close()
