"""Hand-made reproduce folders for the notebook's tests: every model of `make reproduce` with
the notebook's published numbers, laid out as the Makefile's sweeps (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from regexp.read.notebook_folder import load_figures
from regexp.read.notebook_lessons import CLASSIFIERS, METRICS, MODELS, TARGETS


def published_runs() -> dict[str, dict]:
    """Every model with the notebook's numbers as run metrics (L2 0.01 and the two 2-unit
    seeds the notebook leaves out filled in)."""
    figures = load_figures()
    runs = {}
    for model in MODELS:
        metrics = {"name": model, "status": "ok"}
        if model in figures.index:
            for key in METRICS:
                if pd.notna(figures.loc[model, key]):
                    metrics[key] = float(figures.loc[model, key])
        runs[model] = metrics
    runs["model_somany_l2_0p01"].update(train_mse=0.02, val_mse=0.026)
    runs["model_2units_a"].update(train_mse=0.5, val_mse=0.5)
    runs["model_2units_b"].update(train_mse=0.06, val_mse=0.07)
    return runs


def scaled(runs: dict[str, dict], scale: float, accuracies: tuple) -> dict[str, dict]:
    """The runs with every MSE times scale (ratios unchanged) and the classifiers'
    accuracies given."""
    out = {m: dict(r) for m, r in runs.items()}
    for metrics in out.values():
        for key in ("train_mse", "val_mse"):
            if key in metrics:
                metrics[key] *= scale
    for model, accuracy in zip(CLASSIFIERS, accuracies):
        out[model]["val_accuracy"] = accuracy
    return out


def write_runs(root: Path, runs: dict[str, dict], draw: int | None = None) -> Path:
    """Laid out as the Makefile's sweeps: root/<target>/<job>/, with metrics.json, and with
    .hydra/config.yaml naming the data.seed when a draw is given."""
    for target, models in TARGETS.items():
        for job, model in enumerate(models):
            if model in runs:
                folder = root / target / (str(job) if draw is None else f"{draw}-{job}")
                folder.mkdir(parents=True)
                (folder / "metrics.json").write_text(json.dumps(runs[model]))
                if draw is not None:
                    (folder / ".hydra").mkdir()
                    (folder / ".hydra" / "config.yaml").write_text(
                        f"name: {model}\ndata:\n  seed: {draw}\n"
                    )
    return root
