"""Train K >= 1 MLPs of one depth as one program; `regexp run` is a group of one.

The parameters of all K models live in one flat buffer θ [K, P] (regexp.train.stack; models
of different widths padded to the widest, their padding held at 0); each layer's kernel
[K, in, out] and bias [K, 1, out] is a view of it. Models may train on different data draws
(regexp.train.data.stack): the first layer's batched product and the loss then take each
model's own inputs and targets. Gradients land in a buffer of the same layout (autograd
accumulates into preset `.grad` views), so the update is one kernel call over θ per set of
optimizer numbers (regexp.train.fused), and the models' λ's, learning rates and β's are
per-model tables. A group of one big model takes autograd's gradients as they are instead
(its views of θ are contiguous, so the fused kernel runs over the per-layer lists). With
train.compile=true the same objective and update formula (regexp.train.loss,
regexp.train.update) run as one torch.compile'd graph instead.

Per epoch the loop keeps [K] tensors only, in buffers made before it; histories are built
once at the end.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from regexp.config.settings import Settings
from regexp.system.allocator import keep_freed_memory
from regexp.system.progress import progress_reporter, say
from regexp.system.threads import threads_for
from regexp.train import fused
from regexp.train.data import Dataset
from regexp.train.history import History
from regexp.train.loss import (
    PenaltyTable,
    add_penalty_grad,
    data_loss,
    metrics,
    objective,
    penalty,
)
from regexp.train.model import output, seeded_layers
from regexp.train.stack import Group
from regexp.train.update import FAMILY, coefficients, corrects_bias, ewma_update

log = logging.getLogger("regexp")
DIRECT_MIN_PARAMS = 1 << 16  # a group of one this big skips the flat gradient buffer
# The views of θ of a model with a 1-wide layer have strides that torch's "gradient layout
# contract" does not expect; autograd still adds into the preset .grad views in place
# (tests/train/test_engine.py checks the numbers), so the warning says nothing to a user.
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


@dataclass
class Member:
    """One model's outcome: MLP-layout weights (CPU), history, status and final metrics."""

    state: dict[str, Tensor]
    history: History
    status: str  # "ok" | "diverged"
    epochs: int  # epochs actually run
    seconds: float  # its share of the group's training time
    metrics: dict[str, float]  # train_/val_ mse, loss, (bce, accuracy), and penalty


def _hyper_sets(settings: Sequence[Settings]) -> dict[tuple, list[int]]:
    """Rows of the group that share (lr, β1, β2, ε, bias correction)."""
    sets: dict[tuple, list[int]] = {}
    for i, s in enumerate(settings):
        o = s.optimizer
        key = (o.lr, o.beta1, o.beta2, o.eps, corrects_bias(o.name, o.bias_correction))
        sets.setdefault(key, []).append(i)
    return sets


