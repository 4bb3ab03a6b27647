"""regexp.read.sweep_figures: curves.png from the runs' history.csv (validation columns are
empty between evaluations), parallel.png only for two study keys or more."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from regexp.read.best import Objective
from regexp.read.collect import read_sweep
from regexp.read.sweep_figures import draw_curves, draw_parallel, read_curves
from regexp.read.table import study_frame
from tests.fixtures_runs import make_sweep, metrics, write_history

MSE = Objective("val_mse", "minimize")


def _sweep(tmp_path, keys: dict[str, list]) -> Path:
    jobs = []
    for i, values in enumerate(zip(*keys.values())):
        config = dict(zip(keys, values))
        overrides = [f"{k}={v}" for k, v in config.items()]
        jobs.append(dict(config=config, overrides=overrides, result=metrics(0.01 * (i + 1))))
    jobs.append(dict(config={"seed": 9}, overrides=["seed=9"], result=metrics(None, "failed")))
    sweep = make_sweep(tmp_path / "s", jobs)
    for i in range(len(jobs) - 1):
        write_history(sweep / str(i), 0.5 * (i + 1))
    return sweep


def test_curves_are_the_evaluated_epochs_of_each_ok_run(tmp_path):
    sweep = _sweep(tmp_path, {"penalty.lam": [0.1, 0.1, 0.01], "seed": [1, 2, 1]})
    frame, keys = study_frame(read_sweep(sweep))
    assert keys == ["penalty.lam"]
    curves = read_curves(frame, keys, "val_mse")
    assert len(curves) == 3  # the failed job has no curve
    assert curves[0].epochs.tolist() == [10, 20, 30]
    np.testing.assert_allclose(curves[0].values, [0.05, 0.025, 0.5 / 30], rtol=1e-5)
    assert [c.setting for c in curves] == ["penalty.lam=0.1"] * 2 + ["penalty.lam=0.01"]
    assert draw_curves(sweep, frame, keys, MSE) == sweep / "curves.png"
    assert draw_parallel(sweep, frame, keys, MSE) is None  # one study key


def test_parallel_png_for_two_study_keys(tmp_path):
    sweep = _sweep(tmp_path, {"penalty.lam": [0.1, 0.01], "optimizer.lr": [0.01, 0.001]})
    frame, keys = study_frame(read_sweep(sweep))
    assert keys == ["penalty.lam", "optimizer.lr"]
    assert draw_parallel(sweep, frame, keys, MSE) == sweep / "parallel.png"
    assert (sweep / "parallel.png").stat().st_size > 5_000


def test_curves_skip_histories_that_cannot_be_read_or_lack_the_metric(tmp_path):
    sweep = _sweep(tmp_path, {"penalty.lam": [0.1, 0.2, 0.3, 0.4]})
    (sweep / "1" / "history.csv").write_text("epoch,train_loss\n1,0.5\n")  # no val_mse
    (sweep / "2" / "history.csv").write_bytes(b"\xff\xfe garbage")
    (sweep / "3" / "history.csv").write_text("epoch,val_mse\n1,abc\n")
    frame, keys = study_frame(read_sweep(sweep))
    curves = read_curves(frame, keys, "val_mse")
    assert [c.setting for c in curves] == ["penalty.lam=0.1"]
    expected = pd.read_csv(sweep / "0" / "history.csv", usecols=["epoch", "val_mse"]).dropna()
    assert curves[0].epochs.tolist() == expected["epoch"].tolist()  # as pandas reads it
    np.testing.assert_array_equal(curves[0].values, expected["val_mse"].to_numpy())
