"""regexp.read.best: the best run by the sweep's objective (minimised MSE, maximised
accuracy, or the key `objective` names), best.yaml, and the run best.yaml names."""

from __future__ import annotations

import pandas as pd
import pytest
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


def _sweep(tmp_path, results, key="seed", **config):
    jobs = [
        dict(config={key: i, **config}, overrides=[f"{key}={i}"], result=r)
        for i, r in enumerate(results)
    ]
    return make_sweep(tmp_path / "s", jobs)


def test_the_lowest_val_mse_of_the_ok_runs_is_the_best(tmp_path):
    diverged = metrics(0.001, status="diverged")  # a lower number, but not an ok run
    results = [metrics(0.05), diverged, metrics(0.02), FAILED, metrics(0.02)]
    sweep = _sweep(tmp_path, results, key="train.batch_size")  # no repeats: the best run
    df = read_sweep(sweep)
    assert objective_of(df) == Objective("val_mse", "minimize")
    assert best_row(df)["job"] == 2  # a tie goes to the first in job order
    best = write_best(sweep, df)
    assert yaml.safe_load((sweep / "best.yaml").read_text()) == best
    assert (best["job"], best["value"], best["folder"], best["overrides"]) == (
        2,
        0.02,
        "2",
        ["train.batch_size=2"],
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


def test_a_pruned_trial_never_wins_even_with_the_lowest_value(tmp_path):
    """A trial the pruner stopped early holds the value of an earlier epoch, sometimes lower
    than any finished trial's: it is not the search's best, nor in the report's best run."""
    sweep = make_sweep(tmp_path / "s", [_job(0.1, 0.04), _job(0.2, 0.001, "pruned"),
                                        _job(0.3, 0.03)])  # fmt: skip
    df = read_sweep(sweep)
    assert list(df["status"]) == ["ok", "pruned", "ok"]
    assert write_best(sweep, df)["job"] == 2
    only = make_sweep(tmp_path / "p", [_job(0.1, 0.01, "pruned")])
    assert write_best(only, read_sweep(only)) is None


# ------------------------------------------------------------------- repeats (issue 34)

GRID = {0.01: [0.020, 0.024, 0.022], 0.001: [0.025, 0.027, 0.028], 0.1: [0.019, 0.040, 0.035]}


def _repeats(tmp_path, grid=GRID, key="seed"):
    jobs = [
        dict(config={"penalty.lam": lam, key: s}, overrides=[f"penalty.lam={lam}", f"{key}={s}"],
             result=metrics(v))
        for lam, values in grid.items() for s, v in enumerate(values, start=1)
    ]  # fmt: skip
    return make_sweep(tmp_path / "r", jobs)


def test_with_repeats_the_best_configuration_is_the_best_mean_not_the_luckiest_seed(tmp_path):
    """λ 0.1 has the single best run (0.019) but the worst mean; λ 0.01 the best mean. Its
    runner-up, λ 0.001, is told apart by the paired differences over the three seeds."""
    sweep = _repeats(tmp_path)
    df = read_sweep(sweep)
    assert best_row(df)["penalty.lam"] == 0.1  # the luckiest seed
    best = write_best(sweep, df)
    assert yaml.safe_load((sweep / "best.yaml").read_text()) == best
    assert best["params"] == {"penalty.lam": 0.01} and best["value"] == pytest.approx(0.022)
    repeats = best["repeats"]
    assert (repeats["over"], repeats["n"], repeats["jobs"]) == (["seed"], 3, [0, 1, 2])
    half = 4.302653 * 0.002 / 3**0.5  # t(0.975, 2), s = 0.002
    assert repeats["ci95"] == [pytest.approx(0.022 - half), pytest.approx(0.022 + half)]
    assert (best["job"], best["folder"]) == (2, "2")  # 0.022: the run nearest the mean
    runner = best["runner_up"]
    assert runner["params"] == {"penalty.lam": 0.001}
    assert runner["value"] == pytest.approx(0.02667, abs=1e-5)
    # paired over seeds: 0.005, 0.003, 0.006; mean 0.004667, s = 0.001528
    diff = runner["difference"]
    assert diff["method"] == "paired over seed"
    assert diff["estimate"] == pytest.approx(0.0046667, abs=1e-6)
    assert diff["ci95"][0] == pytest.approx(0.0046667 - 4.302653 * 0.0015275 / 3**0.5, abs=1e-6)
    assert runner["distinguishable"] is True
    assert best_line(best) == (
        "best: penalty.lam=0.01, val_mse mean 0.022 [0.01703, 0.02697] over 3 runs (seed; "
        "minimize); runner-up penalty.lam=0.001 0.02667: distinguishable -> best.yaml"
    )


def test_a_runner_up_within_the_noise_is_not_distinguishable_and_unpaired_is_welch(tmp_path):
    grid = {0.01: [0.020, 0.030, 0.025], 0.001: [0.026, 0.024, 0.027]}
    best = best_run(_repeats(tmp_path, grid), read_sweep(_repeats(tmp_path / "b", grid)))
    assert best["params"] == {"penalty.lam": 0.01} and best["runner_up"]["distinguishable"] is False
    uneven = {0.01: [0.020, 0.022, 0.021], 0.001: [0.030, 0.031]}  # two seeds against three
    sweep = _repeats(tmp_path / "u", uneven, key="data.seed")
    best = best_run(sweep, read_sweep(sweep))
    assert best["repeats"]["over"] == ["data.seed"]
    assert best["runner_up"]["difference"]["method"] == "Welch"
    assert best["runner_up"]["distinguishable"] is True


def test_an_accuracy_with_repeats_is_maximised_and_one_setting_has_no_runner_up(tmp_path):
    jobs = [dict(config={"seed": s, "data.task": "classification"},
                 result=metrics(0.1, val_accuracy=a)) for s, a in ((1, 0.8), (2, 0.9))]  # fmt: skip
    sweep = make_sweep(tmp_path / "a", jobs)
    best = best_run(sweep, read_sweep(sweep))
    assert (best["objective"], best["params"]) == ("val_accuracy", {})
    assert best["value"] == pytest.approx(0.85)
    assert "runner_up" not in best
    # two runs: t(0.975, 1) = 12.71 puts the t-interval at [0.2147, 1.485], cut at 1
    assert best["repeats"]["ci95"] == [pytest.approx(0.85 - 12.7062 * 0.05, abs=1e-5), 1.0]
    assert best_line(best).startswith("best: the one setting, val_accuracy mean 0.85 [0.2147, 1]")
