"""regexp.figures.parallel: each axis normalised (log for λ, learning rates and MSE; other
values as ordered places), one line per run, the best named in the title."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from regexp.figures.parallel import axis_of, plot_parallel


def test_axes_are_normalised_log_linear_or_ordered():
    lam = axis_of("penalty.lam", pd.Series([1e-4, 1e-3, 1e-2, 1e-3]))
    assert lam.log and lam.positions == pytest.approx([0, 0.5, 1, 0.5])
    assert [label for _, label in lam.ticks] == ["0.0001", "0.001", "0.01"]  # a grid's values
    width = axis_of("hidden_units", pd.Series(["[8]", "[2]", "[8]"]))
    assert not width.log and width.positions.tolist() == [0.0, 1.0, 0.0]  # sweep order
    epochs = axis_of("train.epochs", pd.Series([100, 300, 200]))
    assert not epochs.log and epochs.positions == pytest.approx([0, 1, 0.5])
    one = axis_of("optimizer.lr", pd.Series([0.01, 0.01]))
    assert one.positions.tolist() == [0.5, 0.5]
    many = axis_of("val_mse", pd.Series(np.geomspace(0.01, 1, 20)))
    assert many.log and len(many.ticks) == 5 and many.ticks[-1] == (1.0, "1")


def test_parallel_png_names_the_best_run(tmp_path):
    runs = pd.DataFrame(
        {
            "job": [0, 1, 2, 3],
            "penalty.lam": [1e-4, 1e-2, 1e-4, 1e-2],
            "optimizer.name": ["adam", "adam", "sgd", "sgd"],
            "val_accuracy": [0.8, 0.9, 0.85, np.nan],  # a run without a value is left out
        }
    )
    axes = plot_parallel(tmp_path / "p.png", runs, ["penalty.lam", "optimizer.name"],
                         "val_accuracy", "maximize")  # fmt: skip
    assert [a.key for a in axes] == ["penalty.lam", "optimizer.name", "val_accuracy"]
    assert axes[2].positions == pytest.approx([0, 1, 0.5])
    with Image.open(tmp_path / "p.png") as img:
        assert img.mode == "P" and img.size[0] >= 700
        assert img.text["Title"] == (
            "parallel coordinates: penalty.lam, optimizer.name and val_accuracy"
        )
        assert img.text["Description"] == "best: job 1"  # accuracy: the highest
