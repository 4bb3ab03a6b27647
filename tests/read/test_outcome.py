"""regexp.read.outcome: what a sweep's ending adds beside its summary (hand-made folders, no
training): best.yaml for every sweep, the Optuna figures where the folder holds a study."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from regexp.read.collect import read_sweep
from regexp.read.outcome import write_outcome
from tests.fixtures_runs import make_sweep, metrics


def _sweep(tmp_path, n: int):
    jobs = [
        dict(config={"penalty.lam": lam, "optimizer.lr": lr}, overrides=[f"penalty.lam={lam}"],
             result=metrics(lam + lr))
        for lam, lr in [(10.0**-k, 0.01 * k) for k in range(1, n + 1)]
    ]  # fmt: skip
    return make_sweep(tmp_path / "s", jobs)


def _outcome(sweep) -> str:
    buf = io.StringIO()
    write_outcome(sweep, read_sweep(sweep), Console(file=buf, width=200))
    return buf.getvalue()


def test_a_basic_sweep_gets_best_yaml_and_no_optuna_figures(tmp_path):
    sweep = _sweep(tmp_path, 3)
    printed = _outcome(sweep)
    assert printed.startswith("best: job 1, val_mse 0.03 (minimize), penalty.lam=0.01")
    assert (sweep / "best.yaml").is_file()
    assert not list(sweep.glob("optuna_*.png"))


def test_an_optuna_sweep_gets_its_studys_figures(tmp_path):
    pytest.importorskip("optuna")
    from optuna.distributions import FloatDistribution

    from regexp.runs.study import open_study

    sweep = _sweep(tmp_path, 6)
    study = open_study(None, sweep, "lam_lr", "minimize", {"name": "random"})
    space = {k: FloatDistribution(1e-6, 1.0, log=True) for k in ("penalty.lam", "optimizer.lr")}
    for _ in range(6):
        trial = study.ask(space)
        study.tell(trial, trial.params["penalty.lam"] + trial.params["optimizer.lr"])
    printed = _outcome(sweep)
    assert "optuna figures: optuna_history.png and optuna_importance.png in" in printed
    assert (sweep / "optuna_history.png").is_file() and (sweep / "optuna_importance.png").is_file()
