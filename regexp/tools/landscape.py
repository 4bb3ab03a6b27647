"""Loss surfaces over two directions in weight space (seed 001, "Weights Traversal").

`regexp landscape` reproduces the blog's example: linear regression with w_true = (3.5, 7),
45 points, the loss (a sum of squares, as in the blog) of a batch of 5 on a grid
w1 ∈ [−10, 10], w2 ∈ [−50, 50] with step 0.2, and the grid's minimum beside the true weights
and the batch's least-squares solution.

`regexp landscape RUN_DIR` draws a trained run's loss on a plane through its weights,
θ + α·d1 + β·d2, along two named scalar parameters or two filter-normalized random
directions (Li et al. 2018). Every grid point is a forward pass; they run stacked, many per
vmap'd call, never one Python iteration per point.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regexp.config.errors import UsageError
from regexp.config.flags import ArgumentParser

W_TRUE = (3.5, 7.0)
BLOG_POINTS, BLOG_BATCH, BLOG_STEP = 45, 5, 0.2
WEIGHT_BYTES_PER_CHUNK = 2**27  # stacked weights built per chunk of plane points (128 MiB)


# ---- the blog's example ---------------------------------------------------------------------


@dataclass
class BlogGrid:
    x: np.ndarray  # [45, 2], second column all ones (the intercept)
    y: np.ndarray  # [45]
    w1: np.ndarray  # grid values of the slope
    w2: np.ndarray  # grid values of the intercept
    loss: np.ndarray  # [len(w2), len(w1)]: loss[i, j] at (w1[j], w2[i]), as the blog's meshgrid
    grid_min: tuple[float, float]
    lstsq: tuple[float, float]  # least squares on the same batch


def blog_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The blog's dummy data: x ~ U(0, 10) with an intercept column, skewed noise times 6."""
    rng = np.random.default_rng(seed)
    x = np.ones((BLOG_POINTS, 2))
    x[:, 0] = rng.random(BLOG_POINTS) * 10
    noise = (rng.random(BLOG_POINTS) + rng.standard_normal(BLOG_POINTS)) * 6
    return x, x @ np.array(W_TRUE) + noise


def blog_grid(seed: int = 0) -> BlogGrid:
    """Sum of squared residuals of the first 5 points at every grid point (broadcast, no loop)."""
    x, y = blog_data(seed)
    xb, yb = x[:BLOG_BATCH], y[:BLOG_BATCH]
    # linspace, not the blog's arange(-10, 10.1, 0.2): the same 101 × 501 points, exactly.
    w1 = np.linspace(-10, 10, 101)
    w2 = np.linspace(-50, 50, 501)
    pred = w1[None, :, None] * xb[:, 0] + w2[:, None, None] * xb[:, 1]
    loss = ((yb - pred) ** 2).sum(axis=-1)
    i, j = np.unravel_index(np.argmin(loss), loss.shape)
    ls = np.linalg.lstsq(xb, yb, rcond=None)[0]
    return BlogGrid(x, y, w1, w2, loss, (float(w1[j]), float(w2[i])), (float(ls[0]), float(ls[1])))


def _log_levels(z: np.ndarray, n: int = 30) -> np.ndarray:
    lo, hi = max(float(np.nanmin(z)), 1e-12), float(np.nanmax(z))
    return np.geomspace(lo, hi, n) if hi > lo else np.array([lo, lo * 1.0001])


def _save_figure(fig, path: Path) -> None:
    from regexp.runs.layout import write_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    write_atomic(path, buf.getvalue())


