"""A run's figures: what the trained model shows (torch, here), drawn by regexp.figures.draw."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regexp.config.settings import Settings
from regexp.train.data import Dataset
from regexp.train.model import MLP

# (a regexp.figures.draw function's name, its positional arguments (path first), its keywords)
PlotSpec = tuple[str, tuple[Any, ...], dict[str, Any]]


def contributions(model: MLP, x: torch.Tensor) -> tuple[np.ndarray, float, np.ndarray]:
    """What layers.png draws below the fit: each unit of the last hidden layer's contribution
    to the raw output over x, [n, units] (its output weight × its activation); the output
    bias; and the raw output [n]. contributions.sum(1) + bias is the output (a logit if
    binary). Needs a hidden layer."""
    with torch.no_grad():
        hidden = model.hidden_outputs(x)[-1]
        out = model.layers[-1]
        contrib = hidden * out.weight[0]
        return contrib.numpy(), float(out.bias[0]), model(x)[:, 0].numpy()


def scores(metrics: Mapping[str, Any], task: str) -> dict[str, float]:
    """The final model's train and val MSE (accuracy for classification), for titles: the
    job's metrics already hold them (regexp.train.loss computed them on the same model)."""
    shown, key = ("accuracy", "accuracy") if task == "classification" else ("MSE", "mse")
    return {
        f"{split} {shown}": float(metrics[f"{split}_{key}"])
        for split in ("train", "val")
        if metrics.get(f"{split}_{key}") is not None
    }


def architecture(hidden_units: tuple[int, ...]) -> str:
    """A short label: "5 x 1024" for repeated widths, else the list (titles must fit)."""
    if len(hidden_units) > 2 and len(set(hidden_units)) == 1:
        return f"{len(hidden_units)} x {hidden_units[0]} units"
    return f"hidden_units={list(hidden_units)}"


def plot_specs(
    pdir: Path,
    fit_file: Path,
    model: MLP,
    data: Dataset,
    settings: Settings,
    history: Any,
    metrics: Mapping[str, Any],
) -> list[PlotSpec]:
    """The run's figures as (a regexp.figures.draw function, its arguments): the model's
    part is done here (metrics: the job's, for the titles' scores); the drawing is left to
    draw_plots, in this process or in a pool's."""
    specs: list[PlotSpec] = []

    def add(name: str, *args: Any, **kwargs: Any) -> None:
        specs.append((name, args, kwargs))

    add("plot_history", pdir / "history.png", history, smoothing=settings.plots.smoothing)
    x_train = data.x_train.cpu().numpy()
    y_train = data.y_train.cpu().numpy()[:, 0]
    with torch.no_grad():
        if data.n_in == 1:
            lo = min(data.x_train.min().item(), data.x_val.min().item())
            hi = max(data.x_train.max().item(), data.x_val.max().item())
            grid = torch.linspace(lo, hi, 400).unsqueeze(1)
            y_grid = model(grid)
            if data.task == "classification":
                y_grid = torch.sigmoid(y_grid)
            hidden = [h.numpy() for h in model.hidden_outputs(grid)]
            units: dict[str, Any] = {}
            if hidden and settings.plots.hidden:
                contrib, bias, _ = contributions(model, grid)
                last = "first" if len(hidden) == 1 else "last"
                units = dict(hidden=contrib, bias=bias, layer_name=f"{last} hidden layer")
                if data.task == "classification":  # the units add up to the logit
                    units["total_label"] = "sum + bias = logit"
            add(
                "plot_layers",
                pdir / "layers.png",
                x_train[:, 0],
                y_train,
                grid[:, 0].numpy(),
                y_grid[:, 0].numpy(),
                hidden_legend=bool(hidden) and hidden[-1].shape[1] <= 16,
                title=f"{settings.name}: {architecture(settings.hidden_units)}",
                x_val=data.x_val[:, 0].numpy(),
                y_val=data.y_val[:, 0].numpy(),
                scores=scores(metrics, data.task),
                **units,
            )
            add(
                "save_fit",
                fit_file,
                x_grid=grid[:, 0].numpy(),
                y_grid=y_grid[:, 0].numpy(),
                x_train=x_train[:, 0],
                y_train=y_train,
                x_val=data.x_val[:, 0].numpy(),
                y_val=data.y_val[:, 0].numpy(),
            )
            for k, acts in enumerate(hidden):
                add(
                    "plot_activations",
                    pdir / f"activations_layer{k}.png",
                    grid[:, 0].numpy(),
                    acts,
                    layer=k,
                    max_units=settings.plots.max_units,
                )
        elif data.n_in == 2 and data.task == "classification":
            # 100 x 100 grid points (a wide model's forward pass over many more is slow), over
            # train and val points alike, so the field covers every point drawn
            both = torch.cat([data.x_train, data.x_val])
            g1 = torch.linspace(both[:, 0].min().item(), both[:, 0].max().item(), 100)
            g2 = torch.linspace(both[:, 1].min().item(), both[:, 1].max().item(), 100)
            mesh = torch.cartesian_prod(g1, g2)
            prob = torch.sigmoid(model(mesh))[:, 0].reshape(len(g1), len(g2)).T
            add(
                "plot_decision_boundary",
                pdir / "decision_boundary.png",
                x_train,
                y_train,
                g1.numpy(),
                g2.numpy(),
                prob.numpy(),
                title=f"{settings.name}: {architecture(settings.hidden_units)} · "
                + ", ".join(f"{k} {v:.3g}" for k, v in scores(metrics, data.task).items()),
            )
    return specs
