"""The EWMA family as a torch.optim.Optimizer, for people who import it into their own loop.

The update rule and its bias corrections are regexp.train.update's (documented there); this
class keeps per-parameter state as torch.optim does and runs that rule through the fused
kernels of regexp.train.fused where the device has them (`fused=None`), or as written
(`fused=False`). weight_decay adds weight_decay·θ to the gradient first, as torch does.

Relation to torch.optim: `rmsprop` is `torch.optim.RMSprop(alpha=β2)`, `adam` is
`torch.optim.Adam(betas=(β1, β2))`, `momentum` is `torch.optim.SGD(momentum=β, dampening=β)`
except that torch starts its buffer at g_1 while here m_0 = 0 (the article's v_0 = 0), so the
first step is (1 − β) times torch's unless bias correction is on. regexp's own training does
not use this class: regexp.train.engine updates all its models' parameters as one buffer.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from regexp.train.fused import available, fused_update
from regexp.train.update import FAMILY, coefficients, corrects_bias, ewma_update


class EWMAOptimizer(torch.optim.Optimizer):
    """One optimizer for the whole family: beta1=None drops m, beta2=None drops v.

    bias_correction is (correct m, correct v). fused=None picks the fused kernels where
    the device has them.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float,
        *,
        beta1: float | None = None,
        beta2: float | None = None,
        eps: float = 1e-8,
        bias_correction: tuple[bool, bool] = (False, False),
        weight_decay: float = 0.0,
        fused: bool | None = None,
    ):
        _check_range("optimizer.lr", lr, 0.0, None)
        _check_range("optimizer.eps", eps, 0.0, None)
        _check_range("optimizer.weight_decay", weight_decay, 0.0, None)
        for key, beta in (("optimizer.beta1", beta1), ("optimizer.beta2", beta2)):
            if beta is not None and not 0.0 <= beta < 1.0:
                raise ValueError(f"{key}: must lie in [0, 1), got {beta}")
        defaults = dict(
            lr=lr,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            bias_correction=tuple(bias_correction),
            weight_decay=weight_decay,
            fused=fused,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            # Parameters step together unless some had no gradient at some step, so
            # bucket by (device, dtype, t): each bucket is one kernel call.
            buckets: dict[tuple, list[Tensor]] = defaultdict(list)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("EWMAOptimizer does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    if group["beta1"] is not None:
                        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["beta2"] is not None:
                        state["exp_avg_sq"] = torch.zeros_like(
                            p, memory_format=torch.preserve_format
                        )
                state["step"] += 1
                buckets[(p.device, p.dtype, state["step"])].append(p)
            for (device, _, t), params in buckets.items():
                fused = group["fused"] is not False and available(device)
                _update(params, [self.state[p] for p in params], group, t, fused)
        return loss


def _update(params: list[Tensor], states: list[dict], group: dict, t: int, fused: bool) -> None:
    beta1, beta2 = group["beta1"], group["beta2"]
    name = {(False, False): "sgd", (True, False): "momentum", (False, True): "rmsprop"}.get(
        (beta1 is not None, beta2 is not None), "adam"
    )
    correct_m, correct_v = group["bias_correction"]
    # one switch per average: an uncorrected average's β^t counts as 0 (c = 1)
    beta1_t = beta1**t if beta1 is not None and correct_m else 0.0
    beta2_t = beta2**t if beta2 is not None and correct_v else 0.0
    lr_t, eps_t = coefficients(name, group["lr"], group["eps"], 1.0, beta1_t, beta2_t)
    grads = [p.grad for p in params]
    if group["weight_decay"]:
        grads = [g.add(p, alpha=group["weight_decay"]) for g, p in zip(grads, params)]
    ms = [s["exp_avg"] for s in states] if beta1 is not None else []
    vs = [s["exp_avg_sq"] for s in states] if beta2 is not None else []
    if fused:
        if beta1 is None and beta2 is not None:  # the kernel keeps an m regardless (RMSprop)
            ms = [s.setdefault("grad_copy", torch.zeros_like(p)) for s, p in zip(states, params)]
        fused_update(name, params, grads, ms, vs, lr_t, beta1 or 0.0, beta2 or 0.0, eps_t)
    else:
        ewma_update(params, grads, ms, vs, lr_t, beta1 or 0.0, beta2 or 0.0, eps_t)


def _check_range(key: str, value: float, low: float, high: float | None) -> None:
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{key}: must be {bound}, got {value}")


def build_optimizer(
    params: Iterable[Tensor] | Iterable[dict],
    name: str,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    bias_correction: bool | None,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """The family member `name` ("sgd", "momentum", "rmsprop", "adam").

    bias_correction=None is the family default: on for Adam, off for the others. It applies
    to every average the member keeps; betas it does not use are ignored.
    """
    if name not in FAMILY:
        raise ValueError(f"optimizer.name: must be one of {sorted(FAMILY)}, got {name!r}")
    uses_m, uses_v = FAMILY[name]
    bias_correction = corrects_bias(name, bias_correction)
    return EWMAOptimizer(
        params,
        lr,
        beta1=beta1 if uses_m else None,
        beta2=beta2 if uses_v else None,
        eps=eps,
        bias_correction=(bool(bias_correction), bool(bias_correction)),
        weight_decay=weight_decay,
    )
