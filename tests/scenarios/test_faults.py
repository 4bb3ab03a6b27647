"""Faults a long sweep meets: a job raising, divergence, kill -9, races, broken folders.

Every test asserts what survives: the other jobs' folders and summary rows, whole files only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from regexp.cli import main
from regexp.read.collect import collect
from regexp.read.summary import summarize
from regexp.runs import write as writer
from regexp.runs.layout import RunDir
from tests.fixtures_runs import make_sweep

TINY = ["hidden_units=[4]", "train.epochs=5", "plots.enabled=false"]
RESULTS = ("metrics.json", "weights.safetensors", "history.csv")


def test_a_job_raising_leaves_every_other_job_and_row(tmp_path, monkeypatch):
    real = writer.save_weights

    def flaky(path, state):
        if path.parent.name == "1":  # job 1 is seed=2
            raise RuntimeError("injected fault in job seed=2")
        return real(path, state)

    monkeypatch.setattr(writer, "save_weights", flaky)
    sweep_dir = tmp_path / "sweep"
    code = main(["sweep", "seed=1,2,3,4", *TINY, f"hydra.sweep.dir={sweep_dir}"])
    assert code == 1  # one job not ok
    status = {
        d.name: json.loads((d / "metrics.json").read_text())
        for d in sweep_dir.iterdir()
        if d.is_dir()
    }
    assert sorted(status) == ["0", "1", "2", "3"]
    assert [status[k]["status"] for k in "0123"] == ["ok", "failed", "ok", "ok"]
    assert status["1"]["error"] == "RuntimeError: injected fault in job seed=2"
    for k in "023":
        assert all((sweep_dir / k / f).is_file() for f in RESULTS)
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert list(summary["seed"]) == [1, 2, 3, 4]
    assert list(summary["status"]) == ["ok", "failed", "ok", "ok"]
    assert summary.loc[summary.status == "ok", "val_mse"].notna().all()


def test_an_absurd_learning_rate_stops_early_as_diverged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["hidden_units=[4]", "optimizer=sgd", "optimizer.lr=1e30", "train.epochs=500"]
    main(["run", *args, "plots.enabled=false", "hydra.run.dir=run"])
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["status"] == "diverged"
    assert m["epochs"] < 10  # stopped at the first non-finite loss, not after 500 epochs
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert len(history) == m["epochs"]


def test_same_config_twice_gives_identical_metrics_and_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["hidden_units=[8,4]", "penalty=l1", "train.epochs=30", "plots.enabled=false"]
    for name in ("a", "b"):
        assert main(["run", *args, "device=cpu", f"hydra.run.dir={name}"]) == 0
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in "ab")
    timing = {"seconds", "train_seconds"}
    assert {k: v for k, v in a.items() if k not in timing} == {
        k: v for k, v in b.items() if k not in timing
    }
    assert (tmp_path / "a/weights.safetensors").read_bytes() == (
        tmp_path / "b/weights.safetensors"
    ).read_bytes()
    assert (tmp_path / "a/history.csv").read_text() == (tmp_path / "b/history.csv").read_text()


def test_compare_lists_broken_folders_and_never_crashes(tmp_path, capsys):
    root = make_sweep(tmp_path / "sweep", [{}, {}, {}, {}, {}, {}])
    (root / "1" / "metrics.json").write_text('{"status": "ok", "val_mse": 0.0')  # cut short
    (root / "2" / "metrics.json").write_bytes(b"\x00\xff\xfe garbage")
    for f in (root / "3").rglob("*"):  # an empty job folder
        if f.is_file():
            f.unlink()
    for d in sorted((root / "3").rglob("*"), reverse=True):
        d.rmdir()
    (root / "4" / "metrics.json").unlink()  # killed: .hydra/ but no metrics
    (root / "4" / ".metrics.json.abc123.tmp").write_text('{"stat')  # a write cut off
    (root / "5" / ".hydra" / "config.yaml").write_text("hidden_units: [2\n  : :")  # bad YAML
    (root / "5" / "metrics.json").write_text("[1, 2, 3]")  # JSON, not an object
    foreign = tmp_path / "other_tool"
    (foreign / "logs").mkdir(parents=True)
    (foreign / "logs" / "events.out").write_text("not ours")
    (foreign / "metrics.json").write_text(json.dumps({"accuracy": 0.9}))  # another tool's
    (tmp_path / "lone").mkdir()

    df = collect([root, foreign, tmp_path / "lone"])
    status = dict(zip(df["path"].map(lambda p: Path(p).name), df["status"]))
    assert status == {
        "0": "ok",
        "1": "corrupt",
        "2": "corrupt",
        "3": "incomplete",
        "4": "incomplete",
        "5": "corrupt",
        "other_tool": "unknown",
        "lone": "unknown",
    }
    assert df["error"].iloc[1:].notna().all()
    table, _ = summarize(root)
    assert list(table["status"]) == [
        "ok",
        "corrupt",
        "corrupt",
        "incomplete",
        "incomplete",
        "corrupt",
    ]
    assert main(["compare", str(root), str(foreign), str(tmp_path / "lone")]) == 0
    out = capsys.readouterr().out
    assert "corrupt" in out and "incomplete" in out and "Traceback" not in out
    assert not any(RunDir(root / k).is_done() for k in "12345")  # a resume reruns each of them


# ---------------------------------------------------------------- processes (slow)

CHILD = r"""
import os, sys, time
from concurrent.futures import Executor, Future
from pathlib import Path
import regexp.system.files as files
pause_on = os.environ.get("PAUSE_ON")  # a result file's name: stop half way through its write
real_open = open

