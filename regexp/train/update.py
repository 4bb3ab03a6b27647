"""SGD, momentum, RMSprop and Adam as one family of exponentially weighted averages: the
update rule, written once.

With g the gradient, each step keeps

    m_t = β1 m_{t-1} + (1 - β1) g_t      (momentum, Adam; m_0 = 0)
    v_t = β2 v_{t-1} + (1 - β2) g_t²     (RMSprop, Adam; v_0 = 0)

optionally bias-corrected, m̂ = m_t / c1 and v̂ = v_t / c2 with c = 1 - β^t, and moves

    sgd:      θ -= lr g               momentum: θ -= lr m̂
    rmsprop:  θ -= lr g / (√v̂ + ε)    adam:     θ -= lr m̂ / (√v̂ + ε)

As in the EWMA article (seed 002), Adam corrects the bias by default, momentum and RMSprop do
not. ε sits after the square root of the *corrected* average, as in torch. The corrections fold
into two per-step coefficients, lr_t = lr·√c2/c1 and ε_t = ε·√c2, since
lr/c1 · m / (√v/√c2 + ε) = lr_t · m / (√v + ε_t); then every member is one formula,

    m ← lerp(m, g, 1 - β1);  v ← β2 v + (1 - β2) g²;  θ ← θ - lr_t · m / (√v + ε_t),

with m = g where the member keeps no m and no division where it keeps no v. `ewma_update`
runs it with Python numbers (one model) or tensors broadcasting over stacked models;
regexp.train.fused runs the same formula in torch's fused kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np  # deferred: settings.py imports this module for FAMILY alone

if TYPE_CHECKING:  # no torch at import: settings.py reads FAMILY for the allowed names
    import numpy as np
    from numpy.typing import NDArray
    from torch import Tensor

# (uses m, uses v) for each member of the family
FAMILY: dict[str, tuple[bool, bool]] = {
    "sgd": (False, False),
    "momentum": (True, False),
    "rmsprop": (False, True),
    "adam": (True, True),
}

Number = TypeVar("Number", float, "Tensor")


def corrects_bias(name: str, setting: bool | None) -> bool:
    """optimizer.bias_correction, or the family default: on for Adam only."""
    return setting if setting is not None else name == "adam"


def coefficients(
    name: str, lr: Number, eps: Number, correct: Number, beta1_t: Number, beta2_t: Number
) -> tuple[Number, Number]:
    """(lr_t, ε_t) of the step whose β^t are beta1_t, beta2_t. `correct` is 1/True where the
    averages are corrected, 0/False where not; numbers, or float64 tensors (one per model)."""
    uses_m, uses_v = FAMILY[name]
    c1 = 1.0 - correct * beta1_t if uses_m else 1.0
    c2 = 1.0 - correct * beta2_t if uses_v else 1.0
    root_c2 = c2**0.5
    return lr * root_c2 / c1, eps * root_c2


def ewma_update(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    ms: Sequence[Tensor],
    vs: Sequence[Tensor],
    lr_t: float | Tensor,
    beta1: float | Tensor,
    beta2: float | Tensor,
    eps_t: float | Tensor,
) -> None:
    """The module's formula in place; ms / vs empty where the member keeps no m / v. Tensor
    numbers come in float64 and are rounded to the parameters' dtype only after 1 − β: in
    float32, 1 − 0.999 is off by 1.3e-5, enough to move a 60-epoch Adam run by 1e-3."""
    numbers = (lr_t, beta1, 1.0 - beta1, beta2, 1.0 - beta2, eps_t)
    if not isinstance(lr_t, float | int):  # tensors, one number per stacked model
        numbers = tuple(n.to(params[0].dtype) for n in numbers)
    lr_t, beta1, keep1, beta2, keep2, eps_t = numbers
    for i, (p, g) in enumerate(zip(params, grads)):
        step = g
        if ms:
            ms[i].lerp_(g, keep1)  # β1 m + (1 − β1) g
            step = ms[i]
        if vs:
            vs[i].mul_(beta2).add_(g * g * keep2)
            step = step / (vs[i].sqrt() + eps_t)
        p.sub_(lr_t * step)


# ---------------------------------------------------------------- a series' EWMA


def window(beta: float) -> float:
    """The number of points an EWMA roughly averages over: 1 / (1 - beta)."""
    return 1.0 / (1.0 - beta)


def ewma(series: Any, beta: float, bias_correction: bool = True) -> NDArray[np.float64]:
    """EWMA of a 1-D series (list, array, tensor or pandas Series) as float64.

    Non-finite points (NaN, ±inf) pass through unchanged and do not advance the count t,
    as in TensorBoard, so one NaN in a loss curve does not poison the rest of it.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta}")

    if hasattr(series, "detach"):  # a torch tensor, without importing torch here
        series = series.detach().cpu().numpy()
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"ewma expects a 1-D series, got shape {x.shape}")
    out = x.copy()
    finite = np.isfinite(x)
    values = x[finite]
    if values.size == 0:
        return out
    if bias_correction and np.all(values == values[0]):
        return out  # exact for constant series (the formula would only add rounding)
    # v_t = beta v_(t-1) + (1 - beta) x_t over the finite points, / (1 - beta^t) when
    # corrected: a loop over Python floats, so that drawing history.png needs no pandas
    # (docs/speed.md, trick 12b)
    smoothed = np.empty_like(values)
    v, decay = 0.0, 1.0
    for t, value in enumerate(values.tolist()):
        v = beta * v + (1.0 - beta) * value
        decay *= beta
        smoothed[t] = v / (1.0 - decay) if bias_correction else v
    out[finite] = smoothed
    return out
