"""A trained run's loss on a plane through its weights, θ + α·d1 + β·d2 (seed 001's
"Weights Traversal" applied to a fitted network): along two named scalar parameters, or two
filter-normalized random directions (Li et al. 2018). Every grid point is a forward pass; they
run stacked, many per call, never one Python iteration per point."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from regexp.config.errors import UsageError
from regexp.runs.layout import WEIGHTS
from regexp.runs.weights import load_run
from regexp.train.loss import data_losses

WEIGHT_BYTES_PER_CHUNK = 2**27  # stacked weights built per chunk of plane points (128 MiB)


def batched_loss(model, params: dict, x, y, task: str, chunk_bytes: int | None = None):
    """The data loss of `model` (an MLP) at K parameter sets, each value of `params` [K, *shape]
    in the model's state_dict layout: [K]. One stacked forward per chunk of sets."""
    stacked = []
    for i in range(len(model.layers)):
        stacked.append(params[f"layers.{i}.weight"].transpose(1, 2))  # [K, in, out]
        stacked.append(params[f"layers.{i}.bias"][:, None, :])
    kwargs = {"chunk_bytes": chunk_bytes} if chunk_bytes else {}
    return data_losses(stacked, x, y, task, model.activation, **kwargs)


def plane_losses(model, center: dict, d1: dict, d2: dict, alphas, betas, x, y, task: str):
    """Loss at center + a·d1 + b·d2 for every (a, b) in the grid: [len(betas), len(alphas)]."""
    aa, bb = torch.meshgrid(alphas, betas, indexing="xy")  # [len(betas), len(alphas)]
    a, b = aa.reshape(-1), bb.reshape(-1)
    per_point = sum(v.numel() * v.element_size() for v in center.values())
    chunk = max(1, WEIGHT_BYTES_PER_CHUNK // per_point)
    out = []
    for i in range(0, len(a), chunk):
        ca, cb = a[i : i + chunk], b[i : i + chunk]
        params = {}
        for name, c in center.items():
            shape = (-1,) + (1,) * c.dim()
            # Two fused in-place ops, not four temporaries: building the stacked weights
            # costs as much as the forward for wide models.
            point = torch.addcmul(c, ca.view(shape), d1[name])
            params[name] = point.addcmul_(cb.view(shape), d2[name])
        out.append(batched_loss(model, params, x, y, task))
    return torch.cat(out).reshape(aa.shape)


def filter_normalized_direction(params: dict, generator) -> dict:
    """A Gaussian direction whose every filter (a row: one output unit) has the norm of the
    same row of the weights (Li et al. 2018). Biases get 0, as in their default."""
    out = {}
    for name, p in params.items():
        if p.dim() <= 1:
            out[name] = torch.zeros_like(p)
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        rows, d_rows = p.reshape(p.shape[0], -1), d.reshape(p.shape[0], -1)
        scale = rows.norm(dim=1) / (d_rows.norm(dim=1) + 1e-10)
        out[name] = (d_rows * scale[:, None]).reshape(p.shape)
    return out


_SCALAR = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\[([\d,\s]*)\])?\s*$")


def scalar_direction(params: dict, spec: str) -> tuple[dict, str, float]:
    """The unit direction along one named scalar, e.g. `layers.0.weight[3,0]`.

    Returns (direction, canonical name, the scalar's current value).
    """
    match = _SCALAR.match(spec)
    if not match:
        raise UsageError(f"not a parameter name like layers.0.weight[3,0]: {spec!r}")
    name, index_text = match.group(1), match.group(2)
    if name not in params:
        raise UsageError(f"no parameter {name!r}; the model has: {', '.join(params)}")
    shape = tuple(params[name].shape)
    index = tuple(int(i) for i in index_text.split(",") if i.strip()) if index_text else ()
    if not index and params[name].numel() == 1:
        index = (0,) * len(shape)
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape)):
        raise UsageError(f"{spec!r}: {name} has shape {list(shape)}; give one index per axis")
    out = {n: torch.zeros_like(p) for n, p in params.items()}
    out[name][index] = 1.0
    canonical = f"{name}[{','.join(map(str, index))}]"
    return out, canonical, float(params[name][index])


@dataclass
class Plane:
    """A run's loss on a plane: grid[i, j] at (alpha[j], beta[i]), the axes' labels, a tag for
    file names, and what metrics a reader needs (info)."""

    alpha: np.ndarray  # [steps, steps], as np.meshgrid gives it
    beta: np.ndarray
    grid: np.ndarray
    labels: tuple[str, str]
    tag: str
    title: str
    info: dict = field(default_factory=dict)
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # the named scalars' values


def evaluate_plane(
    run_dir: Path,
    param_specs: list[str] | None,
    steps: int = 51,
    span: float = 1.0,
    seed: int = 0,
    split: str = "train",
) -> Plane:
    """The loss of a finished run on a plane through its trained weights."""
    run_dir = Path(run_dir)
    if not (run_dir / WEIGHTS).is_file():
        raise UsageError(f"{run_dir} is not a finished run folder (no {WEIGHTS})")
    if steps < 2:
        raise UsageError(f"--steps must be at least 2, got {steps}")
    if not span > 0:
        raise UsageError(f"--span must be positive, got {span}")
    settings, model, data = load_run(run_dir)
    center = {n: p.detach().clone() for n, p in model.named_parameters()}
    info: dict = {"split": split, "steps": steps, "span": span}
    if param_specs:
        (d1, name1, v1), (d2, name2, v2) = (scalar_direction(center, s) for s in param_specs)
        if name1 == name2:
            raise UsageError(f"the two directions are the same parameter: {name1}")
        labels = (f"Δ {name1} (at {v1:.3g})", f"Δ {name2} (at {v2:.3g})")
        tag = re.sub(r"[^\w]+", "_", f"{name1}__{name2}").strip("_")
        info.update(mode="params", params=[name1, name2], values=[v1, v2])
    else:
        gen = torch.Generator().manual_seed(seed)
        d1 = filter_normalized_direction(center, gen)
        d2 = filter_normalized_direction(center, gen)
        labels = ("α (filter-normalized direction 1)", "β (filter-normalized direction 2)")
        tag = f"random_seed{seed}"
        info.update(mode="random", seed=seed)
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_val, data.y_val)
    alphas = torch.linspace(-span, span, steps)
    grid = plane_losses(model, center, d1, d2, alphas, alphas, x, y, data.task).numpy()
    aa, bb = np.meshgrid(alphas.numpy(), alphas.numpy())
    columns = {name1: v1 + aa.ravel(), name2: v2 + bb.ravel()} if param_specs else {}
    loss_name = "BCE" if data.task == "classification" else "MSE"
    title = f"{settings.name}: {split} {loss_name} around the trained weights"
    centre = grid[steps // 2, steps // 2] if steps % 2 else float("nan")
    info.update(center_loss=float(centre), min_loss=float(np.nanmin(grid)), tag=tag)
    return Plane(aa, bb, grid, labels, tag, title, info, columns)
