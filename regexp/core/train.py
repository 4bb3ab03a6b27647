"""The training loop for one model: batches, penalty, optimizer, periodic evaluation, divergence."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from regexp.core.data import Dataset
from regexp.core.evaluate import data_loss, split_metrics
from regexp.core.optim import build_optimizer
from regexp.core.penalty import Penalty
from regexp.core.settings import Settings

log = logging.getLogger("regexp")


@dataclass
class TrainResult:
    history: pd.DataFrame  # one row per epoch
    status: str  # "ok" | "diverged"
    epochs: int  # epochs actually run
    seconds: float


def make_optimizer(model: nn.Module, settings: Settings) -> torch.optim.Optimizer:
    o = settings.optimizer
    return build_optimizer(
        model.parameters(),
        name=o.name,
        lr=o.lr,
        beta1=o.beta1,
        beta2=o.beta2,
        eps=o.eps,
        bias_correction=o.bias_correction,
    )


def batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int | None, gen: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Full batch, or shuffled mini-batches (the order depends only on the data seed)."""
    n = x.shape[0]
    if batch_size is None or batch_size >= n:
        yield x, y
        return
    perm = torch.randperm(n, generator=gen).to(x.device)
    for start in range(0, n, batch_size):
        idx = perm[start : start + batch_size]
        yield x[idx], y[idx]


@contextmanager
def progress_reporter(epochs: int, label: str) -> Iterator[Callable[[int, float], None]]:
    """A rich progress bar on a terminal; plain log lines (every 10 %) otherwise."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} epochs"),
            TextColumn("loss {task.fields[loss]:.4g}"),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=epochs, loss=float("nan"))
            yield lambda epoch, loss: bar.update(task, completed=epoch, loss=loss)
        return
    step = max(1, epochs // 10)

    def report(epoch: int, loss: float) -> None:
        if epoch % step == 0 or epoch == epochs:
            log.info("%s: epoch %d/%d, loss %.5g", label, epoch, epochs, loss)

    yield report


SMALL_MODEL = 200_000  # parameters; below this a step is per-op overhead, not arithmetic


@contextmanager
def threads_for(n_params: int, threads: int | None = None) -> Iterator[None]:
    """train.threads, or by default one intra-op thread for small models: extra threads only
    add barrier waits, and on a busy machine they made a [16,16] step 100x slower."""
    before = torch.get_num_threads()
    if threads is None and n_params < SMALL_MODEL:
        threads = 1
    if threads is not None and threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_objective(
    model: nn.Module, task: str, penalty: Penalty
) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(x, y) -> (objective, data loss), for the eager loop."""

    def objective(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fit = data_loss(task, model(xb), yb)
        return (fit + penalty() if penalty.active else fit), fit

    return objective


def train(
    model: nn.Module,
    data: Dataset,
    settings: Settings,
    penalty: Penalty,
    label: str = "train",
) -> TrainResult:
    """Fit the model in place; stop early with status "diverged" on a non-finite loss."""
    t0 = time.perf_counter()
    n = data.x_train.shape[0]
    compiled = None
    if settings.train.compile:  # the whole step as one graph: see regexp/compiled.py
        from regexp.core.compiled import CompiledStep

        compiled = CompiledStep(model, data.task, penalty, settings.optimizer, n)
    else:
        opt = make_optimizer(model, settings)
        objective = make_objective(model, data.task, penalty)
    epochs, eval_every = settings.train.epochs, settings.train.eval_every
    gen = torch.Generator().manual_seed(settings.data.seed)
    task = data.task
    rows: list[dict[str, float]] = []
    status = "ok"
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    with threads_for(n_params, settings.train.threads), progress_reporter(epochs, label) as report:
        for epoch in range(1, epochs + 1):
            sums = torch.zeros(2, device=data.x_train.device)  # objective, data loss
            for xb, yb in batches(data.x_train, data.y_train, settings.train.batch_size, gen):
                if compiled is not None:  # updates the model, adds the batch's share of the mean
                    compiled(xb, yb, sums)
                    continue
                loss, fit = objective(xb, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                # Keras's epoch `loss` is the mean over batches of the pre-update objective;
                # summed on the device so a step never waits for a host copy.
                sums += torch.stack((loss.detach(), fit.detach())) * xb.shape[0]
            total, fit_total = (sums if compiled is not None else sums / n).tolist()
            row = {"epoch": epoch, "train_loss": total}
            row["train_mse" if task == "regression" else "train_bce"] = fit_total
            if not math.isfinite(row["train_loss"]):
                status = "diverged"
                rows.append(row)
                log.warning("%s: loss is %s at epoch %d, stopping", label, row["train_loss"], epoch)
                break
            if epoch % eval_every == 0 or epoch == epochs:
                pen = penalty().item() if penalty.active else 0.0
                model.eval()
                for key, value in split_metrics(model, task, data.x_val, data.y_val, pen).items():
                    row[f"val_{key}"] = value
                if task == "classification":
                    train_m = split_metrics(model, task, data.x_train, data.y_train, pen)
                    row["train_accuracy"] = train_m["accuracy"]
                model.train()
            rows.append(row)
            report(epoch, row["train_loss"])
    return TrainResult(pd.DataFrame(rows), status, len(rows), time.perf_counter() - t0)
