"""regexp.read.best: the best run by the sweep's objective (minimised MSE, maximised
accuracy, or the key `objective` names), best.yaml, and the run best.yaml names."""

from __future__ import annotations

import pandas as pd
import yaml

from regexp.read.best import (
    Objective,
    best_line,
    best_row,
    best_run,
    named_best,
    objective_of,
    write_best,
)
from regexp.read.collect import read_sweep
from tests.fixtures_runs import make_sweep, metrics

FAILED = metrics(None, status="failed", error="RuntimeError: boom")


def _sweep(tmp_path, results, **config):
    jobs = [
        dict(config={"seed": i, **config}, overrides=[f"seed={i}"], result=r)
        for i, r in enumerate(results)
    ]
    return make_sweep(tmp_path / "s", jobs)


def test_the_lowest_val_mse_of_the_ok_runs_is_the_best(tmp_path):
    diverged = metrics(0.001, status="diverged")  # a lower number, but not an ok run
    sweep = _sweep(tmp_path, [metrics(0.05), diverged, metrics(0.02), FAILED, metrics(0.02)])
    df = read_sweep(sweep)
    assert objective_of(df) == Objective("val_mse", "minimize")
    assert best_row(df)["job"] == 2  # a tie goes to the first in job order
    best = write_best(sweep, df)
    assert yaml.safe_load((sweep / "best.yaml").read_text()) == best
    assert (best["job"], best["value"], best["folder"], best["overrides"]) == (
        2,
        0.02,
        "2",
        ["seed=2"],
    )


def test_classification_maximises_accuracy_and_objective_names_another_metric(tmp_path):
    results = [metrics(0.1, val_accuracy=a, train_accuracy=0.9) for a in (0.8, 0.9, 0.85)]
    df = read_sweep(_sweep(tmp_path, results, **{"data.task": "classification"}))
    assert objective_of(df) == Objective("val_accuracy", "maximize")
    assert best_row(df)["job"] == 1
    df["objective"] = "train_mse"
    df["train_mse"] = [0.3, 0.2, 0.1]
    assert objective_of(df) == Objective("train_mse", "minimize")
    assert best_row(df)["job"] == 2


def test_no_ok_run_no_best_and_no_file(tmp_path):
    sweep = _sweep(tmp_path, [FAILED, FAILED])
    df = read_sweep(sweep)
    assert best_row(df) is None and write_best(sweep, df) is None
    assert not (sweep / "best.yaml").exists()
    assert best_row(pd.DataFrame({"status": []})) is None


def test_the_report_shows_the_run_best_yaml_names(tmp_path):
    """best.yaml written by another tool (an Optuna study's best trial) wins; a best.yaml that
    names no run of the sweep, or cannot be read, leaves the choice to best_row."""
    sweep = _sweep(tmp_path, [metrics(0.05), metrics(0.02), metrics(0.03)])
    df = read_sweep(sweep)
    assert named_best(sweep, df)["job"] == 1  # no file: best_row's
    (sweep / "best.yaml").write_text(yaml.safe_dump({"job": 2, "value": 0.03}))
    assert named_best(sweep, df)["job"] == 2
    (sweep / "best.yaml").write_text(yaml.safe_dump({"folder": "0"}))
    assert named_best(sweep, df)["job"] == 0
    (sweep / "best.yaml").write_text(yaml.safe_dump({"job": 99}))
    assert named_best(sweep, df)["job"] == 1
    (sweep / "best.yaml").write_text("{broken")
    assert named_best(sweep, df)["job"] == 1


def _job(lam: float, val_mse: float | None, status: str = "ok", **config):
    return dict(
        config={"penalty.lam": lam, "data.task": "regression", **config},
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
        "folder": "1",
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