class EagerStep:
    """One eager step: forward, objective, backward into the flat gradient, update.

    With K = 1 and a big model the gradients are autograd's own tensors: accumulating them
    into the preset flat .grad costs a zeroing and a copy of every gradient a step
    (docs/speed.md, trick 14a).
    With K > 1 the layers' views of θ are strided across models, which the fused kernels do
    not take, so the gradients go into the flat buffer."""

    def __init__(self, group: Group, settings: Sequence[Settings], table: PenaltyTable, task: str):
        self.group, self.table, self.task = group, table, task
        self.name, self.activation = settings[0].optimizer.name, settings[0].activation
        uses_m, uses_v = FAMILY[self.name]
        theta = group.theta
        self.m = torch.zeros_like(theta) if uses_m or uses_v else None  # RMSprop: scratch
        self.v = torch.zeros_like(theta) if uses_v else None
        self.leaves = [p.detach().requires_grad_() for p in group.params]
        # big models only: on small ones one flat kernel call beats a list
        self.direct = group.k == 1 and theta.shape[-1] >= DIRECT_MIN_PARAMS
        self.grad = None if self.direct else torch.zeros_like(theta)
        for leaf, g in zip(self.leaves, [] if self.direct else group.views(self.grad)):
            leaf.grad = g  # autograd adds into it in place: no per-step allocation
        self.use_fused = fused.available(theta.device)
        self.sets = _hyper_sets(settings)
        self.rows = {key: self._buffers(rows) for key, rows in self.sets.items()}
        self.t = 0

    def _buffers(self, rows: Sequence[int]) -> tuple[list[Tensor], ...]:
        """(θ, g, m, v) of these rows: the whole buffers when all K share the numbers."""
        if self.direct:  # per-layer views of the one model's row; gradients come per step
            pick = self.group.views
        elif len(rows) == self.group.k:
            pick = lambda b: [b]  # noqa: E731
        else:
            pick = lambda b: [b[i] for i in rows]  # noqa: E731
        uses_m, uses_v = FAMILY[self.name]
        return (
            pick(self.group.theta),
            [] if self.direct else pick(self.grad),
            pick(self.m) if self.m is not None and (uses_m or self.use_fused) else [],
            pick(self.v) if self.v is not None else [],
        )

    def freeze(self, stopped: Sequence[int]) -> None:
        """Models that diverged stay where they stopped: their rows leave the update."""
        self.rows = {}
        for key, rows in self.sets.items():
            live = [i for i in rows if i not in stopped]
            if live:
                self.rows[key] = self._buffers(live)

    def gradients(self, x: Tensor, y: Tensor) -> tuple[list[Tensor], Tensor, Tensor]:
        """(each leaf's gradient of the objective, [K] objectives, [K] data losses). Only the
        data loss goes through autograd; the penalty's gradient is added by its formula
        (loss.add_penalty_grad), in one pass per layer where autograd makes five."""
        fit = data_loss(self.task, output(self.leaves, x, self.activation), y)
        if self.direct:
            grads = [g.contiguous() for g in torch.autograd.grad(fit.sum(), self.leaves)]
        else:
            fit.sum().backward()
            grads = [leaf.grad for leaf in self.leaves]
        fit = fit.detach()
        if not self.table.active:
            return grads, fit, fit
        add_penalty_grad(grads, self.leaves, self.table)
        with torch.no_grad():
            return grads, fit + penalty(self.leaves, self.table), fit

    def __call__(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        grads, loss, fit = self.gradients(x, y)
        if self.group.mask is not None:  # padded entries' gradients: 0, so they stay 0
            self.grad.mul_(self.group.mask)
        self.t += 1
        with torch.no_grad():
            for (lr, beta1, beta2, eps, correct), (theta, g, m, v) in self.rows.items():
                lr_t, eps_t = coefficients(
                    self.name, lr, eps, correct, beta1**self.t, beta2**self.t
                )
                g = grads if self.direct else g
                if self.use_fused:
                    fused.fused_update(self.name, theta, g, m, v, lr_t, beta1, beta2, eps_t)
                else:
                    ewma_update(theta, g, m, v, lr_t, beta1, beta2, eps_t)
            if self.grad is not None:
                self.grad.zero_()
        return loss, fit


# Per-call overhead of a small compiled step (docs/speed.md, trick 14c): inductor's wrapper
# re-checks shapes that the guards (dynamic=False) pin, and dynamo guards this module's
# globals, as callers here keep.
_OPTIONS = {
    "size_asserts": False,
    "alignment_asserts": False,
    "scalar_asserts": False,
    "guard_filter_fn": torch.compiler.skip_guard_on_globals_unsafe,
}


def _graph_step(
    params: list[Tensor],
    masks: list[Tensor],
    ms: list[Tensor],
    vs: list[Tensor],
    hyper: Tensor,
    powers: Tensor,
    active: Tensor,
    x: Tensor,
    y: Tensor,
    table: PenaltyTable,
    task: str,
    activation: str,
    name: str,
) -> tuple[Tensor, Tensor]:
    """EagerStep's step as one traceable function: gradients from torch.func, then the update
    formula with per-model numbers hyper = float64 [lr, β1, β2, ε, correct] of [K, 1, 1] each
    and powers = [β1^t, β2^t] of the step before, as state; masks: padded groups' (as
    Group.mask), else empty."""
    grad_fn = torch.func.grad_and_value(objective, has_aux=True)
    grads, (_, (loss, fit)) = grad_fn(params, x, y, task, activation, table)
    if masks:
        grads = [g * m for g, m in zip(grads, masks)]
    lr, beta1, beta2, eps, correct = hyper.unbind(0)
    powers.mul_(hyper[1:3])
    lr_t, eps_t = coefficients(name, lr, eps, correct, powers[0], powers[1])
    ewma_update(params, grads, ms, vs, lr_t * active, beta1, beta2, eps_t)
    return loss, fit


@functools.cache
def _compiled() -> Callable[..., tuple[Tensor, Tensor]]:
    # one region for all callers: each architecture, batch shape and switch set is an entry
    return fused.compile_with_limit(
        _graph_step, 64, fullgraph=True, dynamic=False, options=_OPTIONS
    )


class CompiledStep:
    """train.compile=true: the step as one compiled graph. The first call compiles (seconds;
    fewer with inductor's on-disk cache warm); it pays off on long runs (scripts/bench.py)."""

    def __init__(self, group: Group, settings: Sequence[Settings], table: PenaltyTable, task: str):
        self.group, self.table, self.task = group, table, task
        self.name, self.activation = settings[0].optimizer.name, settings[0].activation
        uses_m, uses_v = FAMILY[self.name]
        self.ms = [torch.zeros_like(p) for p in group.params] if uses_m else []
        self.vs = [torch.zeros_like(p) for p in group.params] if uses_v else []
        rows = []
        for s in settings:
            o = s.optimizer
            rows.append(
                [o.lr, o.beta1, o.beta2, o.eps, float(corrects_bias(o.name, o.bias_correction))]
            )
        device = group.theta.device
        self.hyper = torch.tensor(rows, dtype=torch.float64, device=device).T.reshape(5, -1, 1, 1)
        self.powers = torch.ones(2, group.k, 1, 1, dtype=torch.float64, device=device)
        self.active = torch.ones(group.k, 1, 1, dtype=torch.float64, device=device)
        self.masks = group.views(group.mask) if group.mask is not None else []
        self.called = False

    def freeze(self, stopped: Sequence[int]) -> None:
        self.active[list(stopped)] = 0.0

    def __call__(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        first = not self.called  # compiles: seconds without a word would look like a hang
        if first:
            say("compiling the training step (train.compile=true), this takes seconds ...")
            t0 = time.perf_counter()
        out = _compiled()(
            self.group.params, self.masks, self.ms, self.vs, self.hyper, self.powers, self.active,
            x, y, self.table, self.task, self.activation, self.name,
        )  # fmt: skip
        if first:
            say(f"compiled the training step in {time.perf_counter() - t0:.1f} s")
            self.called = True
        return out


def batches(
    x: Tensor, y: Tensor, batch_size: int | None, gens: Sequence[torch.Generator]
) -> list[tuple[Tensor, Tensor]]:
    """Full batch, or shuffled mini-batches: the order depends only on the data seed, one
    generator for a draw all models share (x [n, in]), one per model for stacked draws
    (x [K, n, in]), each model's batches then taken from its own draw in its own order."""
    n = x.shape[-2]
    if batch_size is None or batch_size >= n:
        return [(x, y)]
    if x.dim() == 2:
        perm = torch.randperm(n, generator=gens[0]).to(x.device)
        return [(x[idx], y[idx]) for idx in perm.split(batch_size)]
    perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(x.device)
    rows = torch.arange(x.shape[0], device=x.device)[:, None]
    return [(x[rows, idx], y[rows, idx]) for idx in perms.split(batch_size, dim=1)]


def final_metrics(
    params: Sequence[Tensor], data: Dataset, activation: str, table: PenaltyTable
) -> list[dict[str, float]]:
    """Each model's train_/val_ metrics and penalty, as metrics.json holds them."""
    k = params[0].shape[0]
    with torch.no_grad():
        pen = penalty(params, table) if table.active else params[0].new_zeros(k)
        columns = {"penalty": pen}
        for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
            for key, value in metrics(params, x, y, data.task, activation, pen).items():
                columns[f"{split}_{key}"] = value
        keys = [key for key in columns if key != "penalty"] + ["penalty"]
        values = torch.stack([columns[key].double() for key in keys], 1).cpu().tolist()
    return [dict(zip(keys, row)) for row in values]


def fit(
    settings: Sequence[Settings],
    data: Dataset,
    inits: Sequence[Sequence[Tensor]] | None = None,
    label: str = "train",
    display: Any = None,
) -> list[Member]:
    """Train the group (equal group_key: one depth, widths may differ) on data's device: one
    draw for all, or stacked draws, one per model. inits: each model's starting [kernel
    [in, out], bias [out], ...]; by default its seeded init. A model whose objective turns
    non-finite stops there with status "diverged"; the others go on. display: a sweep's rich
    Progress to show the epochs in (regexp.system.progress)."""
    t0 = time.perf_counter()
    keep_freed_memory()
    first, k, task = settings[0], len(settings), data.task
    widths = [[data.n_in, *s.hidden_units, 1] for s in settings]
    if inits is None:
        inits = [
            seeded_layers(w, s.seed, s.init.mean, s.init.stddev) for w, s in zip(widths, settings)
        ]
    device = data.x_train.device
    group = Group(widths, inits, device)
    table = PenaltyTable.of([s.penalty for s in settings], len(widths[0]) - 1, device)
    step = (CompiledStep if first.train.compile else EagerStep)(group, settings, table, task)
    epochs, eval_every, n = first.train.epochs, first.train.eval_every, data.n_train
    seeds = [s.data.seed for s in settings] if data.stacked else [first.data.seed]
    gens = [torch.Generator().manual_seed(seed) for seed in seeds]
    stopped = [0] * k  # the epoch at which a model diverged
    # per epoch: [2, K] mean objective and data loss, in one buffer: a small tensor kept
    # each epoch lands in the heap among the step's freed activations and fragments it
    means = torch.empty(epochs, 2, k, device=device)
    ran = 0
    evals = _Evals(len(range(eval_every, epochs + 1, eval_every)) + 1)
    with (
        threads_for(group.theta.numel(), first.train.threads),
        progress_reporter(epochs, label if k == 1 else f"{label} ({k} models)", display) as report,
    ):
        for epoch in range(1, epochs + 1):
            parts = batches(data.x_train, data.y_train, first.train.batch_size, gens)
            if len(parts) == 1:  # full batch: the mean is the step's own loss
                mean = torch.stack(step(*parts[0]))
            else:  # Keras's epoch loss: the mean over batches of the pre-update objective
                mean = sum(torch.stack(step(xb, yb)) * (xb.shape[-2] / n) for xb, yb in parts)
            means[epoch - 1], ran = mean, epoch
            if not bool(torch.isfinite(mean).all()):
                _stop(mean[0], stopped, epoch, label)
                step.freeze([i for i, e in enumerate(stopped) if e])
            if epoch % eval_every == 0 or epoch == epochs:
                evals.add(epoch, _eval(group.params, data, first.activation, table))
            report(epoch, mean)
            if all(stopped):
                break
        # with the training's threads: a second thread waits at every barrier on a busy core
        outcome = final_metrics(group.params, data, first.activation, table)
    seconds = (time.perf_counter() - t0) / k
    histories = _histories(means[:ran], evals, stopped, task)
    return [
        Member(group.state_dict(i), h, "diverged" if stop else "ok", len(h), seconds, m)
        for i, (h, stop, m) in enumerate(zip(histories, stopped, outcome))
    ]


def _stop(loss: Tensor, stopped: list[int], epoch: int, label: str) -> None:
    for i in (~torch.isfinite(loss)).nonzero()[:, 0].tolist():
        if not stopped[i]:
            stopped[i] = epoch
            log.warning("%s: model %d's loss is %s at epoch %d, stopping it", label, i,
                        loss[i].item(), epoch)  # fmt: skip


def _eval(params: list[Tensor], data: Dataset, activation: str, table: PenaltyTable) -> dict:
    k = params[0].shape[0]
    with torch.no_grad():
        pen = penalty(params, table) if table.active else params[0].new_zeros(k)
    val = metrics(params, data.x_val, data.y_val, data.task, activation, pen)
    out = {f"val_{key}": v for key, v in val.items()}
    if data.task == "classification":
        train = metrics(params, data.x_train, data.y_train, data.task, activation, pen)
        out["train_accuracy"] = train["accuracy"]
    return out


class _Evals:
    """Each evaluation's [K] metrics by key, in buffers of `capacity` rows made at the first
    one (as fit's per-epoch buffer, for the same reason), and the epochs evaluated."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.epochs: list[int] = []
        self.values: dict[str, Tensor] = {}

    def add(self, epoch: int, row: dict[str, Tensor]) -> None:
        if not self.values:
            self.values = {key: v.new_empty(self.capacity, *v.shape) for key, v in row.items()}
        for key, v in row.items():
            self.values[key][len(self.epochs)] = v
        self.epochs.append(epoch)


def _histories(means: Tensor, evals: _Evals, stopped: list[int], task: str) -> list[History]:
    """Each model's history: one row per epoch up to the one where it diverged (that row
    without metrics); metrics at evaluated epochs, NaN between them."""
    loss = means.cpu().double().numpy()  # [E, 2, K]
    n_epochs = loss.shape[0]
    eval_epochs = np.array(evals.epochs, dtype=np.int64)
    n = len(eval_epochs)
    evaluated = {k: v[:n].cpu().double().numpy() for k, v in evals.values.items()}
    keys = list(evaluated)
    frames = []
    for i, stop in enumerate(stopped):
        last = stop or n_epochs
        columns = {"epoch": np.arange(1, last + 1), "train_loss": loss[:last, 0, i]}
        columns["train_mse" if task == "regression" else "train_bce"] = loss[:last, 1, i]
        rows = np.flatnonzero(eval_epochs < stop) if stop else np.arange(len(eval_epochs))
        if len(rows):
            for key in keys:
                column = np.full(last, np.nan)
                column[eval_epochs[rows] - 1] = evaluated[key][rows, i]
                columns[key] = column
        frames.append(History(columns))
    return frames
