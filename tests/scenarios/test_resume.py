"""`regexp sweep --resume`: ok folders untouched byte for byte, every other job run again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from regexp.cli import main
from regexp.runs.layout import RunDir
from regexp.runs.resume import relaunch_overrides

TINY = ["hidden_units=[4]", "train.epochs=5", "plots.enabled=false"]


def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under folder: (sha256, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _status(job_dir: Path) -> str:
    return json.loads((job_dir / "metrics.json").read_text())["status"]


@pytest.fixture
def broken_sweep(tmp_path: Path) -> Path:
    """Five jobs after a bad night: 0 ok, 1 failed, 2 killed mid-write, 3 empty, 4 missing."""
    sweep_dir = tmp_path / "sweep"
    assert main(["sweep", "seed=1,2,3,4,5", *TINY, f"hydra.sweep.dir={sweep_dir}"]) == 0
    failed = json.loads((sweep_dir / "1" / "metrics.json").read_text())
    failed.update(status="failed", error="RuntimeError: out of memory", val_mse=None)
    (sweep_dir / "1" / "metrics.json").write_text(json.dumps(failed))
    (sweep_dir / "2" / "metrics.json").rename(sweep_dir / "2" / ".metrics.json.x1y2.tmp")
    for f in (sweep_dir / "3").rglob("*"):
        if f.is_file():
            f.unlink()
    for f in (sweep_dir / "4").rglob("*"):
        if f.is_file():
            f.unlink()
    for d in sorted((sweep_dir / "4").rglob("*"), reverse=True):
        d.rmdir()
    (sweep_dir / "4").rmdir()
    return sweep_dir


def test_resume_reruns_all_but_ok_jobs_and_leaves_ok_folders_intact(broken_sweep):
    before = _fingerprint(broken_sweep / "0")
    assert main(["sweep", "--resume", str(broken_sweep)]) == 0
    assert _fingerprint(broken_sweep / "0") == before  # not a byte (nor an mtime) changed
    for k in "01234":
        assert RunDir(broken_sweep / k).is_done() and _status(broken_sweep / k) == "ok"
    assert not list((broken_sweep / "2").glob(".*.tmp"))  # the unfinished folder was cleaned
    summary = pd.read_csv(broken_sweep / "summary.csv")
    assert list(summary["seed"]) == [1, 2, 3, 4, 5]  # each job back in its own folder
    assert list(summary["status"]) == ["ok"] * 5
    for k, seed in zip("01234", range(1, 6)):
        overrides = (broken_sweep / k / ".hydra" / "overrides.yaml").read_text()
        assert f"seed={seed}" in overrides


def test_resume_of_a_finished_sweep_runs_nothing(tmp_path):
    sweep_dir = tmp_path / "sweep"
    assert main(["sweep", "seed=1,2", *TINY, f"hydra.sweep.dir={sweep_dir}"]) == 0
    before = {k: _fingerprint(sweep_dir / k) for k in "01"}
    assert main(["sweep", f"--resume={sweep_dir}"]) == 0
    assert {k: _fingerprint(sweep_dir / k) for k in "01"} == before


def test_relaunch_keeps_the_jobs_and_lets_hydra_keys_change(tmp_path):
    sweep_dir = tmp_path / "s"
    sweep_dir.mkdir()
    (sweep_dir / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    hydra: [hydra.sweep.dir=old, hydra.mode=MULTIRUN, "
        "hydra/launcher=batched]\n    task: ['seed=1,2', 'hidden_units=[4]']\n"
    )
    got = relaunch_overrides(sweep_dir, ["hydra/launcher=joblib"])
    assert got == [
        "seed=1,2",
        "hidden_units=[4]",
        "hydra/launcher=joblib",
        "hydra/sweeper=resume",
        f"hydra.sweep.dir={sweep_dir}",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume", "{d}/nowhere"], "--resume: no sweep in"),
        (["--resume"], "--resume: give the sweep folder"),
        (["--resume", "{d}", "seed=7"], "--resume: seed: a resumed sweep keeps its jobs"),
    ],
)
def test_bad_resume_gets_one_line(tmp_path, capsys, args, message):
    (tmp_path / "multirun.yaml").write_text("hydra: {overrides: {hydra: [], task: [seed=1]}}\n")
    assert main(["sweep", *(a.format(d=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regexp: error: ") and message in err and err.count("\n") == 1
