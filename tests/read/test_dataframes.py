"""regexp.load, load_history and load_model: results at hand in Python, and `import regexp`
still light (no pandas, no torch)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

import regexp
from regexp.config.settings import validate
from regexp.read.notebook_lessons import SHIPPED_SEED
from regexp.runs.weights import build_model, save_weights
from tests.fixtures_runs import write_history
from tests.read.reproduce_folders import published_runs, write_runs


def test_import_regexp_loads_neither_pandas_nor_torch():
    code = "import sys, regexp; print(sorted({'pandas', 'torch'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
    assert {"load", "load_history", "load_model"} <= set(dir(regexp))
    with pytest.raises(AttributeError, match="no attribute 'loads'"):
        regexp.loads  # noqa: B018


def test_load_a_reproduce_folder_one_row_per_run(tmp_path):
    root = tmp_path / "reproduce"
    for draw in (SHIPPED_SEED, 1, 2):
        write_runs(root, published_runs(), draw=draw)
    (root / "not-a-run").mkdir()
    runs = regexp.load(root)
    assert len(runs) == 18 * 3
    assert sorted(set(runs["data.seed"])) == [1, 2, SHIPPED_SEED]
    somany = runs[runs["name"] == "model_somany"].set_index("data.seed")
    assert somany.loc[1, "val_mse"] == 0.0296568 and (runs["status"] == "ok").all()
    assert "data.seed" in runs.attrs["config_keys"] and "val_mse" in runs.attrs["metric_keys"]
    assert set(runs["path"]) == {str(p.parent) for p in root.rglob("metrics.json")}
    with pytest.raises(FileNotFoundError, match="nowhere"):
        regexp.load(tmp_path / "nowhere")


def test_load_history_and_load_model_of_a_run(tmp_path, cfg_of):
    cfg = cfg_of("hidden_units=[3]", "seed=2")
    (tmp_path / ".hydra").mkdir()
    OmegaConf.save(cfg, tmp_path / ".hydra" / "config.yaml")
    trained = build_model(validate(cfg), n_in=1)
    with torch.no_grad():
        trained.layers[0].weight.fill_(0.5)  # weights no init would give
    save_weights(tmp_path / "weights.safetensors", trained)
    write_history(tmp_path, scale=3.0, epochs=20, every=10)

    model = regexp.load_model(tmp_path)
    assert isinstance(model, torch.nn.Module) and not model.training
    assert torch.equal(model.layers[0].weight, torch.full((3, 1), 0.5))
    history = regexp.load_history(tmp_path)
    assert isinstance(history, pd.DataFrame) and len(history) == 20
    assert history["val_mse"].notna().tolist() == [e % 10 == 0 for e in range(1, 21)]
    assert history.loc[9, "val_mse"] == pytest.approx(0.3)
    with pytest.raises(FileNotFoundError, match="no history.csv"):
        regexp.load_history(tmp_path / ".hydra")
