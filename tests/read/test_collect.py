"""regexp.read.collect: run and sweep folders read into one table (no training, hand-made
folders): every run found once under any parent, broken folders as rows with a status and a
note, the columns' order and types, and a sweep's job folders in job order."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from regexp.config.errors import UsageError
from regexp.read.collect import collect, read_sweep
from regexp.read.summary import summarize
from regexp.read.table import differing_keys
from tests.fixtures_runs import make_run, make_sweep, metrics
from tests.read.conftest import hidden_job


def test_collect_finds_runs_under_any_parent(tree):
    df = collect([tree["root"]])
    assert len(df) == 7
    assert df["job"].tolist()[:3] == [0, 1, 2]
    assert set(df["status"]) == {"ok", "failed"}
    row = df[df["name"] == "l2"].iloc[0]
    assert row["hidden_units"] == "[8]"
    assert row["penalty.name"] == "l2" and row["penalty.lam"] == 0.01
    assert row["ran_on"] == "cpu" and row["device"] == "auto"  # where it ran vs asked
    failed = df[df["status"] == "failed"].iloc[0]
    assert failed["hidden_units"] == "[16, 16]"
    assert failed["error"] == "RuntimeError: boom"  # first line only
    assert pd.isna(failed["val_mse"])


def test_collect_same_run_twice_is_one_row(tree):
    assert len(collect([tree["seeds"], tree["seeds"] / "0"])) == 3


def test_broken_folders_are_rows_with_a_status(tmp_path: Path):
    make_run(tmp_path / "good")
    corrupt = make_run(tmp_path / "corrupt")
    (corrupt / "metrics.json").write_text("{not json")
    notobj = make_run(tmp_path / "notobj")
    (notobj / "metrics.json").write_text("[1, 2]")
    make_run(tmp_path / "killed", result=None)
    foreign = tmp_path / "other_tool"
    (foreign / ".hydra").mkdir(parents=True)
    (foreign / ".hydra" / "config.yaml").write_text("lr: 1\n")
    (tmp_path / "mlflow_like").mkdir()
    (tmp_path / "mlflow_like" / "metrics.json").write_text('{"accuracy": 0.9}')
    sweep = make_sweep(tmp_path / "sweep", [{}])
    (sweep / "1").mkdir()  # a job killed before Hydra wrote anything
    (tmp_path / "not_a_run").mkdir()  # a plain empty folder is skipped, not a row

    df = collect([tmp_path]).set_index("path")
    status = {Path(p).relative_to(tmp_path).as_posix(): s for p, s in df["status"].items()}
    assert status == {
        "corrupt": "corrupt",
        "good": "ok",
        "killed": "incomplete",
        "mlflow_like": "unknown",
        "notobj": "corrupt",
        "other_tool": "unknown",
        "sweep/0": "ok",
        "sweep/1": "incomplete",
    }
    errors = {Path(p).name: e for p, e in df["error"].items()}
    assert errors["corrupt"] == "unreadable metrics.json (JSONDecodeError)"
    assert errors["notobj"] == "metrics.json is not a JSON object"
    assert errors["1"] == "empty folder"
    assert errors["other_tool"].startswith("not a regexp run")
    assert errors["mlflow_like"] == "metrics.json has no regexp status"
    assert errors["killed"].startswith("no metrics.json")
    assert pd.isna(errors["good"])


def test_collect_missing_config_file(tmp_path: Path):
    run = make_run(tmp_path / "r")
    (run / ".hydra" / "config.yaml").write_text("key: [unclosed\n")
    row = collect([run]).iloc[0]
    assert row["status"] == "ok"
    assert row["error"] == "unreadable .hydra/config.yaml (ParserError)"


# ------------------------------------------------------------------------ diff and groups


def test_metrics_json_nulls_are_nan(tmp_path):
    run = make_run(tmp_path / "r", result=metrics(0.02, status="diverged"))
    data = json.loads((run / "metrics.json").read_text())
    data["train_loss"] = None
    (run / "metrics.json").write_text(json.dumps(data))
    row = collect([run]).iloc[0]
    assert row["status"] == "diverged" and pd.isna(row["train_loss"])


def test_named_job_folders_take_hydra_job_num(tmp_path):
    sweep = make_sweep(tmp_path / "s", [hidden_job([2])])
    named = make_run(sweep / "hidden_units=[8]", **hidden_job([8]))
    (named / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    num: 1\n")
    table, _ = summarize(sweep)
    assert table["job"].tolist() == [0, 1]
    assert table["hidden_units"].tolist() == ["[2]", "[8]"]
    assert collect([named / "metrics.json"])["job"].tolist() == [1]


def test_seed_is_a_config_key_even_after_a_foreign_row(tmp_path):
    (tmp_path / "a_foreign").mkdir()
    (tmp_path / "a_foreign" / "metrics.json").write_text('{"seed": 5}')
    make_run(tmp_path / "b", config={"seed": 1})
    make_run(tmp_path / "c", config={"seed": 2})
    df = collect([tmp_path])
    assert "seed" in df.attrs["config_keys"] and differing_keys(df) == ["seed"]


def test_a_path_without_runs_is_a_row_and_a_missing_path_an_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    df = collect([tmp_path / "empty"])
    assert df["status"].tolist() == ["unknown"] and df["error"].tolist() == ["no run found here"]
    with pytest.raises(UsageError, match=f"^no such file or folder: {tmp_path / 'missing'}$"):
        collect([tmp_path / "missing"])


def test_links_are_not_followed_so_a_loop_reads_each_run_once(tmp_path: Path):
    make_sweep(tmp_path / "s", [{}, {}])
    os.symlink(tmp_path, tmp_path / "s" / "loop")
    os.symlink(tmp_path / "s" / "0", tmp_path / "alias")
    assert sorted(
        Path(p).relative_to(tmp_path).as_posix() for p in collect([tmp_path])["path"]
    ) == [
        "s/0",
        "s/1",
    ]


def _job(i: int, **extra):
    result = metrics(0.01 * (i + 1), batched=3, train_seconds=0.5, init={"chosen": i}, **extra)
    return dict(config={"seed": i}, overrides=[f"seed={i}", "+x=1"], result=result)


def test_columns_are_meta_config_status_metrics_error_in_that_order(tmp_path: Path):
    df = read_sweep(make_sweep(tmp_path / "s", [_job(0), _job(1)]))
    config, metric = df.attrs["config_keys"], df.attrs["metric_keys"]
    assert list(df.columns) == [
        "path", "job", "name", "overrides", *config, "status", *metric, "error"
    ]  # fmt: skip
    assert config[:4] == ["hidden_units", "activation", "seed", "device"]
    assert "penalty.lam" in config and "optimizer.lr" in config
    # the contract's metrics first, in their order; then what else metrics.json holds
    assert metric == [
        "train_mse", "val_mse", "train_loss", "val_loss", "penalty", "n_params", "epochs",
        "seconds", "ran_on", "batched", "train_seconds", "init",
    ]  # fmt: skip


def test_cells_take_their_types(tmp_path: Path):
    df = read_sweep(make_sweep(tmp_path / "s", [_job(0), _job(1)]))
    for col in ("job", "seed", "n_params", "epochs"):
        assert str(df[col].dtype) == "Int64", col
    assert df["val_mse"].tolist() == [0.01, 0.02] and df["val_mse"].dtype == float
    assert df["ran_on"].tolist() == ["cpu", "cpu"]  # metrics.json's device: where it ran
    assert df["device"].tolist() == ["auto", "auto"]  # the config's: what was asked
    assert df["init"].tolist() == ['{"chosen": 0}', '{"chosen": 1}']  # a block as JSON text
    assert df["overrides"].tolist() == [("seed=0", "+x=1"), ("seed=1", "+x=1")]
    assert df["hidden_units"].tolist() == ["[2]", "[2]"]
    assert df["error"].isna().all()


def test_a_sweeps_job_folders_come_in_job_order_and_nothing_else(tmp_path: Path):
    sweep = make_sweep(tmp_path / "s", [_job(i) for i in range(12)])
    (sweep / "summary.csv").write_text("job\n")
    (sweep / ".submitit").mkdir()  # dot folders are never runs
    (sweep / "notes").mkdir()  # neither numbered nor a run
    named = make_run(sweep / "hidden_units=[8]", **hidden_job([8]))
    (named / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    num: 12\n")
    df = read_sweep(sweep)
    assert df["job"].tolist() == list(range(13))  # 10 and 11 after 9, not after 1
    assert Path(df["path"].iloc[-1]).name == "hidden_units=[8]"
    with pytest.raises(UsageError, match=f"^not a sweep folder: {tmp_path / 'nope'}$"):
        read_sweep(tmp_path / "nope")
