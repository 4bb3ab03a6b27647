"""An Optuna search end to end, as a user runs it (subprocesses): the study in study.db, a
folder per trial, best.yaml, the Optuna figures, no warning printed; then `--resume` with more
trials runs the trial an interrupt left unfinished again and asks for the rest, leaving the
trials done byte for byte as they were."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

optuna = pytest.importorskip("optuna")

REGEXP = [sys.executable, "-m", "regexp.cli"]
SEARCH = [
    "hydra/sweeper=optuna_lam_lr", "penalty=l2", "hidden_units=[4]", "train.epochs=20",
    "plots.enabled=false", "hydra.sweeper.n_jobs=3",
]  # fmt: skip


def _regexp(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([*REGEXP, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "warn" not in (done.stdout + done.stderr).lower(), done.stderr  # Optuna, SQLAlchemy
    return done


def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _study(sweep: Path) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name="lam_lr", storage=f"sqlite:///{sweep / 'study.db'}")


def _lam(job: Path) -> float:
    overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
    (lam,) = [o.split("=", 1)[1] for o in overrides if o.startswith("penalty.lam=")]
    return float(lam)


@pytest.mark.slow
def test_an_optuna_search_and_its_resume(tmp_path):
    sweep = tmp_path / "opt"
    done = _regexp(
        tmp_path, "sweep", *SEARCH, "hydra.sweeper.n_trials=6", f"hydra.sweep.dir={sweep}"
    )
    study = _study(sweep)
    assert [t.number for t in study.trials] == list(range(6))
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}
    for trial in study.trials:  # a trial's folder is its number
        assert _lam(sweep / str(trial.number)) == trial.params["penalty.lam"]
        metrics = json.loads((sweep / str(trial.number) / "metrics.json").read_text())
        assert metrics["val_mse"] == pytest.approx(trial.value)
        assert metrics["batched"] == 3  # trials 3-5 took the rows 0-2 freed: one program
    assert done.stdout.count("trials as one program") == 1
    best = yaml.safe_load((sweep / "best.yaml").read_text())
    assert best["job"] == study.best_trial.number and best["folder"] == str(best["job"])
    assert best["value"] == pytest.approx(study.best_value) and best["objective"] == "val_mse"
    assert f"penalty.lam={study.best_trial.params['penalty.lam']!r}" in best["overrides"]
    assert f"best: job {best['job']}, val_mse " in done.stdout
    saved = yaml.safe_load((sweep / "multirun.yaml").read_text())["hydra"]
    assert saved["overrides"]["task"][:2] == ["penalty=l2", "hidden_units=[4]"]
    assert saved["sweeper"]["_target_"].endswith("optuna_sweeper.OptunaSweeper")
    for figure in ("optuna_history.png", "optuna_importance.png", "summary.png"):
        assert (sweep / figure).stat().st_size > 1000, figure

    # an interrupted sweep: trial 6 asked, its folder half written, never told
    space = study.trials[0].distributions  # the preset's: lam and lr, each on a log scale
    unfinished = study.ask(space)
    (sweep / "6").mkdir()
    (sweep / "6" / "history.csv").write_text("epoch,train_loss\n1,0.5\n")
    before = {k: _fingerprint(sweep / str(k)) for k in range(6)}

    done = _regexp(tmp_path, "sweep", "--resume", str(sweep), "hydra.sweeper.n_trials=9")
    study = _study(sweep)
    assert [t.number for t in study.trials] == list(range(9))
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}
    assert {k: _fingerprint(sweep / str(k)) for k in range(6)} == before
    assert _lam(sweep / "6") == unfinished.params["penalty.lam"]  # run again in its folder
    assert "epoch,train_loss\n1,0.5\n" != (sweep / "6" / "history.csv").read_text()
    summary = pd.read_csv(sweep / "summary.csv")
    assert list(summary["job"]) == list(range(9)) and set(summary["status"]) == {"ok"}
    assert "(9 of 9 jobs)" in done.stdout
    assert yaml.safe_load((sweep / "best.yaml").read_text())["job"] == study.best_trial.number
