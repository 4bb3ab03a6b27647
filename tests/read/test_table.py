"""regexp.read.table: the views of collect's table: keys that tell runs apart, the columns a
table of runs shows, a sweep's summary (its swept keys as typed) and its files."""

from __future__ import annotations

import pandas as pd

from regexp.read.collect import collect, read_sweep
from regexp.read.table import (
    differing_keys,
    plain_columns,
    study_frame,
    study_keys,
    summary_table,
    write_summary,
)
from tests.fixtures_runs import make_run, make_sweep, metrics


def _sweep(tmp_path, jobs):
    return read_sweep(make_sweep(tmp_path / "s", jobs))


def test_keys_differ_by_value_or_by_being_absent_and_foreign_rows_do_not_count(tmp_path):
    make_run(tmp_path / "a", config={"seed": 1, "penalty.lam": 0.1})
    make_run(tmp_path / "b", config={"seed": 1, "penalty.lam": 0.2, "extra": 3})
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "metrics.json").write_text('{"lr": 1}')  # no config: unknown
    df = collect([tmp_path])
    assert differing_keys(df) == ["penalty.lam", "extra"]
    assert differing_keys(collect([tmp_path / "a", tmp_path / "foreign"])) == []


def test_plain_columns_show_what_differs_or_everything(tmp_path):
    jobs = [
        dict(config={"seed": i}, result=metrics(0.1, seed=i, batched=2, train_seconds=1.0))
        for i in range(2)
    ]
    df = _sweep(tmp_path, jobs)
    assert plain_columns(df, show_all=False) == [
        "path", "job", "name", "seed", "status", "train_mse", "val_mse", "train_loss",
        "val_loss", "penalty", "n_params", "epochs", "seconds",
    ]  # fmt: skip
    every = plain_columns(df, show_all=True)
    assert {"activation", "optimizer.lr", "ran_on", "batched", "train_seconds"} <= set(every)
    assert "error" not in every and every.count("name") == 1


def test_plain_columns_add_error_when_a_run_has_one_and_drop_job_outside_sweeps(tmp_path):
    make_run(tmp_path / "ok")
    make_run(tmp_path / "bad", result=metrics(None, status="failed", error="ValueError: x"))
    cols = plain_columns(collect([tmp_path]), show_all=False)
    assert cols[:2] == ["path", "name"] and cols[-1] == "error"
    assert "val_mse" in cols  # one run has it


def test_the_summary_has_the_swept_keys_as_typed_then_status_and_metrics(tmp_path):
    jobs = [
        dict(
            config={"hidden_units": [4], "penalty.name": "l2", "optimizer.lr": lr},
            overrides=[
                "optimizer.lr=" + str(lr),
                "penalty=l2",
                "~foo",
                "+tag=x",
                "hydra.launcher.n_jobs=2",
                "hidden_units=[4]",
            ],
            result=metrics(0.1),
        )  # fmt: skip
        for lr in (0.1, 0.01)
    ]
    table = summary_table(_sweep(tmp_path, jobs))
    assert table.columns.tolist() == [
        "job", "name", "optimizer.lr", "penalty.name", "foo", "tag", "hidden_units", "status",
        "train_mse", "val_mse", "train_loss", "val_loss", "penalty", "n_params", "seconds",
    ]  # fmt: skip
    assert table["optimizer.lr"].tolist() == [0.1, 0.01]
    assert table["penalty.name"].tolist() == ["l2", "l2"]  # a group override: its name
    assert table["tag"].tolist() == ["x", "x"]  # not a config key: the typed value
    assert table["foo"].tolist() == ["", ""]  # a deletion (~foo) types no value


def test_accuracy_only_when_a_job_has_it_and_metric_columns_even_when_all_failed(tmp_path):
    failed = {"status": "failed", "error": "RuntimeError: boom"}  # failed before training
    table = summary_table(_sweep(tmp_path / "f", [dict(result=failed), dict(result=None)]))
    assert table["status"].tolist() == ["failed", "incomplete"]
    assert table.columns.tolist() == [
        "job", "name", "status", "train_mse", "val_mse", "train_loss", "val_loss", "penalty",
        "n_params", "seconds", "error",
    ]  # fmt: skip
    assert table[["train_mse", "val_mse", "seconds"]].isna().all().all()
    assert "val_accuracy" not in table
    assert table["error"].tolist()[0] == "RuntimeError: boom"
    accurate = metrics(0.1, train_accuracy=0.9, val_accuracy=0.8)
    table = summary_table(_sweep(tmp_path / "a", [dict(result=accurate), dict()]))
    assert table["val_accuracy"].tolist()[0] == 0.8 and pd.isna(table["val_accuracy"][1])
    assert "error" not in table


def test_summary_files_hold_ten_digits_and_the_markdown_reads_as_text(tmp_path):
    table = pd.DataFrame(
        {"job": [0, 1], "status": ["ok", "failed"], "val_mse": [0.1 + 0.2, float("nan")],
         "n_params": [7.0, 7.0], "penalty": [1 / 3, 1e-9]}
    )  # fmt: skip
    write_summary(tmp_path, table)
    assert (tmp_path / "summary.csv").read_text().splitlines() == [
        "job,status,val_mse,n_params,penalty",
        "0,ok,0.3,7,0.3333333333",
        "1,failed,,7,1e-09",
    ]
    md = (tmp_path / "summary.md").read_text()
    assert md.endswith("\n") and md.count("\n") == 4
    second = md.splitlines()[3].split("|")[1:-1]
    assert [c.strip() for c in second] == ["1", "failed", "", "7", "1e-09"]


def test_study_keys_are_the_swept_overrides_not_every_key_that_differs(tmp_path):
    """`make units`: the experiments differ in train.epochs and eval_every too, but the user
    swept the experiment; a fixed override (penalty=l2) and the seeds are no study key."""
    jobs = [
        dict(
            config={"name": name, "hidden_units": [w], "train.epochs": epochs, "seed": seed},
            overrides=[f"+experiment={name}", "penalty=l2", f"seed={seed}"],
            result=metrics(0.1 * w, seed=seed, name=name),
        )
        for name, w, epochs in (("model_2units_a", 2, 1250), ("model_8units", 8, 600))
        for seed in (1, 2)
    ]
    df = _sweep(tmp_path, jobs)
    assert {"train.epochs", "hidden_units", "seed"} <= set(differing_keys(df))
    assert study_keys(summary_table(df)) == ["experiment"]
    frame, keys = study_frame(df)
    assert keys == ["experiment"] and "experiment" not in df
    assert frame["experiment"].tolist() == ["model_2units_a"] * 2 + ["model_8units"] * 2
    assert frame["path"].tolist() == df["path"].tolist()


def test_runs_given_no_overrides_are_told_apart_by_their_differing_keys(tmp_path):
    make_run(tmp_path / "a", config={"seed": 1, "penalty.lam": 0.1})
    make_run(tmp_path / "b", config={"seed": 2, "penalty.lam": 0.2})
    frame, keys = study_frame(collect([tmp_path]))
    assert keys == ["penalty.lam"]  # the seed is a repeat, never a study key
