"""One training step of a program's K stacked models: eager (EagerStep) or one compiled graph
(CompiledStep, train.compile=true), with the same objective and update formula
(regexp.train.loss, regexp.train.update).

Each model keeps its own step count t (Adam's bias correction uses its own β^t), so models
that joined the program at different times update as they would alone. A step also owns the
program's rows: freeze() takes models out of the update (θ, m, v and t stay as they are),
empty() also zeroes rows whose job ended, keep() drops rows (every buffer shrinks), place()
starts a new model in a row (its init, its optimizer numbers and λ's, m = v = 0, t = 0).
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from regexp.config.settings import Settings
from regexp.system.progress import say
from regexp.train import fused
from regexp.train.loss import PenaltyTable, add_penalty_grad, data_loss, objective, penalty
from regexp.train.model import output
from regexp.train.stack import Stack
from regexp.train.update import FAMILY, coefficients, corrects_bias, ewma_update

DIRECT_MIN_PARAMS = 1 << 16  # a program of one this big skips the flat gradient buffer
# The views of θ of a model with a 1-wide layer have strides that torch's "gradient layout
# contract" does not expect; autograd still adds into the preset .grad views in place
# (tests/train/test_engine.py checks the numbers), so the warning says nothing to a user.
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


def hyper_key(s: Settings) -> tuple[float, float, float, float, bool]:
    """A model's optimizer numbers: (lr, β1, β2, ε, bias correction)."""
    o = s.optimizer
    return (o.lr, o.beta1, o.beta2, o.eps, corrects_bias(o.name, o.bias_correction))


def _zero(rows: Sequence[int], *buffers: Tensor | None) -> None:
    """These rows of [K, ...] buffers set to 0."""
    for b in buffers:
        if b is not None:
            b.index_fill_(0, torch.tensor(list(rows), dtype=torch.long, device=b.device), 0.0)


@dataclass
class _Update:
    """Rows that share optimizer numbers and step count: one update call, their buffers."""

    key: tuple
    rows: list[int]
    buffers: tuple[list[Tensor], ...]  # (θ, g, m, v)
    t: int


