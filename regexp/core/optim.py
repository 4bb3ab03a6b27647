"""SGD, momentum, RMSprop and Adam as one family of exponentially weighted averages.

With g the gradient (plus weight_decay * θ, an L2 term as in torch), each step keeps

    m_t = β1 m_{t-1} + (1 - β1) g_t      (momentum, Adam; m_0 = 0)
    v_t = β2 v_{t-1} + (1 - β2) g_t²     (RMSprop, Adam; v_0 = 0)

optionally bias-corrected, m̂ = m_t / (1 - β1^t) and v̂ = v_t / (1 - β2^t), and moves

    sgd:      θ -= lr g               momentum: θ -= lr m̂
    rmsprop:  θ -= lr g / (√v̂ + ε)    adam:     θ -= lr m̂ / (√v̂ + ε)

As in the EWMA article, Adam corrects the bias by default and momentum and RMSprop do not;
here each is one switch (`bias_correction`). Where ε sits: like torch, ε is added after the
square root of the *corrected* average. Keras (and Algorithm 1's footnote of the Adam paper)
folds the correction into the learning rate and adds its ε to √v_t instead: an "ε hat" equal to
ε·√(1 − β2^t) here. The two agree once β2^t ≈ 0, and differ only while √v is comparable to ε.

Relation to torch.optim: `rmsprop` is `torch.optim.RMSprop(alpha=β2)`, `adam` is
`torch.optim.Adam(betas=(β1, β2))`, `momentum` is `torch.optim.SGD(momentum=β, dampening=β)`
except that torch starts its buffer at g_1 while here m_0 = 0 (the article's v_0 = 0), so the
first step is (1 − β) times torch's unless bias correction is on.

Speed: the update runs as one fused kernel per step (torch._fused_adam_ / torch._fused_sgd_)
with the corrections computed here and folded into lr and ε, so switching them off costs
nothing; `fused=False` runs the formulas above as torch._foreach_* ops (also the fallback on
devices without fused kernels). scripts/bench_optim.py compares it with torch's fused Adam.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from regexp.core.errors import ConfigError

# (uses m, uses v) for each member of the family
FAMILY: dict[str, tuple[bool, bool]] = {
    "sgd": (False, False),
    "momentum": (True, False),
    "rmsprop": (False, True),
    "adam": (True, True),
}
_FUSED_DEVICES = ("cpu", "cuda")


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
                raise ConfigError(key, f"must lie in [0, 1), got {beta}")
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
                fused = group["fused"]
                if fused is None:
                    fused = device.type in _FUSED_DEVICES
                update = _fused_update if fused else _foreach_update
                update(params, [self.state[p] for p in params], group, t)
        return loss


def _corrections(group: dict, t: int) -> tuple[float, float]:
    """(1 − β1^t, 1 − β2^t), or 1 for an average that is absent or left uncorrected."""
    correct_m, correct_v = group["bias_correction"]
    beta1, beta2 = group["beta1"], group["beta2"]
    c1 = 1.0 - beta1**t if correct_m and beta1 is not None else 1.0
    c2 = 1.0 - beta2**t if correct_v and beta2 is not None else 1.0
    return c1, c2


def _foreach_update(params: list[Tensor], states: list[dict], group: dict, t: int) -> None:
    """The formulas of the module docstring, a few multi-tensor ops each."""
    lr, beta1, beta2, eps = group["lr"], group["beta1"], group["beta2"], group["eps"]
    c1, c2 = _corrections(group, t)
    grads = [p.grad for p in params]
    if group["weight_decay"]:
        grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
    numerator = grads
    if beta1 is not None:
        exp_avgs = [s["exp_avg"] for s in states]
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)  # m = β1 m + (1 − β1) g
        numerator = exp_avgs
    if beta2 is None:
        torch._foreach_add_(params, numerator, alpha=-lr / c1)
        return
    exp_avg_sqs = [s["exp_avg_sq"] for s in states]
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
    denom = torch._foreach_sqrt(exp_avg_sqs)
    if c2 != 1.0:
        torch._foreach_div_(denom, math.sqrt(c2))
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, numerator, denom, value=-lr / c1)


_STEP_INF: dict[torch.device, Tensor] = {}


def _fused_update(params: list[Tensor], states: list[dict], group: dict, t: int) -> None:
    """The same update through torch's fused kernels, with our own bias corrections.

    lr/c1 · m / (√v/√c2 + ε) = (lr·√c2/c1) · m / (√v + ε·√c2), so the kernel runs with the
    corrections folded into lr and ε and a step count of +inf (β^inf = 0: it corrects nothing).
    """
    lr, beta1, beta2 = group["lr"], group["beta1"], group["beta2"]
    c1, c2 = _corrections(group, t)
    grads = [p.grad for p in params]
    if beta2 is None:  # sgd, momentum: buf = β buf + (1 − β) g, θ -= lr/c1 · buf
        torch._fused_sgd_(
            params,
            grads,
            [s["exp_avg"] for s in states] if beta1 is not None else [],
            weight_decay=group["weight_decay"],
            momentum=beta1 or 0.0,
            lr=lr / c1,
            dampening=beta1 or 0.0,
            nesterov=False,
            maximize=False,
            is_first_step=False,  # our buffer starts at 0, not at g_1
        )
        return
    if beta1 is None:
        # RMSprop is Adam with β1 = 0 (m = g); the kernel wants a buffer for m regardless.
        exp_avgs = [s.setdefault("grad_copy", torch.zeros_like(p)) for s, p in zip(states, params)]
    else:
        exp_avgs = [s["exp_avg"] for s in states]
    device = params[0].device
    if device not in _STEP_INF:
        _STEP_INF[device] = torch.tensor(math.inf, device=device)
    root_c2 = math.sqrt(c2)
    torch._fused_adam_(
        params,
        grads,
        exp_avgs,
        [s["exp_avg_sq"] for s in states],
        [],
        [_STEP_INF[device]] * len(params),
        lr=lr * root_c2 / c1,
        beta1=beta1 or 0.0,
        beta2=beta2,
        weight_decay=group["weight_decay"],
        eps=group["eps"] * root_c2,
        amsgrad=False,
        maximize=False,
    )


def _check_range(key: str, value: float, low: float, high: float | None) -> None:
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(key, f"must be {bound}, got {value}")


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
        raise ConfigError("optimizer.name", f"must be one of {sorted(FAMILY)}, got {name!r}")
    uses_m, uses_v = FAMILY[name]
    if bias_correction is None:
        bias_correction = name == "adam"
    return EWMAOptimizer(
        params,
        lr,
        beta1=beta1 if uses_m else None,
        beta2=beta2 if uses_v else None,
        eps=eps,
        bias_correction=(bool(bias_correction), bool(bias_correction)),
        weight_decay=weight_decay,
    )