class HalfWriter:
    def __init__(self, f): self.f = f
    def __enter__(self): return self
    def __exit__(self, *exc): return self.f.__exit__(*exc)
    def write(self, raw):
        self.f.write(raw[: len(raw) // 2]); self.f.flush()
        Path(os.environ["MARKER"]).write_text("writing")
        time.sleep(600)
    def __getattr__(self, name): return getattr(self.f, name)

def pausing_open(path, *a, **k):  # write_atomic's open of its temp file
    f = real_open(path, *a, **k)
    return HalfWriter(f) if pause_on and Path(path).name.startswith("." + pause_on) else f

files.open = pausing_open
from regexp.train import engine
real_batches = engine.batches
calls = [0]

def counting_batches(*args):  # a marker once training is 10 epochs in
    calls[0] += 1
    if calls[0] == 10:
        Path(os.environ["MARKER"] + ".training").write_text("epoch 10")
    return real_batches(*args)

engine.batches = counting_batches
from regexp.cli import main
sys.exit(main(["run", *sys.argv[1:]]))
"""


def _start(tmp_path: Path, run_dir: Path, *args: str, pause_on: str = "") -> subprocess.Popen:
    env = dict(os.environ, PAUSE_ON=pause_on, MARKER=str(tmp_path / "marker"))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args, "plots.enabled=false", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "the run ended before the kill"
        assert time.monotonic() < end, f"no {path} after {timeout} s"
        time.sleep(0.05)


def _kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def _assert_incomplete(run_dir: Path) -> None:
    """No metrics.json; any other result file there is whole (it loads)."""
    from safetensors.torch import load_file

    names = {p.name for p in run_dir.iterdir()}
    assert "metrics.json" not in names, names
    if "weights.safetensors" in names:
        assert "layers.0.weight" in load_file(run_dir / "weights.safetensors")
    if "history.csv" in names:
        assert len(pd.read_csv(run_dir / "history.csv")) == 5
    assert collect([run_dir])["status"].tolist() == ["incomplete"]
    assert not RunDir(run_dir).is_done()


@pytest.mark.slow
def test_kill9_mid_training_leaves_an_incomplete_folder(tmp_path):
    run_dir = tmp_path / "run"
    proc = _start(tmp_path, run_dir, "hidden_units=[64,64]", "train.epochs=1000000")
    _wait_for(tmp_path / "marker.training", proc)  # past start-up, into the epochs
    _kill9(proc)
    assert not {p.name for p in run_dir.iterdir()} & set(RESULTS)  # killed before any result
    _assert_incomplete(run_dir)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["weights.safetensors", "metrics.json"])
def test_kill9_during_a_write_leaves_no_partial_result(tmp_path, target):
    run_dir = tmp_path / "run"
    proc = _start(tmp_path, run_dir, *TINY, pause_on=target)
    _wait_for(tmp_path / "marker", proc)  # half of the file's bytes are on disk
    _kill9(proc)
    _assert_incomplete(run_dir)
    temps = [p.name for p in run_dir.iterdir() if p.name.startswith(f".{target}.")]
    assert len(temps) == 1 and temps[0].endswith(".tmp")  # the cut-off write, under a temp name
    # a resume sees the folder as unfinished; compare lists it with the reason
    assert "no metrics.json" in collect([run_dir])["error"].iloc[0]


# One parent imports everything once, then forks 20 runs that wait for the same instant:
# 20 real processes claiming folders together, without paying 20 imports of torch.
FORK_20 = r"""
import os, sys, time
import torch, torch._dynamo  # noqa: F401  (the first optimizer imports dynamo: do it once)
from regexp.config import compose as configure
from regexp.runs import job as experiment
from regexp.runs import layout  # noqa: F401
from regexp.cli import main
start = time.time() + 1.0
pids = []
for seed in range(20):
    pid = os.fork()
    if pid == 0:
        torch.set_num_threads(1)
        while time.time() < start:
            time.sleep(0.001)
        code = 1
        try:
            code = main(["run", *sys.argv[1:], f"seed={seed}"])
        finally:
            os._exit(code)
    pids.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
print(codes)
sys.exit(0 if codes == [0] * 20 else 1)
"""


@pytest.mark.slow
def test_twenty_runs_started_at_once_get_twenty_folders(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", FORK_20, *TINY, "device=cpu"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    folders = sorted(p for p in (tmp_path / "outputs").glob("*/*") if p.is_dir())
    assert len(folders) == 20
    seeds = sorted(json.loads((f / "metrics.json").read_text())["seed"] for f in folders)
    assert seeds == list(range(20))  # one run per folder, none written over by another
    for f in folders:
        overrides = (f / ".hydra" / "overrides.yaml").read_text()
        assert f"seed={json.loads((f / 'metrics.json').read_text())['seed']}" in overrides


def test_a_full_disk_at_the_summary_is_one_line_after_the_table(tmp_path, monkeypatch, capsys):
    """The jobs are written, then the disk is full: the summary table is printed, one line
    says summary.csv could not be written, exit code 1, no traceback."""
    import errno

    from regexp.read import table

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(table, "write_atomic", full)
    sweep_dir = tmp_path / "sweep"
    assert main(["sweep", "seed=1,2", *TINY, f"hydra.sweep.dir={sweep_dir}"]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines()[-1] == (
        f"regexp: error: {sweep_dir}: summary.csv and summary.md cannot be written (No space "
        "left on device); the table above is the sweep's summary"
    )
    assert "Traceback" not in err and "│ ok" in out
    assert [RunDir(sweep_dir / j).status() for j in "01"] == ["ok", "ok"]
    assert not (sweep_dir / "summary.csv").exists()


@pytest.mark.slow
def test_a_disk_that_fills_ends_the_sweep_with_one_line(tmp_path):
    """No file may grow past a few kB (RLIMIT_FSIZE: writes fail as on a full disk): Hydra's
    multirun.yaml is cut short, the sweep stops with one line naming it, no traceback, no
    lines of logging errors."""
    import resource

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (2500, 2500))

    done = subprocess.run([sys.executable, "-m", "regexp", "sweep", "seed=1,2", *TINY,
                           "hydra.sweep.dir=S"], cwd=tmp_path, preexec_fn=small_files,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "regexp: error: the sweep: File too large\n", done.stderr
    assert "2 missing" in done.stdout