class EagerStep:
    """One eager step: forward, objective, backward into the flat gradient, update.

    With K = 1 and a big model the gradients are autograd's own tensors: accumulating them
    into the preset flat .grad costs a zeroing and a copy of every gradient a step
    (docs/speed.md, trick 14a).
    With K > 1 the layers' views of θ are strided across models, which the fused kernels do
    not take, so the gradients go into the flat buffer."""

    def __init__(self, stack: Stack, settings: Sequence[Settings], table: PenaltyTable, task: str):
        self.stack, self.table, self.task = stack, table, task
        self.name, self.activation = settings[0].optimizer.name, settings[0].activation
        uses_m, uses_v = FAMILY[self.name]
        theta = stack.theta
        self.m = torch.zeros_like(theta) if uses_m or uses_v else None  # RMSprop: scratch
        self.v = torch.zeros_like(theta) if uses_v else None
        # big models only: on small ones one flat kernel call beats a list
        self.direct = stack.k == 1 and theta.shape[-1] >= DIRECT_MIN_PARAMS
        self.use_fused = fused.available(theta.device)
        self.keys = [hyper_key(s) for s in settings]
        self.t = [0] * stack.k
        self.live = [True] * stack.k
        self.updates: list[_Update] = []
        self._leaves()

    def _leaves(self) -> None:
        """Autograd's leaves over θ's views, their .grad views of the flat gradient."""
        self.leaves = [p.detach().requires_grad_() for p in self.stack.params]
        self.grad = None if self.direct else torch.zeros_like(self.stack.theta)
        for leaf, g in zip(self.leaves, [] if self.direct else self.stack.views(self.grad)):
            leaf.grad = g  # autograd adds into it in place: no per-step allocation
        self._regroup()

    def _counts(self) -> None:
        """Each row's step count back from its update, before the rows regroup."""
        for u in self.updates:
            for i in u.rows:
                self.t[i] = u.t

    def _regroup(self) -> None:
        rows: dict[tuple, list[int]] = {}
        for i, (key, t, live) in enumerate(zip(self.keys, self.t, self.live)):
            if live:
                rows.setdefault((key, t), []).append(i)
        self.updates = [_Update(key, r, self._buffers(r), t) for (key, t), r in rows.items()]

    def _buffers(self, rows: Sequence[int]) -> tuple[list[Tensor], ...]:
        """(θ, g, m, v) of these rows: the whole buffers when all K share the numbers."""
        if self.direct:  # per-layer views of the one model's row; gradients come per step
            pick = self.stack.views
        elif len(rows) == self.stack.k:
            pick = lambda b: [b]  # noqa: E731
        else:
            pick = lambda b: [b[i] for i in rows]  # noqa: E731
        uses_m, uses_v = FAMILY[self.name]
        return (
            pick(self.stack.theta),
            [] if self.direct else pick(self.grad),
            pick(self.m) if self.m is not None and (uses_m or self.use_fused) else [],
            pick(self.v) if self.v is not None else [],
        )

    def freeze(self, rows: Sequence[int]) -> None:
        """These models stay where they are: their rows leave the update."""
        self._counts()
        for i in rows:
            self.live[i] = False
        self._regroup()

    def empty(self, rows: Sequence[int]) -> None:
        """These rows' jobs ended: frozen, θ, m and v zero (a diverged model's NaN gone)."""
        self.freeze(rows)
        _zero(rows, self.stack.theta, self.m, self.v)

    def keep(self, rows: Sequence[int]) -> None:
        """Only these rows stay (the stack, the table, m, v and the gradient shrink)."""
        self._counts()
        self.stack.keep(rows)
        self.table = self.table.take(rows)
        index = torch.tensor(list(rows), dtype=torch.long, device=self.stack.theta.device)
        self.m = self.m.index_select(0, index) if self.m is not None else None
        self.v = self.v.index_select(0, index) if self.v is not None else None
        self.keys, self.t, self.live = ([x[i] for i in rows] for x in (self.keys, self.t,
                                                                       self.live))  # fmt: skip
        self._leaves()

    def place(self, row: int, s: Settings, widths: Sequence[int], init: Sequence[Tensor]) -> None:
        """A new model in this row: its init, λ's and optimizer numbers, m = v = 0, t = 0."""
        self.stack.place(row, widths, init)
        self.table.put(row, s.penalty)
        for state in (self.m, self.v):
            if state is not None:
                state[row].zero_()
        self._counts()
        self.keys[row], self.t[row], self.live[row] = hyper_key(s), 0, True
        self._regroup()

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
        mask = self.stack.mask
        if mask is not None:  # padded entries' gradients: 0, so they stay 0
            if self.direct:  # a narrower model placed into a program of one
                for g, m in zip(grads, self.stack.views(mask)):
                    g.mul_(m)
            else:
                self.grad.mul_(mask)
        with torch.no_grad():
            for u in self.updates:
                u.t += 1
                lr, beta1, beta2, eps, correct = u.key
                lr_t, eps_t = coefficients(self.name, lr, eps, correct, beta1**u.t, beta2**u.t)
                theta, g, m, v = u.buffers
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
    x: Tensor,
    y: Tensor,
    table: PenaltyTable,
    task: str,
    activation: str,
    name: str,
) -> tuple[Tensor, Tensor]:
    """EagerStep's step as one traceable function: gradients from torch.func, then the update
    formula with per-model numbers hyper = float64 [lr, β1, β2, ε, correct] of [K, 1, 1] each
    and powers = [β1^t, β2^t] of each model's step before, as state; masks: padded stacks'
    (as Stack.mask), else empty. A frozen model's row of hyper is lr = 0, β1 = β2 = 1: its
    θ, m, v and powers stay as they are."""
    grad_fn = torch.func.grad_and_value(objective, has_aux=True)
    grads, (_, (loss, fit)) = grad_fn(params, x, y, task, activation, table)
    if masks:
        grads = [g * m for g, m in zip(grads, masks)]
    lr, beta1, beta2, eps, correct = hyper.unbind(0)
    powers.mul_(hyper[1:3])
    lr_t, eps_t = coefficients(name, lr, eps, correct, powers[0], powers[1])
    ewma_update(params, grads, ms, vs, lr_t, beta1, beta2, eps_t)
    return loss, fit


