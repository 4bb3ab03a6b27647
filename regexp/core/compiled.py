"""The whole training step as one compiled graph (`train.compile=true`), for long runs.

Why: a step of a tiny model is pure per-op overhead in eager mode (some thirty dispatches for
forward, backward and update, ≈ 0.5 ms), and compiling the forward alone did not help on CPU.
Here the gradients come from torch.func.grad_and_value and the optimizer is written out as
tensor formulas, so torch.compile(fullgraph=True) sees the whole step as one program that
inductor fuses into a few C++ kernels. The first call compiles (seconds; fewer with inductor's
on-disk cache warm). Speed-ups measured by scripts/bench_compiled.py.

One function serves two callers: CompiledStep, one regexp.core.model.MLP whose parameters are
updated in place (through detached aliases, so the module stays live for evaluation, plots and
saving), and CompiledStackedStep, the K-model program of regexp.core.batched (kernels [K, in, out],
biases [K, 1, out], per-model λ's and optimizer settings, the `active` mask of diverged models).

The update is regexp.core.optim's EWMA family (batched.StackedOptimizer's formula): m = lerp(m, g,
1 − β1), v = β2 v + (1 − β2) g², θ −= lr/c1 · m / (√v / √c2 + ε) with c = 1 − β^t where
corrected, else 1. What varies between runs of one architecture (λ's, lr, β's, ε, and the step
count t, kept as the tensor [β1^t, β2^t]) is a tensor input, so a sweep compiles once per
graph; Python switches (task, activation, optimizer family, penalized tensors) and shapes pick
the graph. dynamic=False: a last, smaller mini-batch compiles a second graph rather than making
every shape symbolic (full batch is the main case).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from regexp.core.evaluate import data_loss
from regexp.core.model import ACTIVATIONS, MLP
from regexp.core.optim import FAMILY
from regexp.core.penalty import Penalty
from regexp.core.settings import OptimizerSettings

if TYPE_CHECKING:
    from regexp.core.batched import StackedModels, StackedPenalty, _Hyper

Terms = tuple[tuple[int, int], ...]  # (parameter index, power 2 or 1) of each penalty term

# Per-call overhead, ≈ 25 % of a [16, 16] step: inductor's wrapper re-checks shapes that the
# guards (dynamic=False) pin, and dynamo guards this module's globals (F, torch.func, ...) and
# that no two inputs are one tensor, as the callers here guarantee. Input guards all stay.
_OPTIONS = {
    "size_asserts": False,
    "alignment_asserts": False,
    "scalar_asserts": False,
    "guard_filter_fn": torch.compiler.skip_guard_on_globals_unsafe,
}


def _dense(h: Tensor, w: Tensor, b: Tensor, stacked: bool) -> Tensor:
    """One layer, h @ W + b. With one input or one output it is a broadcast product, or one
    followed by a sum, which inductor fuses with its neighbours: a GEMM call of such a shape
    is mostly call overhead (the first and last layers of the notebook's 1-D regression)."""
    if not stacked:  # w [out, in], b [out]; h [N, in]
        if w.shape[1] == 1:
            return h * w.T + b
        if w.shape[0] == 1:
            return (h * w).sum(-1, keepdim=True) + b
        return F.linear(h, w, b)
    # w [K, in, out], b [K, 1, out]; h [K, N, in], or the input [N, in] shared by all K
    if w.shape[1] == 1:
        return h * w + b
    if w.shape[2] == 1:
        return (h * w.transpose(1, 2)).sum(-1, keepdim=True) + b
    return torch.baddbmm(b, h.expand(w.shape[0], *h.shape) if h.dim() == 2 else h, w)


def _losses(
    params: list[Tensor],
    lam: Tensor,
    x: Tensor,
    y: Tensor,
    terms: Terms,
    task: str,
    activation: str,
    stacked: bool,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """(what to differentiate, (objective, data loss)); params = [w0, b0, w1, b1, ...]."""
    act = ACTIVATIONS[activation]
    last = len(params) // 2 - 1
    h = x
    for i in range(last + 1):
        h = _dense(h, params[2 * i], params[2 * i + 1], stacked)
        if i < last:
            h = act(h)
    if stacked:  # [K] losses, as batched._fit
        target = y.expand_as(h)
        if task == "classification":
            fit = F.binary_cross_entropy_with_logits(h, target, reduction="none").mean((1, 2))
        else:
            fit = (h - target).square().mean((1, 2))
    else:
        fit = data_loss(task, h, y)
    loss = fit
    for j, (i, power) in enumerate(terms):  # λ·Σw² or λ·Σ|w|, as regexp.core.penalty
        p = params[i].square() if power == 2 else params[i].abs()
        loss = loss + lam[j] * (p.sum((1, 2)) if stacked else p.sum())
    # models are independent: the gradient of the sum is each model's own gradient
    return (loss.sum() if stacked else loss), (loss, fit)


def coefficients(hyper: Tensor, powers: Tensor, uses_m: bool) -> Tensor:
    """This step's float32 [lr/c1, 1 − β1, β2, 1 − β2, √c2, ε] from the float64 hyper =
    [lr, β1, β2, ε, correct] and powers = [β1^t, β2^t] (c = 1 − β^t where corrected, else 1),
    computed in float64 like regexp.core.optim's Python floats."""
    lr, beta1, beta2, eps, correct = hyper.unbind(0)
    if uses_m:
        lr = lr / (1.0 - correct * powers[0])
    root_c2 = (1.0 - correct * powers[1]).sqrt()
    return torch.stack((lr, 1.0 - beta1, beta2, 1.0 - beta2, root_c2, eps)).float()


def _step(
    params: list[Tensor],
    ms: list[Tensor],
    vs: list[Tensor],
    coef: Tensor,
    powers: Tensor,
    hyper: Tensor,
    lam: Tensor,
    active: Tensor | None,
    x: Tensor,
    y: Tensor,
    sums: Tensor,
    n: int,
    terms: Terms,
    task: str,
    activation: str,
    stacked: bool,
    uses_m: bool,
    uses_v: bool,
) -> tuple[Tensor, Tensor]:
    """One update in place of params, ms, vs; sums += [objective, data loss] · batch / n.
    Returns the objective and data loss before the update.

    coef holds this step's coefficients, computed at the end of the step before: the loops
    over the weights then only load them (inductor would recompute a square root or a pow()
    per vector of 8 weights). powers = [β1^t, β2^t] is the step count t as state.
    """
    objective = functools.partial(
        _losses, terms=terms, task=task, activation=activation, stacked=stacked
    )
    grads, (_, (loss, fit)) = torch.func.grad_and_value(objective, has_aux=True)(params, lam, x, y)
    lr, keep1, beta2, keep2, root_c2, eps = coef.unbind(0)
    for i, (p, g) in enumerate(zip(params, grads)):
        step = g
        if uses_m:
            ms[i].lerp_(g, keep1)  # β1 m + (1 − β1) g
            step = ms[i]
        if uses_v:
            vs[i].mul_(beta2).add_(g.square() * keep2)
            step = step / (vs[i].sqrt() / root_c2 + eps)
        update = lr * step
        if active is not None:  # a diverged model stays where it stopped
            update = torch.where(active > 0, update, torch.zeros_like(update))
        p.sub_(update)
    powers.mul_(hyper[1:3])
    coef.copy_(coefficients(hyper, powers, uses_m))
    sums.add_(torch.stack((loss, fit)) * (x.shape[0] / n))
    return loss, fit


@functools.cache
def _compiled() -> Callable[..., tuple[Tensor, Tensor]]:
    # one region for all callers: each architecture, batch shape and switch set is an entry
    return torch.compile(_step, fullgraph=True, dynamic=False, recompile_limit=64, options=_OPTIONS)


class _Program:
    """Parameters (detached aliases, updated in place), optimizer state and switches."""

    def __init__(self, params: list[Tensor], name: str, hyper: Tensor, terms: list, lam: list):
        self.params = params
        uses_m, uses_v = self.uses = FAMILY[name]
        self.ms = [torch.zeros_like(p) for p in params] if uses_m else []
        self.vs = [torch.zeros_like(p) for p in params] if uses_v else []
        self.powers = hyper[1:3].clone()  # [β1^t, β2^t] at t = 1
        self.coef = coefficients(hyper, self.powers, uses_m)
        self.hyper, self.terms = hyper, tuple(terms)
        self.lam = torch.stack(lam) if lam else params[0].new_zeros(0)

    def run(
        self, x: Tensor, y: Tensor, sums: Tensor, active: Tensor | None, n: int, task: str, act: str
    ) -> tuple[Tensor, Tensor]:
        return _compiled()(
            self.params, self.ms, self.vs, self.coef, self.powers, self.hyper, self.lam,
            active, x, y, sums, n, self.terms, task, act, active is not None, *self.uses,
        )  # fmt: skip


class CompiledStep:
    """One MLP's step: step(x, y, sums) updates the model's parameters in place, adds the
    pre-update [objective, data loss] times batch / n to sums [2] and returns them."""

    def __init__(
        self, model: MLP, task: str, penalty: Penalty, optimizer: OptimizerSettings, n: int
    ):
        if not isinstance(model, MLP):
            raise TypeError(
                f"train.compile needs a regexp.core.model.MLP, got {type(model).__name__}"
            )
        tensors = [p for layer in model.layers for p in (layer.weight, layer.bias)]
        index = {id(p): i for i, p in enumerate(tensors)}
        terms, lam = [], []
        for power, table in ((2, penalty.l2), (1, penalty.l1)):
            for tensor, value in zip(penalty.tensors, table if table is not None else ()):
                if float(value) != 0.0:
                    terms.append((index[id(tensor)], power))
                    lam.append(value.detach().clone())
        o = optimizer
        correct = o.bias_correction if o.bias_correction is not None else o.name == "adam"
        params = [p.detach() for p in tensors]  # share the storage: the model stays live
        hyper = [o.lr, o.beta1, o.beta2, o.eps, float(correct)]
        hyper = torch.tensor(hyper, dtype=torch.float64, device=params[0].device)
        self.program = _Program(params, o.name, hyper, terms, lam)
        self.n, self.task, self.activation = n, task, model.activation

    def __call__(self, x: Tensor, y: Tensor, sums: Tensor) -> tuple[Tensor, Tensor]:
        return self.program.run(x, y, sums, None, self.n, self.task, self.activation)


class CompiledStackedStep:
    """regexp.core.batched's stacked step: step(x, y, sums, active), sums [2, K], active [K, 1, 1]
    (0 freezes a model). Updates the kernels and biases of `models` in place; returns the [K]
    objectives and data losses before the update."""

    def __init__(
        self,
        models: StackedModels,
        activation: str,
        task: str,
        penalty: StackedPenalty,
        name: str,
        hyper: _Hyper,  # float64, as regexp.core.optim's Python floats
        n: int,
    ):
        params = [p.detach() for pair in zip(models.kernels, models.biases) for p in pair]
        terms, lam = [], []
        for power, table in ((2, penalty.l2), (1, penalty.l1)):
            for layer in range(table.shape[1]):
                kernel = table[:, layer]
                bias = kernel * penalty.bias_on[:, 0]  # a bias shares its layer's λ, if on
                for i, value in ((2 * layer, kernel), (2 * layer + 1, bias)):
                    if bool(value.any()):
                        terms.append((i, power))
                        lam.append(value.clone())
        h = hyper
        stacked_hyper = torch.stack([h.lr, h.beta1, h.beta2, h.eps, h.correct])  # [5, K, 1, 1]
        self.program = _Program(params, name, stacked_hyper, terms, lam)
        self.n, self.task, self.activation = n, task, activation

    def __call__(self, x: Tensor, y: Tensor, sums: Tensor, active: Tensor) -> tuple[Tensor, Tensor]:
        return self.program.run(x, y, sums, active, self.n, self.task, self.activation)
