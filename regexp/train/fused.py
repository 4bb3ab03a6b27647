"""regexp.train.update's formula in torch's fused multi-tensor kernels, for speed; and
torch.compile's recompile limit on torch versions that take it from a private config only.

torch._fused_adam_ and torch._fused_sgd_ are the kernels behind torch.optim's `fused=True`:
one call updates every tensor of a list. They are private ops, so they are called here only,
and tests/train/test_fused.py pins their result to update.ewma_update's. Given lr_t, ε_t and a step
count of +inf (β^inf = 0: the kernel then corrects nothing itself), _fused_adam_ computes
m ← lerp(m, g, 1 − β1), v ← β2 v + (1 − β2) g², θ ← θ − lr_t·m/(√v + ε_t); _fused_sgd_ with
momentum = dampening = β1 computes m ← β1 m + (1 − β1) g, θ ← θ − lr_t·m (m = g without it).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from regexp.train.update import FAMILY

_STEP_INF: dict[torch.device, Tensor] = {}


def available(device: torch.device) -> bool:
    """Whether this torch has the kernels for the device (CPU kernels came in torch 2.4)."""
    return device.type in ("cpu", "cuda") and hasattr(torch, "_fused_adam_")


def fused_update(
    name: str,
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    ms: Sequence[Tensor],
    vs: Sequence[Tensor],
    lr_t: float,
    beta1: float,
    beta2: float,
    eps_t: float,
) -> None:
    """ewma_update for one set of numbers. RMSprop needs ms as scratch (the kernel keeps an m
    regardless; with β1 = 0 it holds g)."""
    uses_m, uses_v = FAMILY[name]
    params, grads = list(params), list(grads)
    if not uses_v:
        torch._fused_sgd_(
            params,
            grads,
            list(ms) if uses_m else [],
            weight_decay=0.0,
            momentum=beta1 if uses_m else 0.0,
            lr=lr_t,
            dampening=beta1 if uses_m else 0.0,
            nesterov=False,
            maximize=False,
            is_first_step=False,  # our m starts at 0, not at g_1
        )
        return
    device = params[0].device
    if device not in _STEP_INF:
        _STEP_INF[device] = torch.tensor(math.inf, device=device)
    torch._fused_adam_(
        params,
        grads,
        list(ms),
        list(vs),
        [],
        [_STEP_INF[device]] * len(params),
        lr=lr_t,
        beta1=beta1 if uses_m else 0.0,
        beta2=beta2,
        weight_decay=0.0,
        eps=eps_t,
        amsgrad=False,
        maximize=False,
    )


def compile_with_limit(fn: Callable[..., Any], limit: int, **kwargs: Any) -> Callable[..., Any]:
    """torch.compile(fn, **kwargs) with room for `limit` graphs of fn (one per architecture,
    batch shape and switch set) before dynamo falls back to eager."""
    if "recompile_limit" in inspect.signature(torch.compile).parameters:
        return torch.compile(fn, recompile_limit=limit, **kwargs)
    # torch < 2.13 reads the limit from dynamo's process-wide config (cache_size_limit < 2.6)
    from torch import _dynamo

    config = _dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), limit))
    return torch.compile(fn, **kwargs)
