"""`regexp landscape`: loss surfaces over two directions in weight space (seed 001, "Weights
Traversal").

Without a run folder it reproduces the blog's example: linear regression with w_true =
(3.5, 7), 45 points, the loss (a sum of squares, as in the blog) of a batch of 5 on a grid
w1 ∈ [−10, 10], w2 ∈ [−50, 50] with step 0.2, and the grid's minimum beside the true weights
and the batch's least-squares solution. `regexp landscape RUN_DIR` draws a trained run's loss
on a plane through its weights (regexp.tools.plane computes it).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from regexp.config.errors import UsageError
from regexp.config.output import claim_dir, output_root
from regexp.runs.layout import RunDir, write_atomic, write_json
from regexp.system.flags import ArgumentParser, number

if TYPE_CHECKING:
    from regexp.tools.plane import Plane

W_TRUE = (3.5, 7.0)
BLOG_POINTS, BLOG_BATCH, BLOG_STEP = 45, 5, 0.2
MAX_STEPS = 1001  # a run's plane: steps² forward passes
PLANE_FLAGS = ("params", "steps", "span", "split")


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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    write_atomic(path, buf.getvalue())


def plot_blog(grid: BlogGrid, folder: Path) -> None:
    w1, w2 = np.meshgrid(grid.w1, grid.w2)
    fig = Figure(figsize=(6, 6))
    ax = fig.subplots()
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

    fig = Figure(figsize=(7, 6))
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(w1, w2, grid.loss, cmap="viridis", rstride=10, cstride=4, linewidth=0)
    ax.set(xlabel="W1", ylabel="W2", zlabel="Loss", title="Loss surface of the batch")
    fig.tight_layout()
    _save_figure(fig, folder / "surface.png")


def write_blog(seed: int, parent: Path) -> tuple[Path, BlogGrid]:
    grid = blog_grid(seed)
    folder = claim_dir(parent, flag="--out")
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


def write_plane(run_dir: Path, plane: Plane) -> tuple[Path, Path]:
    """The plane's grid as CSV in the run folder and its figure in the run's plots/."""
    run = RunDir(run_dir)
    table = {"alpha": plane.alpha.ravel(), "beta": plane.beta.ravel(), "loss": plane.grid.ravel()}
    table.update(plane.columns)
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack(list(table.values())), delimiter=",",
               header=",".join(table), comments="", fmt="%.8g")  # fmt: skip
    csv_path = run.path / f"landscape_{plane.tag}.csv"
    write_atomic(csv_path, buf.getvalue())
    png_path = run.plots_dir / f"landscape_{plane.tag}.png"
    plot_plane(plane.alpha, plane.beta, plane.grid, plane.labels, plane.title, png_path)
    return png_path, csv_path


def plot_plane(aa, bb, z: np.ndarray, labels: tuple[str, str], title: str, path: Path) -> None:
    fig = Figure(figsize=(13, 5.5))
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


# ---- command line ---------------------------------------------------------------------------


def _check_writable(run_dir: Path) -> None:
    """UsageError before any work when the run folder (and its plots/) cannot take the
    landscape's CSV and figure: a read-only folder, a read-only disk."""
    run = RunDir(run_dir)
    for folder in (run.path, run.plots_dir):
        if folder.is_dir() and not os.access(folder, os.W_OK):
            raise UsageError(
                f"{run_dir}: cannot write into {folder} (read-only): a run's landscape is "
                "written beside its results"
            )


def cli(argv: list[str]) -> int:
    """`regexp landscape [RUN_DIR] [...]`; without RUN_DIR, the blog's example."""
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
    parser.add_argument("--steps", type=number(2, MAX_STEPS, integer=True),
                        help=f"grid points per axis (default 51, at most {MAX_STEPS})")  # fmt: skip
    parser.add_argument("--span", type=number(0, above=True),
                        help="grid from -SPAN to SPAN on each axis (default 1)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the blog data / directions")
    parser.add_argument("--split", choices=("train", "val"))
    parser.add_argument("--out", type=Path, default=output_root() / "landscape",
                        help="parent folder for the blog example")  # fmt: skip
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)

    if args.run_dir is None:
        given = [f"--{k}" for k in PLANE_FLAGS if getattr(args, k) is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: only for a run's plane (give a RUN_DIR)")
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
    _check_writable(args.run_dir)
    from regexp.tools.plane import evaluate_plane  # torch: only a run's plane needs it

    plane = evaluate_plane(
        args.run_dir,
        args.params,
        args.steps or 51,
        args.span or 1.0,
        args.seed,
        args.split or "train",
    )
    try:
        png, csv = write_plane(args.run_dir, plane)
    except OSError as err:  # a full disk
        where = err.filename or args.run_dir
        raise UsageError(f"{where}: cannot write the landscape: {err.strerror or err}") from None
    info = plane.info
    print(f"{info['split']} loss at the trained weights {info['center_loss']:.6g}, "
          f"lowest on the plane {info['min_loss']:.6g}")  # fmt: skip
    print(png)
    print(csv)
    return 0
