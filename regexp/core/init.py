"""Forward-only search for a starting point (seed 001's grid-search initialization).

`search_init` draws K seeded initializations (candidate 0 is the default init), scores each by
the loss of one forward pass on B training points, all K stacked into one vmap'd forward,
and returns the best. `grid_init` is the blog's literal idea for models of at most two
parameters (a linear model y = w x + b): every point of a grid over [-span, span]^D.
Scores are the data loss without the penalty; nothing here computes a gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from regexp.core.errors import ConfigError
from regexp.tools.landscape import batched_loss

LossFn = Callable[[Tensor, Tensor], Tensor]


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


def search_init(
    model_factory: Callable[[int], nn.Module],
    x: Tensor,
    y: Tensor,
    candidates: int,
    batch_size: int | None,
    seed: int,
    loss: LossFn,
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """(state_dict of the best of K initializations, info for metrics.json).

    model_factory(s) returns the model initialized with seed s, on x's device.
    """
    if candidates < 1:
        raise ConfigError("init.candidates", f"must be at least 1, got {candidates}")
    if batch_size is not None and batch_size < 1:
        raise ConfigError("init.batch_size", f"must be at least 1 or null, got {batch_size}")
    seeds = candidate_seeds(seed, candidates)
    models = [model_factory(s) for s in seeds]
    params, buffers = torch.func.stack_module_state(models)
    if buffers:
        raise ValueError("search_init stacks parameters only; the model has buffers")
    xb, yb = _batch(x, y, batch_size, seed)
    scores = batched_loss(models[0], params, xb, yb, loss)
    scores = torch.where(torch.isfinite(scores), scores, torch.inf)
    best = int(torch.argmin(scores))
    info = {
        "strategy": "search",
        "candidates": candidates,
        "batch_size": len(xb),
        "chosen": best,
        "chosen_seed": seeds[best],
        "score": scores[best].item(),
        "default_score": scores[0].item(),
    }
    return models[best].state_dict(), info


def grid_init(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    points: int,
    batch_size: int | None,
    seed: int,
    loss: LossFn,
    span: float = 2.0,
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """(state_dict at the best point of a grid over [-span, span]^D, info); D ≤ 2.

    `points` is the number of grid values per parameter; `model` carries the default init,
    which is scored too.
    """
    flat = nn.utils.parameters_to_vector(model.parameters()).detach()
    dims = flat.numel()
    if dims > 2:
        raise ConfigError(
            "init.strategy",
            f"grid needs a model of at most 2 parameters (hidden_units=[] on 1-D data); this "
            f"one has {dims}: use init.strategy=search",
        )
    if points < 2:
        raise ConfigError("init.candidates", f"grid needs at least 2 points per axis: {points}")
    axis = torch.linspace(-span, span, points, dtype=flat.dtype, device=flat.device)
    grid = torch.cartesian_prod(*[axis] * dims).reshape(-1, dims)
    vectors = torch.cat([flat[None], grid])  # row 0: the default init
    params, offset = {}, 0
    for name, p in model.named_parameters():
        params[name] = vectors[:, offset : offset + p.numel()].reshape(-1, *p.shape)
        offset += p.numel()
    xb, yb = _batch(x, y, batch_size, seed)
    scores = batched_loss(model, params, xb, yb, loss)
    scores = torch.where(torch.isfinite(scores), scores, torch.inf)
    best = int(torch.argmin(scores))
    state = {name: v[best].clone() for name, v in params.items()}
    info = {
        "strategy": "grid",
        "candidates": len(vectors),
        "batch_size": len(xb),
        "chosen": best,
        "chosen_point": vectors[best].tolist(),
        "score": scores[best].item(),
        "default_score": scores[0].item(),
    }
    return state, info


def init_model(
    settings: Any, data: Any, build_model: Callable[[Any, int], nn.Module]
) -> tuple[nn.Module, dict[str, Any] | None]:
    """The model to train, initialized as settings.init.strategy says, on data's device.

    build_model(settings, n_in) is the runner's default init (seeded by settings.seed);
    the returned info (None for "default") belongs in metrics.json under "init".
    """
    from dataclasses import replace

    from regexp.core.evaluate import data_loss

    init = settings.init
    device = data.x_train.device
    model = build_model(settings, data.n_in).to(device)
    if init.strategy == "default":
        return model, None

    def loss(out: Tensor, target: Tensor) -> Tensor:
        return data_loss(data.task, out, target)

    x, y = data.x_train, data.y_train
    if init.strategy == "grid":
        state, info = grid_init(model, x, y, init.candidates, init.batch_size, settings.seed, loss)
    elif init.strategy == "search":
        state, info = search_init(
            lambda s: build_model(replace(settings, seed=s), data.n_in).to(device),
            x, y, init.candidates, init.batch_size, settings.seed, loss,
        )  # fmt: skip
    else:
        raise ConfigError("init.strategy", f"must be default, search or grid: {init.strategy!r}")
    model.load_state_dict(state)
    return model, info
