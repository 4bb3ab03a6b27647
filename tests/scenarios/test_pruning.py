"""An Optuna search with a pruner end to end, as a user runs it (subprocesses): through the
batched launcher (a program whose freed rows take new trials) and through Hydra's basic
launcher (one trial at a time, the job reporting to the study itself), the pruned trials
PRUNED in study.db with their folders `status: pruned`, every trial's reports in the study as
its history has them, exit 0; a refilled trial trains as it would alone; Ctrl-C while a
refilled program trains, then `--resume`, ends with every trial told and its folder as its
state says."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

optuna = pytest.importorskip("optuna")

from optuna.trial import TrialState  # noqa: E402

REGEXP = [sys.executable, "-m", "regexp.cli"]
pytestmark = pytest.mark.slow
SEARCH = [
    "hydra/sweeper=optuna_lam_lr", "penalty=l2", "hidden_units=[8]", "plots.enabled=false",
    "hydra.sweeper.pruner.name=successive_halving", "+hydra.sweeper.pruner.min_resource=10",
    "+hydra.sweeper.pruner.reduction_factor=3",
]  # fmt: skip
STATUS = {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned"}


def _regexp(cwd: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([*REGEXP, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == code, done.stderr[-3000:]
    return done


def _study(sweep: Path) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name="lam_lr", storage=f"sqlite:///{sweep / 'study.db'}")


def _metrics(job: Path) -> dict:
    return json.loads((job / "metrics.json").read_text())


def _consistent(sweep: Path, study: optuna.Study, epochs: int) -> None:
    """Each finished trial's folder says its state, its value, its reports: the history's
    val_mse at each evaluated epoch; a pruned one stopped before its last epoch."""
    for trial in study.trials:
        metrics = _metrics(sweep / str(trial.number))
        assert metrics["status"] == STATUS[trial.state], trial.number
        history = pd.read_csv(sweep / str(trial.number) / "history.csv")
        evaluated = history.dropna(subset=["val_mse"])
        reports = dict(zip(evaluated["epoch"].astype(int), evaluated["val_mse"]))
        assert trial.intermediate_values == pytest.approx(reports, rel=1e-6), trial.number
        assert trial.value == pytest.approx(metrics["val_mse"], rel=1e-6)
        if trial.state == TrialState.PRUNED:
            assert metrics["stopped_epoch"] == trial.last_step == metrics["epochs"] < epochs


@pytest.mark.parametrize("launcher", ["batched", "basic"])
def test_a_pruned_search_through_either_launcher(tmp_path, launcher):
    sweep = tmp_path / "s"
    done = _regexp(tmp_path, "sweep", *SEARCH, "train.epochs=300", "hydra.sweeper.n_trials=10",
                   "hydra.sweeper.n_jobs=4", f"hydra/launcher={launcher}",
                   f"hydra.sweep.dir={sweep}")  # fmt: skip
    study = _study(sweep)
    states = [t.state for t in study.trials]
    assert len(states) == 10 and set(states) == {TrialState.COMPLETE, TrialState.PRUNED}
    _consistent(sweep, study, 300)
    pruned = states.count(TrialState.PRUNED)
    assert f"{pruned} of 10 trials pruned" in done.stdout and "not ok" not in done.stdout
    best = study.best_trial.number
    assert f"best: job {best}," in done.stdout
    if launcher == "batched":  # one program of 4 rows, each freed row refilled at once
        assert done.stdout.count("trials as one program") == 1
        assert {_metrics(sweep / str(n))["batched"] for n in range(10)} == {4}


def test_a_refilled_trial_trains_as_it_would_alone(tmp_path):
    """Early stopping frees rows at the trials' own epochs: the trials that take them train
    as the basic launcher trains the same trials one by one (the sampler's first trials are
    random, the same in both), to the same stopped epochs."""
    args = ["hydra/sweeper=optuna_lam_lr", "penalty=l2", "hidden_units=[8]",
            "plots.enabled=false", "train.epochs=200", "train.eval_every=1",
            "train.early_stopping.patience=15", "hydra.sweeper.n_trials=6",
            "hydra.sweeper.n_jobs=3"]  # fmt: skip
    for launcher in ("batched", "basic"):
        _regexp(tmp_path, "sweep", *args, f"hydra/launcher={launcher}",
                f"hydra.sweep.dir={tmp_path / launcher}")  # fmt: skip
    ours = [_metrics(tmp_path / "batched" / str(n)) for n in range(6)]
    alone = [_metrics(tmp_path / "basic" / str(n)) for n in range(6)]
    stops = [m["stopped_epoch"] for m in ours]
    assert len({s for s in stops if s is not None}) > 1  # rows freed at different epochs
    assert stops == [m["stopped_epoch"] for m in alone]
    for a, b in zip(ours, alone):
        assert a["batched"] == 3 and "batched" not in b
        for key in ("train_mse", "val_mse", "penalty"):
            assert a[key] == pytest.approx(b[key], rel=1e-4), key


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_ctrl_c_while_a_refilled_program_trains_then_resume(tmp_path):
    """Ctrl-C once some trials ended: those are written and told, the others stay RUNNING
    without a folder; --resume runs those again in their own folders and asks for the rest,
    leaving the written ones as they were."""
    sweep = tmp_path / "s"
    args = [*SEARCH, "train.epochs=3000", "hydra.sweeper.n_trials=8", "hydra.sweeper.n_jobs=3",
            f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = subprocess.Popen([*REGEXP, "sweep", *args], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    end = time.monotonic() + 300
    while len(list(sweep.glob("*/metrics.json"))) < 2:
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    study = _study(sweep)
    written = {int(p.parent.name) for p in sweep.glob("*/metrics.json")}
    finished = {t.number for t in study.trials if t.state.is_finished()}
    running = {t.number for t in study.trials if t.state == TrialState.RUNNING}
    assert written == finished and len(written) >= 2 and running
    assert not any((sweep / str(n)).exists() for n in running)
    before = {n: _fingerprint(sweep / str(n)) for n in written}

    _regexp(tmp_path, "sweep", "--resume", str(sweep))
    study = _study(sweep)
    assert len(study.trials) == 8 and all(t.state.is_finished() for t in study.trials)
    _consistent(sweep, study, 3000)
    assert {n: _fingerprint(sweep / str(n)) for n in written} == before
    summary = pd.read_csv(sweep / "summary.csv")
    assert list(summary["job"]) == list(range(8))
    assert set(summary["status"]) <= {"ok", "pruned"}
    assert np.isfinite(summary.loc[summary["status"] == "ok", "val_mse"]).all()
