"""Mixed groups end to end: a sweep over widths and data draws, through the batched launcher,
gives every job the metrics of the same job run alone (Hydra's basic launcher), to 1e-5
relative after 20 epochs (batched runs add padded zeros and sum in another order: float
precision, not bit for bit), with its own data draw in its folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regexp.cli import main

METRICS = ["train_mse", "val_mse", "train_loss", "val_loss"]


def _sweeps(tmp_path: Path, *args: str) -> tuple[Path, Path]:
    folders = []
    for launcher in ("batched", "basic"):
        folder = tmp_path / launcher
        assert (
            main(["sweep", *args, f"hydra/launcher={launcher}", f"hydra.sweep.dir={folder}"]) == 0
        )
        folders.append(folder)
    return folders[0], folders[1]


def _metrics(folder: Path, job: int) -> dict:
    return json.loads((folder / str(job) / "metrics.json").read_text())


@pytest.mark.parametrize(
    ("task", "programs"),
    [
        # [2] and [8] padded into one program; [256] apart (padding [2] to it costs more)
        (["hidden_units=[2],[8],[256]", "data.seed=1,2", "seed=1,2"], [8] * 8 + [4] * 4),
        (["data=classification", "data.n_train=100", "data.n_val=300",
          "hidden_units=[4,2],[2,4]", "data.seed=3,4", "train.batch_size=32"], [4] * 4),
    ],
    ids=["regression", "classification"],
)  # fmt: skip
def test_widths_and_draws_in_one_program_match_each_job_alone(tmp_path, task, programs):
    batched, basic = _sweeps(tmp_path, *task, "train.epochs=20", "plots.enabled=false")
    ours, alone = pd.read_csv(batched / "summary.csv"), pd.read_csv(basic / "summary.csv")
    assert list(ours["status"]) == list(alone["status"]) == ["ok"] * len(alone)
    for col in METRICS:
        np.testing.assert_allclose(ours[col], alone[col], rtol=1e-5, err_msg=col)
    assert [_metrics(batched, job)["batched"] for job in range(len(ours))] == programs
    for job in range(len(ours)):
        assert _metrics(batched, job)["n_params"] == _metrics(basic, job)["n_params"]


@pytest.mark.slow
def test_a_mixed_groups_figures_show_each_jobs_own_draw(tmp_path):
    batched, basic = _sweeps(tmp_path, "hidden_units=[2],[4]", "data.seed=1,2", "train.epochs=5")
    for job in range(4):
        ours, alone = (np.load(f / str(job) / "plots" / "fit.npz") for f in (batched, basic))
        for key in ("x_train", "y_train", "x_val", "y_val"):
            np.testing.assert_array_equal(ours[key], alone[key], err_msg=key)
        np.testing.assert_allclose(ours["y_grid"], alone["y_grid"], rtol=1e-5, atol=1e-7)
    first, second = (np.load(batched / str(job) / "plots" / "fit.npz") for job in (0, 1))
    assert not np.array_equal(first["x_train"], second["x_train"])  # two draws


def test_resume_of_a_mixed_sweep_reruns_its_broken_jobs_alike(tmp_path):
    folder = tmp_path / "sweep"
    args = ["hidden_units=[2],[8]", "data.seed=1,2", "train.epochs=20", "plots.enabled=false"]
    assert main(["sweep", *args, f"hydra.sweep.dir={folder}"]) == 0
    before = [_metrics(folder, job) for job in range(4)]
    for job in (1, 2):  # killed before their last write: a program of the two, then
        (folder / str(job) / "metrics.json").unlink()
    assert main(["sweep", "--resume", str(folder)]) == 0
    for job in range(4):
        after = _metrics(folder, job)
        assert after["status"] == "ok"
        for key in METRICS:
            assert after[key] == pytest.approx(before[job][key], rel=1e-5), (job, key)
    assert [_metrics(folder, job)["batched"] for job in range(4)] == [4, 2, 2, 4]