def plot_blog(grid: BlogGrid, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    w1, w2 = np.meshgrid(grid.w1, grid.w2)
    fig, ax = plt.subplots(figsize=(6, 6))
    cs = ax.contourf(w1, w2, grid.loss, levels=_log_levels(grid.loss), norm=LogNorm())
    fig.colorbar(cs, ax=ax, label="loss on the batch (sum of squares)", format="%.3g")
    ax.plot(*W_TRUE, "w*", ms=14, label=f"true weights {W_TRUE}")
    ax.plot(*grid.grid_min, "rx", ms=10, mew=2, label=f"grid minimum ({grid.grid_min[0]:.1f}, "
            f"{grid.grid_min[1]:.1f})")  # fmt: skip
    ax.plot(*grid.lstsq, "k+", ms=12, mew=2, label=f"least squares ({grid.lstsq[0]:.2f}, "
            f"{grid.lstsq[1]:.2f})")  # fmt: skip
    ax.set(xlabel="w1 (slope)", ylabel="w2 (intercept)", title="Loss of a batch of 5 points")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    _save_figure(fig, folder / "contour.png")
    plt.close(fig)

    fig = plt.figure(figsize=(7, 6))
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(w1, w2, grid.loss, cmap="viridis", rstride=10, cstride=4, linewidth=0)
    ax.set(xlabel="W1", ylabel="W2", zlabel="Loss", title="Loss surface of the batch")
    fig.tight_layout()
    _save_figure(fig, folder / "surface.png")
    plt.close(fig)


def write_blog(seed: int, parent: Path) -> tuple[Path, BlogGrid]:
    from regexp.config.output import claim_dir
    from regexp.runs.layout import write_atomic, write_json

    grid = blog_grid(seed)
    folder = claim_dir(parent)
    w1, w2 = np.meshgrid(grid.w1, grid.w2)
    table = np.column_stack([w1.ravel(), w2.ravel(), grid.loss.ravel()])
    buf = io.StringIO()
    np.savetxt(buf, table, delimiter=",", header="w1,w2,loss", comments="", fmt="%.10g")
    write_atomic(folder / "grid.csv", buf.getvalue())
    write_json(
        folder / "summary.json",
        {
            "seed": seed,
            "w_true": list(W_TRUE),
            "grid_min": list(grid.grid_min),
            "grid_min_loss": float(grid.loss.min()),
            "lstsq_on_batch": list(grid.lstsq),
            "grid_step": BLOG_STEP,
        },
    )
    plot_blog(grid, folder)
    return folder, grid


# ---- stacked evaluation of many parameter sets ---------------------------------------------


def batched_loss(model, params: dict, x, y, task: str, chunk_bytes: int | None = None):
    """The data loss of `model` (an MLP) at K parameter sets, each value of `params` [K, *shape]
    in the model's state_dict layout: [K]. One stacked forward per chunk of sets."""
    from regexp.train.loss import data_losses

    stacked = []
    for i in range(len(model.layers)):
        stacked.append(params[f"layers.{i}.weight"].transpose(1, 2))  # [K, in, out]
        stacked.append(params[f"layers.{i}.bias"][:, None, :])
    kwargs = {"chunk_bytes": chunk_bytes} if chunk_bytes else {}
    return data_losses(stacked, x, y, task, model.activation, **kwargs)


def plane_losses(model, center: dict, d1: dict, d2: dict, alphas, betas, x, y, task: str):
    """Loss at center + a·d1 + b·d2 for every (a, b) in the grid: [len(betas), len(alphas)]."""
    import torch

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
    import torch

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
    import torch

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


def run_landscape(
    run_dir: Path,
    param_specs: list[str] | None,
    steps: int = 51,
    span: float = 1.0,
    seed: int = 0,
    split: str = "train",
) -> tuple[Path, Path, dict]:
    """Evaluate and write a run's loss plane; returns (png path, csv path, info)."""
    import pandas as pd
    import torch

    from regexp.runs.layout import WEIGHTS, write_atomic
    from regexp.runs.weights import load_run

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
    table = pd.DataFrame({"alpha": aa.ravel(), "beta": bb.ravel(), "loss": grid.ravel()})
    if param_specs:
        table[name1] = v1 + table["alpha"]
        table[name2] = v2 + table["beta"]
    csv_path = run_dir / f"landscape_{tag}.csv"
    write_atomic(csv_path, table.to_csv(index=False, float_format="%.8g"))
    png_path = run_dir / "plots" / f"landscape_{tag}.png"
    loss_name = "BCE" if data.task == "classification" else "MSE"
    title = f"{settings.name}: {split} {loss_name} around the trained weights"
    plot_plane(aa, bb, grid, labels, title, png_path)
    centre = grid[steps // 2, steps // 2] if steps % 2 else float("nan")
    info.update(center_loss=float(centre), min_loss=float(np.nanmin(grid)), tag=tag)
    return png_path, csv_path, info


def plot_plane(aa, bb, z: np.ndarray, labels: tuple[str, str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig = plt.figure(figsize=(13, 5.5))
    ax = fig.add_subplot(1, 2, 1)
    finite = np.where(np.isfinite(z), z, np.nan)
    cs = ax.contourf(aa, bb, finite, levels=_log_levels(finite), norm=LogNorm())
    fig.colorbar(cs, ax=ax, label="loss", format="%.3g")
    ax.plot(0, 0, "r*", ms=12, label="trained weights")
    ax.set(xlabel=labels[0], ylabel=labels[1])
    ax.legend(loc="upper right", fontsize=8)
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    ax3.plot_surface(aa, bb, np.log10(np.clip(finite, 1e-12, None)), cmap="viridis", lw=0)
    ax3.set_xlabel(labels[0], fontsize=7)
    ax3.set_ylabel(labels[1], fontsize=7)
    ax3.set_zlabel("log10 loss")
    fig.suptitle(title)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)


# ---- command line ---------------------------------------------------------------------------


def cli(argv: list[str]) -> int:
    """`regexp landscape [RUN_DIR] [...]`; without RUN_DIR, the blog's example."""
    from regexp.config.output import output_root

    parser = ArgumentParser(
        prog="regexp landscape",
        description="Loss surfaces. Without RUN_DIR: the blog's linear-regression grid "
        "(outputs/landscape/DATE/TIME/). With RUN_DIR: the run's loss on a plane through its "
        "weights (CSV in the run folder, PNG in its plots/).",
    )
    parser.add_argument("run_dir", nargs="?", type=Path, help="a finished run folder")
    parser.add_argument(
        "--params",
        nargs=2,
        metavar="NAME",
        help="two scalar parameters, e.g. 'layers.0.weight[3,0]' 'layers.0.bias[3]' "
        "(default: two filter-normalized random directions)",
    )
    parser.add_argument("--steps", type=int, default=51, help="grid points per axis (51)")
    parser.add_argument(
        "--span", type=float, default=1.0, help="grid from -SPAN to SPAN along each direction"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the blog data / directions")
    parser.add_argument("--split", choices=("train", "val"), default="train")
    parser.add_argument("--out", type=Path, default=output_root() / "landscape",
                        help="parent folder for the blog example")  # fmt: skip
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)

    if args.run_dir is None:
        folder, grid = write_blog(args.seed, args.out)
        rows = (
            ("true weights", W_TRUE),
            (f"grid minimum (step {BLOG_STEP})", grid.grid_min),
            ("least squares on the batch", grid.lstsq),
        )
        for label, (w1, w2) in rows:
            print(f"{label:28} w1 = {w1:7.3f}  w2 = {w2:7.3f}")
        print(f"{'grid minimum loss':28} {grid.loss.min():.4g}")
        print(folder)
        return 0
    png, csv, info = run_landscape(
        args.run_dir, args.params, args.steps, args.span, args.seed, args.split
    )
    print(f"{info['split']} loss at the trained weights {info['center_loss']:.6g}, "
          f"lowest on the plane {info['min_loss']:.6g}")  # fmt: skip
    print(png)
    print(csv)
    return 0
