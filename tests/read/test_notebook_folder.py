"""A reproduce folder read for regexp notebook: the published figures, runs by model and
draw, the order of the draws, and what is missing or not ok."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from regexp.config.compose import compose
from regexp.read import notebook_folder as nf
from regexp.read.notebook_lessons import MODELS, SHIPPED_SEED
from tests.read.reproduce_folders import published_runs, write_runs

# Cell [310] of the notebook, as printed.
TABLE_310 = """\
model_2units_c	0.0444497	0.0575317
model_8units	0.0427819	0.0535399
model_128units	0.033027	0.0429847
model_1024units	0.00960591	0.0246087
model_8192units	0.00923209	0.0246102
model_1layer	0.0421595	0.0513442
model_2layers	0.0310402	0.0433764
model_3layers	0.0239409	0.0433056
model_4layers	0.0110532	0.0273052
model_somany	0.00613459	0.0296568"""


def test_published_figures_match_the_notebooks_cells():
    figures = nf.load_figures()
    for line in TABLE_310.splitlines():
        model, train, val = line.split("\t")
        row = figures.loc[model]
        assert row["train_mse"] == float(train)
        assert row["val_mse"] == float(val)
        assert row["source_cell"] == "[310]"
    assert figures.loc["model_somany_l2_0p001", "val_mse"] == pytest.approx(0.0256242055)
    assert figures.loc["model_somany_l1_0p001", "val_mse"] == pytest.approx(0.0252837427)
    assert pd.isna(figures.loc["model_somany_l2_0p01", "val_mse"])  # not printed in [28]
    assert figures.loc["model_classification", "val_accuracy"] == 0.88
    assert figures.loc["model_classification_l2_0p001", "val_accuracy"] == 0.8801
    assert figures.loc["model_classification_l2_0p01", "val_accuracy"] == 0.9029
    assert set(figures.index) <= set(MODELS)


def test_the_shipped_seed_is_the_data_configs_seed():
    for data in ("regression", "classification"):
        assert compose([f"data={data}"]).data.seed == SHIPPED_SEED


def test_draws_come_shipped_first_then_in_increasing_order(tmp_path):
    root = tmp_path / "reproduce"
    for draw in (12, 3, SHIPPED_SEED, 11):
        write_runs(root, published_runs(), draw=draw)
    runs = nf.load_runs(root)
    assert nf.draws_of(runs) == [SHIPPED_SEED, 3, 11, 12]
    numbers = nf.per_draw(runs, [3])
    assert numbers[3]["model_8units"]["train_mse"] == 0.0427819
    assert nf.draw_label(None) == "the shipped draw" and nf.draw_label(3) == "data.seed=3"


def test_the_newest_run_of_a_model_on_a_draw_counts(tmp_path):
    root = write_runs(tmp_path / "reproduce", published_runs())
    rerun = root / "again" / "0"
    rerun.mkdir(parents=True)
    (rerun / "metrics.json").write_text(
        json.dumps({"name": "model_8units", "status": "ok", "train_mse": 0.1, "val_mse": 0.2})
    )
    runs = nf.load_runs(root).set_index("model")
    assert runs.loc["model_8units", "train_mse"] == 0.1


def test_missing_and_not_ok_runs_are_named_with_their_draw(tmp_path):
    root = tmp_path / "reproduce"
    runs = published_runs()
    write_runs(root, runs, draw=SHIPPED_SEED)
    del runs["model_8units"], runs["model_somany"]
    runs["model_4layers"]["status"] = "diverged"
    write_runs(root, runs, draw=3)
    table = nf.load_runs(root)
    assert nf.missing(table, nf.draws_of(table)) == [
        "model_8units on data.seed=3",
        "model_somany on data.seed=3",
    ]
    assert nf.not_ok(table) == ["model_4layers (diverged, data.seed=3)"]
    assert nf.missing(table.iloc[:0], [None]) == list(MODELS)
