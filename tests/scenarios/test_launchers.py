"""Launcher presets (joblib, submitit_local, submitit_slurm, ray) and sweeps through them
(per-job threads and GPUs: tests/system/test_threads.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_module

from regexp.cli import main

TINY = ["seed=1,2,3", "hidden_units=[4]", "train.epochs=5", "plots.enabled=false", "device=cpu"]


def _launcher(name: str, *overrides: str) -> dict:
    from omegaconf import OmegaConf

    with initialize_config_module("regexp.conf", version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[f"hydra/launcher={name}", "hydra.sweep.dir=s", *overrides],
            return_hydra_config=True,
        )
    return OmegaConf.to_container(cfg.hydra.launcher, resolve=False)


@pytest.mark.filterwarnings("ignore:(?s).*validated against ConfigStore schema")
def test_presets_are_ours_and_expose_the_cluster_knobs():
    # Our conf/hydra/launcher files share the plugins' names: Hydra must pick them up.
    joblib = _launcher("joblib")
    assert joblib["_target_"].endswith("JoblibLauncher")
    assert (joblib["n_jobs"], str(joblib["batch_size"]), joblib["pre_dispatch"]) == (
        -1,
        "1",
        "n_jobs",
    )
    local = _launcher("submitit_local")
    assert local["_target_"].endswith("submitit_launcher.LocalLauncher")
    assert (local["cpus_per_task"], local["gpus_per_node"], local["timeout_min"]) == (1, 0, 60)
    slurm = _launcher(
        "submitit_slurm", "hydra.launcher.partition=gpu", "hydra.launcher.gpus_per_node=1"
    )
    assert slurm["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert (slurm["partition"], slurm["gpus_per_node"], slurm["cpus_per_task"]) == ("gpu", 1, 2)
    assert slurm["timeout_min"] == 60 and slurm["array_parallelism"] == 64
    assert slurm["submitit_folder"] == "${hydra.sweep.dir}/.submitit/%j"
    ray = _launcher("ray", "hydra.launcher.ray.init.address=auto")
    assert ray["_target_"] == "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
    assert ray["ray"]["init"] == {"address": "auto", "num_cpus": None}
    assert ray["ray"]["remote"] == {"num_cpus": 1, "num_gpus": 0, "max_calls": 1}


@pytest.mark.skipif(find_spec("hydra_plugins.hydra_ray_launcher") is not None, reason="installed")
def test_a_launcher_without_its_plugin_gets_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "seed=1,2", "hydra/launcher=ray"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "regexp: error: hydra/launcher=ray needs the hydra-ray-launcher package: "
        "pip install hydra-ray-launcher\n"
    )
    assert not (tmp_path / "outputs").exists()


# ---------------------------------------------------------------- end to end (slow)


def _sweep(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regexp.cli", "sweep", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def default_summary(tmp_path_factory) -> pd.DataFrame:
    """The same 3-job sweep through the default (batched) launcher, in process."""
    sweep_dir = tmp_path_factory.mktemp("default") / "sweep"
    assert main(["sweep", *TINY, f"hydra.sweep.dir={sweep_dir}"]) == 0
    return pd.read_csv(sweep_dir / "summary.csv")


def _assert_same_summary(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    for col in ("job", "name", "seed", "status", "n_params"):
        assert list(got[col]) == list(want[col]), col
    for col in ("train_mse", "val_mse", "train_loss", "val_loss"):
        # batched (stacked) vs one-by-one training: rounding only (see test_batched)
        assert got[col].to_numpy() == pytest.approx(want[col].to_numpy(), rel=1e-4), col


@pytest.mark.slow
@pytest.mark.parametrize(
    "launcher",
    [
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"],
    ],
    ids=["joblib", "submitit_local"],
)
def test_parallel_launchers_give_the_default_summary(tmp_path, default_summary, launcher):
    sweep_dir = tmp_path / "sweep"
    proc = _sweep(tmp_path, *TINY, *launcher, f"hydra.sweep.dir={sweep_dir}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "validated against" not in proc.stderr
    _assert_same_summary(pd.read_csv(sweep_dir / "summary.csv"), default_summary)
    assert sorted(p.name for p in sweep_dir.iterdir() if p.name.isdigit()) == ["0", "1", "2"]


@pytest.mark.slow
def test_resume_through_joblib_leaves_ok_folders_intact(tmp_path, default_summary):
    sweep_dir = tmp_path / "sweep"
    assert main(["sweep", *TINY, f"hydra.sweep.dir={sweep_dir}"]) == 0
    (sweep_dir / "1" / "metrics.json").unlink()  # job 1 killed before its last write
    digest = {
        k: {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (sweep_dir / k).rglob("*")
            if p.is_file()
        }
        for k in "02"
    }
    proc = _sweep(
        tmp_path, "--resume", str(sweep_dir), "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for k in "02":
        files = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (sweep_dir / k).rglob("*")
            if p.is_file()
        }
        assert files == digest[k]
    _assert_same_summary(pd.read_csv(sweep_dir / "summary.csv"), default_summary)


def _summary_of(tmp_path, launcher: str, *extra: str) -> pd.DataFrame:
    """48 jobs in 2 units: [4] and [8] of both data draws as one program, [256] as another."""
    folder = tmp_path / launcher
    done = subprocess.run(
        [sys.executable, "-m", "regexp.cli", "sweep", f"hydra/launcher={launcher}",
         "hidden_units=[4],[8],[256]", "data.seed=1,2", "seed=range(0,8)", "train.epochs=30",
         "plots.enabled=false",
         f"hydra.sweep.dir={folder}", *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return pd.read_csv(folder / "summary.csv"), done


SAME = ["job", "hidden_units", "seed", "status", "train_mse", "val_mse", "n_params"]


@pytest.mark.slow
def test_submitit_runs_one_job_per_group_and_writes_what_the_default_launcher_does(tmp_path):
    local, _ = _summary_of(tmp_path, "batched")
    remote, done = _summary_of(tmp_path, "batched_submitit_local")
    assert "submitted 2 units as local jobs" in done.stdout + done.stderr
    assert len(remote) == 48 and (remote["status"] == "ok").all()
    pd.testing.assert_frame_equal(remote[SAME], local[SAME], rtol=1e-6)
    for job in (0, 47):  # the folders are whole: Hydra's files, weights, metrics
        folder = tmp_path / "batched_submitit_local" / str(job)
        assert (folder / ".hydra" / "config.yaml").is_file() and (folder / "regexp.log").is_file()
        assert (folder / "weights.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.skipif(find_spec("ray") is None, reason="needs ray: pip install -e .[ray]")
def test_ray_runs_one_task_per_group_and_writes_what_the_default_launcher_does(tmp_path):
    local, _ = _summary_of(tmp_path, "batched")
    remote, done = _summary_of(tmp_path, "batched_ray", "hydra.launcher.ray.init.num_cpus=2")
    assert "submitted 2 units as Ray tasks" in done.stdout + done.stderr
    assert len(remote) == 48 and (remote["status"] == "ok").all()
    pd.testing.assert_frame_equal(remote[SAME], local[SAME], rtol=1e-6)
