"""The starting weights: the seeded default, or a forward-only search (seed 001's grid-search
initialization).

`search_init` draws K seeded initializations (candidate 0 is the default init) and scores each
by the data loss of one forward pass on B training points, all K stacked into one forward of
regexp.train.model; `grid_init` is the blog's literal idea for models of at most two parameters
(a linear model y = w x + b): every point of a grid over [-span, span]^D. Scores are the data
loss without the penalty; nothing here computes a gradient. Weights are lists
[kernel [in, out], bias [out], ...] as regexp.train.model.seeded_layers draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from regexp.config.errors import ConfigError
from regexp.config.settings import Settings
from regexp.train.data import Dataset
from regexp.train.loss import data_losses
from regexp.train.model import seeded_layers


def candidate_seeds(seed: int, candidates: int) -> list[int]:
    """Seed of each candidate: the run's own seed first (the default init), then seeds
    derived from it, independent of K, so candidate k is the same for every K > k."""
    derived = np.random.SeedSequence(seed).generate_state(max(candidates - 1, 0), np.uint32)
    return [seed, *(int(s) % 2**31 for s in derived)]


def _batch(x: Tensor, y: Tensor, batch_size: int | None, seed: int) -> tuple[Tensor, Tensor]:
    if batch_size is None or batch_size >= len(x):
        return x, y
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(x), generator=gen)[:batch_size].to(x.device)
    return x[idx], y[idx]


def scores(stacked: Sequence[Tensor], x: Tensor, y: Tensor, task: str, activation: str) -> Tensor:
    """[K] data losses of K stacked weight sets; non-finite scores count as +inf."""
    out = data_losses(stacked, x, y, task, activation)
    return torch.where(torch.isfinite(out), out, torch.inf)


def _stack(sets: Sequence[Sequence[Tensor]]) -> list[Tensor]:
    """K weight lists -> the stacked layout (biases as [K, 1, out])."""
    return [
        torch.stack([s[j] for s in sets]).reshape(len(sets), -1, sets[0][j].shape[-1])
        for j in range(len(sets[0]))
    ]


def search_init(
    widths: Sequence[int], settings: Settings, data: Dataset
) -> tuple[list[Tensor], dict[str, Any]]:
    """(the best of init.candidates seeded initializations, info for metrics.json)."""
    init, device = settings.init, data.x_train.device
    seeds = candidate_seeds(settings.seed, init.candidates)
    sets = [[t.to(device) for t in seeded_layers(widths, s, init.mean, init.stddev)] for s in seeds]
    xb, yb = _batch(data.x_train, data.y_train, init.batch_size, settings.seed)
    scored = scores(_stack(sets), xb, yb, data.task, settings.activation)
    best = int(torch.argmin(scored))
    info = {
        "strategy": "search",
        "candidates": init.candidates,
        "batch_size": len(xb),
        "chosen": best,
        "chosen_seed": seeds[best],
        "score": scored[best].item(),
        "default_score": scored[0].item(),
    }
    return sets[best], info


def grid_init(
    default: Sequence[Tensor], settings: Settings, data: Dataset, span: float = 2.0
) -> tuple[list[Tensor], dict[str, Any]]:
    """(the best point of a grid over [-span, span]^D, info); D ≤ 2 (checked with the config).
    init.candidates is the number of grid values per parameter; the default init is scored
    too, as candidate 0."""
    points = settings.init.candidates
    if points < 2:
        raise ConfigError("init.candidates", f"grid needs at least 2 points per axis: {points}")
    flat = torch.cat([t.reshape(-1) for t in default])
    dims = flat.numel()
    axis = torch.linspace(-span, span, points, dtype=flat.dtype, device=flat.device)
    grid = torch.cartesian_prod(*[axis] * dims).reshape(-1, dims)
    vectors = torch.cat([flat[None], grid])  # row 0: the default init
    sizes = [t.numel() for t in default]
    sets = [[p.view_as(t) for p, t in zip(v.split(sizes), default)] for v in vectors]
    xb, yb = _batch(data.x_train, data.y_train, settings.init.batch_size, settings.seed)
    scored = scores(_stack(sets), xb, yb, data.task, settings.activation)
    best = int(torch.argmin(scored))
    info = {
        "strategy": "grid",
        "candidates": len(vectors),
        "batch_size": len(xb),
        "chosen": best,
        "chosen_point": vectors[best].tolist(),
        "score": scored[best].item(),
        "default_score": scored[0].item(),
    }
    return [t.clone() for t in sets[best]], info


def pick_init(settings: Settings, data: Dataset) -> tuple[list[Tensor], dict[str, Any] | None]:
    """The weights to start from, on data's device, as settings.init.strategy says; the info
    (None for "default") belongs in metrics.json under "init"."""
    init, device = settings.init, data.x_train.device
    widths = [data.n_in, *settings.hidden_units, 1]
    default = [t.to(device) for t in seeded_layers(widths, settings.seed, init.mean, init.stddev)]
    if init.strategy == "search":
        return search_init(widths, settings, data)
    if init.strategy == "grid":
        return grid_init(default, settings, data)
    return default, None
