"""regexp.runs.job: one job end to end, through the task function the CLI hands Hydra (its
folder per the contract, its numbers recomputed from its files, its objective returned), and
a job whose config does not validate failing in its own folder."""

import json
import pickle

import pandas as pd
import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict
from safetensors.torch import load_file

from regexp.config.compose import compose
from regexp.runs import job
from regexp.runs.job import task
from regexp.runs.weights import load_run


def run_in(out, cfg):
    return job.run_in(out, cfg).metrics


def test_run_folder_numbers_recompute_from_saved_weights(tmp_path, cfg_of):
    lams = [0.01, 0.002, 0.003]
    m = run_in(tmp_path, cfg_of("hidden_units=[8,4]", "penalty=l2", f"penalty.lam={lams}"))
    assert m["status"] == "ok"
    weights = load_file(tmp_path / "weights.safetensors")
    expected = sum(
        lam * (weights[f"layers.{i}.weight"] ** 2).sum().item() for i, lam in enumerate(lams)
    )
    assert m["penalty"] == pytest.approx(expected, rel=1e-5)
    assert m["train_loss"] - m["train_mse"] == pytest.approx(m["penalty"], rel=1e-4)
    assert m["val_loss"] - m["val_mse"] == pytest.approx(m["penalty"], rel=1e-4)
    # the .pt alternative of the contract is not used; the state dict also loads weights-only
    _, model, data = load_run_from(tmp_path, cfg_of)
    with torch.no_grad():
        mse = ((model(data.x_val) - data.y_val) ** 2).mean().item()
    assert mse == pytest.approx(m["val_mse"], rel=1e-5)
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["epoch"]) == list(range(1, 51))
    assert history["val_mse"].notna().sum() == 5  # eval_every=10 over 50 epochs
    assert m["n_params"] == (1 * 8 + 8) + (8 * 4 + 4) + (4 + 1)


def load_run_from(folder, cfg_of):
    from omegaconf import OmegaConf

    (folder / ".hydra").mkdir(exist_ok=True)
    cfg = cfg_of("hidden_units=[8,4]", "penalty=l2", "penalty.lam=[0.01,0.002,0.003]")
    OmegaConf.save(cfg, folder / ".hydra" / "config.yaml")
    return load_run(folder)


def test_same_config_and_seed_give_identical_metrics(tmp_path, cfg_of):
    a = run_in(tmp_path / "a", cfg_of("seed=5", "penalty=l1"))
    b = run_in(tmp_path / "b", cfg_of("seed=5", "penalty=l1"))
    c = run_in(tmp_path / "c", cfg_of("seed=6", "penalty=l1"))
    keys = ("train_mse", "val_mse", "train_loss", "val_loss", "penalty")
    assert [a[k] for k in keys] == [b[k] for k in keys]
    assert a["train_mse"] != c["train_mse"]


def test_minibatch_and_classification(tmp_path, cfg_of):
    m = run_in(
        tmp_path,
        cfg_of(
            "data=classification",
            "data.n_val=500",
            "hidden_units=[16]",
            "train.batch_size=64",
            "optimizer.lr=0.01",
            epochs=30,
        ),
    )
    assert m["status"] == "ok"
    assert 0.5 < m["val_accuracy"] <= 1.0 and 0.5 < m["train_accuracy"] <= 1.0
    assert m["train_loss"] == pytest.approx(m["train_bce"] + m["penalty"], rel=1e-6)


def test_absurd_learning_rate_diverges_and_stops_early(tmp_path, cfg_of):
    m = run_in(
        tmp_path, cfg_of("optimizer=sgd", "optimizer.lr=1e6", "hidden_units=[64,64]", epochs=200)
    )
    assert m["status"] == "diverged"
    assert m["epochs"] < 200
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "diverged"


def test_tensorboard_logger_writes_scalars(tmp_path, cfg_of):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    m = run_in(tmp_path, cfg_of("logger=tensorboard", epochs=20))
    assert m["status"] == "ok"
    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    assert {"loss/train", "mse/train", "mse/val"} <= set(events.Tags()["scalars"])
    train_mse = [e.value for e in events.Scalars("mse/train")]
    history = pd.read_csv(tmp_path / "history.csv")
    assert train_mse == pytest.approx(list(history["train_mse"]), rel=1e-6)
    assert [e.step for e in events.Scalars("mse/val")] == [10, 20]


def test_search_init_records_its_choice_and_never_scores_worse(tmp_path, cfg_of):
    m = run_in(tmp_path, cfg_of("init.strategy=search", "init.candidates=16", epochs=5))
    info = m["init"]
    assert info["strategy"] == "search" and 0 <= info["chosen"] < 16
    assert info["score"] <= info["default_score"]


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


def test_the_task_writes_the_job_folder_and_returns_its_objective(hydra_job, tmp_path, quiet):
    value = task(hydra_job)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["epochs"] == 5 and "batched" not in metrics
    assert value == metrics["val_mse"]  # objective auto on regression data
    assert (tmp_path / "weights.safetensors").is_file()
    assert pickle.loads(pickle.dumps(task)) is task  # by reference, as workers receive it


def test_a_config_that_does_not_validate_fails_in_its_own_folder(hydra_job, tmp_path, quiet):
    with open_dict(hydra_job):
        hydra_job.train.epochs = -3
    value = task(hydra_job)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "failed" and value != value  # NaN to a sweeper
    assert metrics["error"].startswith("ConfigError: train.epochs")
