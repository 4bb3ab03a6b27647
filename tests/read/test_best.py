"""regexp.read.best: a sweep's best run by its objective (hand-made folders, no training):
best.yaml's content, the direction from the objective, failed jobs left out, the printed line."""

from __future__ import annotations

import yaml

from regexp.read.best import best_line, best_run, write_best
from regexp.read.collect import read_sweep
from tests.fixtures_runs import make_sweep, metrics


def _job(lam: float, val_mse: float | None, status: str = "ok", **config):
    return dict(
        config={"penalty.lam": lam, **config},
        overrides=["penalty=l2", f"penalty.lam={lam}"],
        result=metrics(val_mse, status=status, val_accuracy=1 - lam),
    )


def test_the_lowest_val_mse_wins_and_best_yaml_says_how_to_train_it_again(tmp_path):
    sweep = make_sweep(
        tmp_path / "s",
        [_job(0.1, 0.05), _job(0.01, 0.02), _job(0.001, None, "failed"), _job(1e-4, 0.02)],
    )
    best = write_best(sweep, read_sweep(sweep))
    want = {
        "objective": "val_mse",
        "direction": "minimize",
        "value": 0.02,
        "job": 1,  # of equal values, the first job
        "path": "1",
        "overrides": ["penalty=l2", "penalty.lam=0.01"],
        "params": {"penalty.lam": 0.01},
    }
    assert best == want
    assert yaml.safe_load((sweep / "best.yaml").read_text()) == want
    assert best_line(best) == (
        "best: job 1, val_mse 0.02 (minimize), penalty.lam=0.01 -> best.yaml"
    )


def test_an_accuracy_objective_is_maximised(tmp_path):
    jobs = [_job(lam, 0.03, objective="auto", **{"data.task": "classification"})
            for lam in (0.3, 0.1, 0.2)]  # fmt: skip
    sweep = make_sweep(tmp_path / "s", jobs)
    best = best_run(sweep, read_sweep(sweep))
    assert (best["objective"], best["direction"], best["job"]) == ("val_accuracy", "maximize", 1)


def test_a_diverged_value_never_wins_and_no_ok_job_means_no_best_yaml(tmp_path):
    sweep = make_sweep(tmp_path / "s", [_job(0.1, 1e-9, "diverged"), _job(0.2, 0.5)])
    assert best_run(sweep, read_sweep(sweep))["job"] == 1
    none = make_sweep(tmp_path / "n", [_job(0.1, None, "failed")])
    (none / "best.yaml").write_text("an older sweep's\n")
    assert write_best(none, read_sweep(none)) is None
    assert not (none / "best.yaml").exists()
    assert best_line(None).startswith("best: none")