@functools.cache
def _compiled() -> Callable[..., tuple[Tensor, Tensor]]:
    # one region for all callers: each architecture, batch shape and switch set is an entry
    return fused.compile_with_limit(
        _graph_step, 64, fullgraph=True, dynamic=False, options=_OPTIONS
    )


def _hyper_row(s: Settings) -> list[float]:
    lr, beta1, beta2, eps, correct = hyper_key(s)
    return [lr, beta1, beta2, eps, float(correct)]


class CompiledStep:
    """train.compile=true: the step as one compiled graph. The first call compiles (seconds;
    fewer with inductor's on-disk cache warm); it pays off on long runs (scripts/bench.py).
    keep() changes K, hence compiles the graph for the new shape once more."""

    def __init__(self, stack: Stack, settings: Sequence[Settings], table: PenaltyTable, task: str):
        self.stack, self.table, self.task = stack, table, task
        self.name, self.activation = settings[0].optimizer.name, settings[0].activation
        uses_m, uses_v = FAMILY[self.name]
        self.ms = [torch.zeros_like(p) for p in stack.params] if uses_m else []
        self.vs = [torch.zeros_like(p) for p in stack.params] if uses_v else []
        device = stack.theta.device
        rows = [_hyper_row(s) for s in settings]
        self.hyper = torch.tensor(rows, dtype=torch.float64, device=device).T.reshape(5, -1, 1, 1)
        self.powers = torch.ones(2, stack.k, 1, 1, dtype=torch.float64, device=device)
        self.masks = stack.views(stack.mask) if stack.mask is not None else []
        self.called = False

    def freeze(self, rows: Sequence[int]) -> None:
        rows = list(rows)
        self.hyper[0, rows] = 0.0
        self.hyper[1:3, rows] = 1.0

    def empty(self, rows: Sequence[int]) -> None:
        self.freeze(rows)
        _zero(rows, self.stack.theta, *self.ms, *self.vs)

    def keep(self, rows: Sequence[int]) -> None:
        self.stack.keep(rows)
        self.table = self.table.take(rows)
        index = torch.tensor(list(rows), dtype=torch.long, device=self.hyper.device)
        self.ms = [m.index_select(0, index) for m in self.ms]
        self.vs = [v.index_select(0, index) for v in self.vs]
        self.hyper, self.powers = self.hyper[:, index], self.powers[:, index]
        self.masks = self.stack.views(self.stack.mask) if self.stack.mask is not None else []

    def place(self, row: int, s: Settings, widths: Sequence[int], init: Sequence[Tensor]) -> None:
        self.stack.place(row, widths, init)
        self.table.put(row, s.penalty)
        for state in (*self.ms, *self.vs):
            state[row].zero_()
        new = torch.tensor(_hyper_row(s), dtype=torch.float64, device=self.hyper.device)
        self.hyper[:, row] = new.view(5, 1, 1)
        self.powers[:, row] = 1.0
        self.masks = self.stack.views(self.stack.mask) if self.stack.mask is not None else []

    def __call__(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        first = not self.called  # compiles: seconds without a word would look like a hang
        if first:
            say("compiling the training step (train.compile=true), this takes seconds ...")
            t0 = time.perf_counter()
        out = _compiled()(
            self.stack.params, self.masks, self.ms, self.vs, self.hyper, self.powers,
            x, y, self.table, self.task, self.activation, self.name,
        )  # fmt: skip
        if first:
            say(f"compiled the training step in {time.perf_counter() - t0:.1f} s")
            self.called = True
        return out
