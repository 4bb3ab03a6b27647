"""Train K >= 1 MLPs of one depth as one program; `regexp run` is a program of one.

The parameters of all K models live in one flat buffer θ [K, P] (regexp.train.stack; models
of different widths padded to the widest, their padding held at 0); each layer's kernel
[K, in, out] and bias [K, 1, out] is a view of it. Models may train on different data draws
(regexp.train.data.stack): the first layer's batched product and the loss then take each
model's own inputs and targets. Gradients land in a buffer of the same layout, so the update
is one kernel call over θ per set of optimizer numbers and step count (regexp.train.steps);
with train.compile=true the step is one torch.compile'd graph.

Each model is a job with its own epochs, validation passes and early stopping
(regexp.train.program, regexp.train.stopping); a job that ends frees its row, which a Watch
may refill with a new job (regexp.train.watch). Per epoch the loop keeps [K] tensors only,
in buffers made before it (regexp.train.record); a job's history is built when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from regexp.config.settings import Settings
from regexp.system.allocator import keep_freed_memory
from regexp.system.progress import progress_reporter
from regexp.system.threads import threads_for
from regexp.train.data import Dataset
from regexp.train.loss import PenaltyTable
from regexp.train.model import seeded_layers
from regexp.train.program import Program, final_metrics
from regexp.train.record import Member
from regexp.train.stack import Stack
from regexp.train.steps import CompiledStep, EagerStep
from regexp.train.watch import Watch

__all__ = ["Member", "batches", "final_metrics", "fit"]


def batches(
    x: Tensor, y: Tensor, batch_size: int | None, gens: Sequence[torch.Generator]
) -> list[tuple[Tensor, Tensor]]:
    """Full batch, or shuffled mini-batches: each row's order depends only on its data seed,
    through gens (one per row; rows that share a generator share its order). One generator
    for a draw all models share (x [n, in]) gives one order; otherwise each row's batches
    are taken in its own order, from its own draw for stacked draws (x [K, n, in])."""
    n = x.shape[-2]
    if batch_size is None or batch_size >= n:
        return [(x, y)]
    if x.dim() == 2 and all(g is gens[0] for g in gens):
        perm = torch.randperm(n, generator=gens[0]).to(x.device)
        return [(x[idx], y[idx]) for idx in perm.split(batch_size)]
    drawn: dict[int, Tensor] = {}  # one permutation per generator, whichever rows share it
    for g in gens:
        if id(g) not in drawn:
            drawn[id(g)] = torch.randperm(n, generator=g)
    perms = torch.stack([drawn[id(g)] for g in gens]).to(x.device)
    if x.dim() == 2:
        return [(x[idx], y[idx]) for idx in perms.split(batch_size, dim=1)]
    rows = torch.arange(x.shape[0], device=x.device)[:, None]
    return [(x[rows, idx], y[rows, idx]) for idx in perms.split(batch_size, dim=1)]


def fit(
    settings: Sequence[Settings],
    data: Dataset,
    inits: Sequence[Sequence[Tensor]] | None = None,
    label: str = "train",
    display: Any = None,
    watch: Watch | None = None,
) -> list[Member]:
    """Train the program (equal stack_key: one depth, widths may differ) on data's device: one
    draw for all, or stacked draws, one per model. inits: each model's starting [kernel
    [in, out], bias [out], ...]; by default its seeded init. A model whose objective turns
    non-finite stops there with status "diverged", one that early stopping stops ends there
    (train.early_stopping); the others go on. display: a sweep's rich Progress to show the
    epochs in (regexp.system.progress). watch: sees each validation pass, may stop jobs and
    refill freed rows (regexp.train.watch). Returns each job's Member: the K given, then the
    refills in the order they started."""
    t0 = time.perf_counter()
    keep_freed_memory()
    first, k, task = settings[0], len(settings), data.task
    widths = [[data.n_in, *s.hidden_units, 1] for s in settings]
    if inits is None:
        inits = [
            seeded_layers(w, s.seed, s.init.mean, s.init.stddev) for w, s in zip(widths, settings)
        ]
    device = data.x_train.device
    stack = Stack(widths, inits, device)
    table = PenaltyTable.of([s.penalty for s in settings], len(widths[0]) - 1, device)
    step = (CompiledStep if first.train.compile else EagerStep)(stack, settings, table, task)
    if data.stacked:
        gens = [torch.Generator().manual_seed(s.data.seed) for s in settings]
    else:
        gens = [torch.Generator().manual_seed(first.data.seed)] * k
    program = Program(step, settings, data, gens, watch, label)
    epochs, batch_size, n = first.train.epochs, first.train.batch_size, data.n_train
    members: list[Member | None] = [None] * k
    # each job's time: its share of the program's time while it held a row, the program's
    # time split evenly among its live rows (constant between two ends of jobs)
    share, since = 0.0, t0
    tick = 0
    with (
        threads_for(stack.theta.numel(), first.train.threads),
        progress_reporter(epochs, label if k == 1 else f"{label} ({k} models)", display) as report,
    ):
        while live := program.live:
            tick += 1
            parts = batches(program.data.x_train, program.data.y_train, batch_size, program.gens)
            if len(parts) == 1:  # full batch: the mean is the step's own loss
                mean = torch.stack(step(*parts[0]))
            else:  # Keras's epoch loss: the mean over batches of the pre-update objective
                mean = sum(torch.stack(step(xb, yb)) * (xb.shape[-2] / n) for xb, yb in parts)
            program.record.epoch(mean)
            if not bool(torch.isfinite(mean).all()):
                program.diverged(mean[0], tick)
            if tick == program.next_pass:
                program.validate(tick)
            report(tick, mean)
            if not program.ending:
                continue
            # with the training's threads: a second thread waits at every barrier on a busy core
            freed = sorted(program.ending)
            done = program.finish(tick)
            now = time.perf_counter()
            share, since = share + (now - since) / live, now
            for job, member in done:
                member.seconds = share - job.share
                members.extend([None] * (job.number + 1 - len(members)))
                members[job.number] = member
                if watch is not None:
                    watch.finished(job.number, member)
            program.refill(freed, tick, share)
            program.compact(tick)
    return members  # type: ignore[return-value]
