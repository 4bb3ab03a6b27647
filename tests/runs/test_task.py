"""regexp.runs.task: the task function the CLI hands Hydra runs regexp.runs.job's run_job,
whose return is the job's objective; it pickles (joblib, submitit and Ray send it)."""

import json
import pickle

import pytest
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from regexp.config.compose import compose
from regexp.runs import job
from regexp.runs.task import task


def test_calling_the_task_runs_run_job_with_the_config(monkeypatch):
    seen = []

    def run_job(cfg):
        seen.append(cfg)
        return 0.125

    monkeypatch.setattr(job, "run_job", run_job)
    cfg = OmegaConf.create({"seed": 1})
    assert task(cfg) == 0.125 and seen == [cfg]
    assert pickle.loads(pickle.dumps(task)) is task  # by reference, as workers receive it


@pytest.fixture
def hydra_job(tmp_path):
    """A job's config and Hydra's config for it, as Hydra's run_job sets them: the folder
    is hydra.runtime.output_dir."""
    full = compose(["train.epochs=5", "hidden_units=[3]", "plots.enabled=false"], with_hydra=True)
    with open_dict(full):
        full.hydra.runtime.output_dir = str(tmp_path)
    task_cfg = OmegaConf.masked_copy(full, [k for k in full if k != "hydra"])
    before = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(full)
    yield task_cfg
    HydraConfig.instance().cfg = before


def test_a_real_call_writes_the_job_folder_and_returns_its_objective(hydra_job, tmp_path, quiet):
    value = task(hydra_job)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["epochs"] == 5
    assert value == metrics["val_mse"]  # objective auto on regression data
    assert (tmp_path / "weights.safetensors").is_file()
