"""Finished jobs are never trained twice (the store of finished jobs, end to end): a sweep
over seeds 1-3, then over seeds 1-5, reuses the first three with their numbers exactly and
trains two; with the first sweep's folder deleted, its jobs are still reused; reuse=false and
another epoch count reuse none."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
REGEXP = [sys.executable, "-m", "regexp.cli"]
JOB = ("hidden_units=[8]", "train.epochs=300", "plots.enabled=false")


def _sweep(tmp_path: Path, name: str, *args: str) -> tuple[pd.DataFrame, str]:
    env = {**os.environ, "REGEXP_REUSE": "1", "REGEXP_OUTPUTS": str(tmp_path)}
    done = subprocess.run(
        [*REGEXP, "sweep", *JOB, *args, f"hydra.sweep.dir={tmp_path / name}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return pd.read_csv(tmp_path / name / "summary.csv"), done.stdout


def test_a_grown_sweep_trains_only_its_new_jobs(tmp_path):
    first, _ = _sweep(tmp_path, "a", "seed=1,2,3")
    assert "reused_from" not in first
    grown, out = _sweep(tmp_path, "b", "seed=1,2,3,4,5")
    reused = grown["reused_from"].notna().tolist()
    assert reused == [True, True, True, False, False]
    assert f"reused 3 of 5 jobs (trained earlier in {(tmp_path / 'a').resolve()})" in out
    for col in ("train_mse", "val_mse"):  # the first sweep's numbers, exactly
        assert grown[col][:3].tolist() == first[col].tolist(), col
    shutil.rmtree(tmp_path / "a")
    again, _ = _sweep(tmp_path, "c", "seed=1,2,3")
    assert again["reused_from"].notna().all()
    assert again["val_mse"].tolist() == first["val_mse"].tolist()
    off, _ = _sweep(tmp_path, "d", "seed=1,2,3", "reuse=false")
    assert "reused_from" not in off
    longer, _ = _sweep(tmp_path, "e", "seed=1,2,3", "train.epochs=301")
    assert "reused_from" not in longer
