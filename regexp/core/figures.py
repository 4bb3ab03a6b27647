"""A run's figures: what the trained model shows (torch, here), drawn by regexp.plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from regexp.core.data import Dataset
from regexp.core.model import MLP
from regexp.core.settings import Settings

# (a regexp.plots function's name, its positional arguments (path first), its keywords)
PlotSpec = tuple[str, tuple[Any, ...], dict[str, Any]]


def architecture(hidden_units: tuple[int, ...]) -> str:
    """A short label: "5 x 1024" for repeated widths, else the list (titles must fit)."""
    if len(hidden_units) > 2 and len(set(hidden_units)) == 1:
        return f"{len(hidden_units)} x {hidden_units[0]} units"
    return f"hidden_units={list(hidden_units)}"


def plot_specs(
    out: Path, model: MLP, data: Dataset, settings: Settings, history: Any
) -> list[PlotSpec]:
    """The run's figures as (a regexp.plots function, its arguments): the model's
    part is done here; the drawing (~0.5 s a run, more than training a small model) is left
    to draw_plots, in this process or in a pool's."""
    specs: list[PlotSpec] = []

    def add(name: str, *args: Any, **kwargs: Any) -> None:
        specs.append((name, args, kwargs))

    pdir = out / "plots"
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
            add(
                "plot_layers",
                pdir / "layers.png",
                x_train[:, 0],
                y_train,
                grid[:, 0].numpy(),
                y_grid[:, 0].numpy(),
                hidden=hidden[0] if hidden and settings.plots.hidden else None,
                hidden_legend=bool(hidden) and hidden[0].shape[1] <= 16,
                title=f"{settings.name}: {architecture(settings.hidden_units)}",
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
            # 100 x 100 grid points: one forward pass of a 5 x 1024 model costs ~1 s at 40 000
            g1 = torch.linspace(data.x_val[:, 0].min().item(), data.x_val[:, 0].max().item(), 100)
            g2 = torch.linspace(data.x_val[:, 1].min().item(), data.x_val[:, 1].max().item(), 100)
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
                title=f"{settings.name}: {architecture(settings.hidden_units)}",
            )
    return specs


def draw_plots(specs: list[PlotSpec]) -> None:
    """Draw plot_specs' figures (matplotlib only: no torch needed in a pool's process)."""
    from regexp import plots

    for name, args, kwargs in specs:
        Path(args[0]).parent.mkdir(parents=True, exist_ok=True)
        getattr(plots, name)(*args, **kwargs)
