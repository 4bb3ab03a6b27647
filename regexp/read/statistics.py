"""The statistics every comparison regexp prints is made of, written once: the Wilson interval
of a share, the t-interval of a mean, a paired effect over draws with its interval, the
probability that one side is better on a new draw, a verdict, and the sequential rule that
decides how many draws a lesson needs.

Paired effects are given on an additive scale, one number per draw: a log ratio of two MSEs
(so that "0.8x" and "1.25x" are equally far from 1) or a difference of two accuracies. Their
interval is Student's t-interval of the mean over the draws. Why t and not a bootstrap: with
5 to 20 draws a percentile bootstrap over draws covers well below its nominal 95 % (it cannot
see the tails it has not drawn), while the t-interval is exact when the per-draw effects are
normal and close to it for the mildly skewed log ratios seen here; the simulation test of
the sequential rule (tests/read/test_statistics.py) checks its error with normal and
heavy-tailed effects.

Sequential rule (`make reproduce DRAWS=auto`): looks are planned at FIRST, FIRST + BATCH, ...,
DRAWS_MAX draws, and each look's interval has confidence 1 - alpha / looks (Bonferroni over
the planned looks: the simplest alpha-spending function, valid whatever the dependence between
looks; Lan & DeMets 1983, Biometrika 70(3):659-663, and, for group-sequential looks, Pocock
1977, Biometrika 64(2):191-199, whose boundaries this bounds from above). So the chance that
any look's interval misses the true effect is at most alpha, whichever look the procedure
stops at: adding draws because a lesson was undecided cannot inflate the error. A lesson is
decided at the first look whose interval lies on one side of its bound, and its statement is
frozen there (as AdaStop, Mathieu et al. 2023, stops a comparison once decided).

The Wilson interval of k of n (Wilson 1927, JASA 22:209-212; Brown, Cai & DasGupta 2001,
Statistical Science 16(2)) describes the share of draws on which a lesson held; it is a
fixed-n interval and no part of the verdict.

scipy's special functions (Student's t) are imported where they are used: the sweep's ending
needs them only for a sweep with repeats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"
METHOD = (
    "paired effect per data draw (log ratio of MSEs, difference of accuracies); Student's "
    "t-interval of its mean; Bonferroni over the planned looks"
)
REFERENCES = (
    "Lan & DeMets 1983, Biometrika 70(3):659-663 (alpha spending); Pocock 1977, Biometrika "
    "64(2):191-199 (group-sequential looks); Wilson 1927, JASA 22:209-212 (share of draws)"
)


def _t_quantile(p: float | np.ndarray, df: float | np.ndarray) -> np.ndarray:
    from scipy.special import stdtrit  # Student's t: loaded only where an interval is needed

    return stdtrit(df, p)


def _t_cdf(x: float | np.ndarray, df: float | np.ndarray) -> np.ndarray:
    from scipy.special import stdtr  # as _t_quantile

    return stdtr(df, x)


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of the share k / n; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(confidence)
    share = k / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Interval:
    """A mean (or a paired effect's mean) with its interval; low and high are NaN when fewer
    than two values were given."""

    estimate: float
    low: float
    high: float
    n: int


ANY = (-math.inf, math.inf)  # the values a quantity can take: no bound


def t_bounds(
    mean: np.ndarray,
    std: np.ndarray,
    n: np.ndarray,
    confidence: float | np.ndarray = CONFIDENCE,
    support: tuple[float, float] = ANY,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of Student's t-interval of a mean from its sample std (ddof 1) and count,
    elementwise; NaN where n < 2. support: the values the quantity can take (an MSE's
    [0, inf), an accuracy's [0, 1]); the interval is cut to it, which keeps its coverage (the
    mean lies within the support, so in the cut interval whenever in the whole one)."""
    mean, std, n = (np.asarray(v, dtype=float) for v in (mean, std, n))
    enough = n >= 2
    df = np.where(enough, n - 1, 1.0)
    half = _t_quantile(0.5 + np.asarray(confidence) / 2, df) * std / np.sqrt(np.where(enough, n, 1))
    half = np.where(enough, half, np.nan)
    return np.clip(mean - half, *support), np.clip(mean + half, *support)


def t_intervals(
    values: np.ndarray,
    confidence: float | np.ndarray = CONFIDENCE,
    support: tuple[float, float] = ANY,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high) of Student's t-interval over the last axis of values (vectorized over
    the others, as the simulation test needs), cut to the quantity's support (t_bounds). NaN
    bounds for fewer than two values; a zero spread gives an interval of zero width."""
    values = np.asarray(values, dtype=float)
    n = values.shape[-1]
    if n < 2:
        nan = np.full(values.shape[:-1], np.nan)
        return (values[..., 0] if n else nan), nan, nan
    mean = values.mean(axis=-1)
    low, high = t_bounds(mean, values.std(-1, ddof=1), np.full(mean.shape, n), confidence, support)
    return mean, low, high


def mean_interval(
    values: Sequence[float], confidence: float = CONFIDENCE, support: tuple[float, float] = ANY
) -> Interval:
    """The mean of the finite values with its t-interval (NaN bounds under two values), cut to
    the quantity's support (t_bounds)."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean, low, high = t_intervals(finite, confidence, support)
    return Interval(float(mean), float(low), float(high), int(finite.size))


def p_improvement(effects: Sequence[float], bound: float = 0.0, above: bool = True) -> float | None:
    """The probability that a new draw's effect lies beyond bound (above it, or below it when
    `above` is False): the predictive distribution of a normal sample with unknown mean and
    spread, Student's t with n - 1 degrees of freedom around the mean, scaled by
    s * sqrt(1 + 1/n) (Gelman et al., Bayesian Data Analysis, 3rd ed., section 3.2). None
    under two draws."""
    values = np.asarray(effects, dtype=float)
    n = values.size
    if n < 2:
        return None
    mean, spread = values.mean(), values.std(ddof=1)
    margin = (mean - bound) if above else (bound - mean)
    if spread == 0:
        return 1.0 if margin > 0 else 0.0
    return float(_t_cdf(margin / (spread * math.sqrt(1 + 1 / n)), n - 1))


def verdict(low: float, high: float, bound: float = 0.0, above: bool = True) -> str:
    """holds when the interval lies on the lesson's side of bound (above it, or below it when
    `above` is False), fails when it lies on the other side, else undecided (a NaN bound of the
    interval, too)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return UNDECIDED
    if low > bound:
        return HOLDS if above else FAILS
    if high < bound:
        return FAILS if above else HOLDS
    return UNDECIDED


# ------------------------------------------------------------------------ the sequential rule


@dataclass(frozen=True)
class Plan:
    """Looks at first, first + batch, ... up to draws_max draws (draws_max always a look),
    each at confidence 1 - alpha / looks. Plan.fixed(n): one look at n draws, plain 95 %."""

    first: int = 5
    batch: int = 5
    draws_max: int = 20
    alpha: float = 0.05  # 1 - CONFIDENCE, over all the looks together

    @classmethod
    def fixed(cls, n: int) -> Plan:
        return cls(first=n, batch=max(n, 1), draws_max=n)

    @property
    def looks(self) -> list[int]:
        found = list(range(self.first, self.draws_max + 1, self.batch)) or [self.draws_max]
        return found if found[-1] == self.draws_max else [*found, self.draws_max]

    @property
    def confidence(self) -> float:
        """Each look's confidence: the looks together keep 1 - alpha."""
        return 1 - self.alpha / len(self.looks)

    @property
    def sequential(self) -> bool:
        return len(self.looks) > 1

    def looks_within(self, n: int) -> list[int]:
        """The planned looks a folder of n draws has reached."""
        return [look for look in self.looks if look <= n]

    def next_look(self, n: int) -> int | None:
        """The first planned look beyond n draws; None at or past draws_max."""
        return next((look for look in self.looks if look > n), None)


@dataclass(frozen=True)
class Decision:
    """A paired effect over the draws, as the plan states it: the verdict, the effect's mean
    and interval at the look that decided it (else at the last look reached), and how many
    draws that look had (decided_at: None while undecided)."""

    verdict: str
    effect: Interval
    draws: int
    decided_at: int | None


def decide(
    effects: np.ndarray, plan: Plan, bound: float = 0.0, above: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sequential rule over the last axis of effects (draws in the order they were added;
    vectorized over the others): (verdict codes: 1 holds, -1 fails, 0 undecided; the look's
    draws, 0 when none was reached; mean, low, high at that look). Each lesson is decided at
    the first planned look whose interval lies on one side of bound, and kept there."""
    effects = np.asarray(effects, dtype=float)
    shape = effects.shape[:-1]
    code = np.zeros(shape, dtype=int)
    at = np.zeros(shape, dtype=int)
    mean, low, high = (np.full(shape, np.nan) for _ in range(3))
    side = 1 if above else -1
    for look in plan.looks_within(effects.shape[-1]):
        m, lo, hi = t_intervals(effects[..., :look], plan.confidence)
        open_ = code == 0  # an undecided lesson takes each new look's numbers
        found = np.where(lo > bound, side, np.where(hi < bound, -side, 0))
        code = np.where(open_, found, code)
        at = np.where(open_, look, at)
        mean, low, high = (np.where(open_, new, old) for new, old in
                           ((m, mean), (lo, low), (hi, high)))  # fmt: skip
    return code, at, mean, low, high


def decide_one(
    effects: Sequence[float], plan: Plan, bound: float = 0.0, above: bool = True
) -> Decision:
    """decide() for one lesson's per-draw effects."""
    code, at, mean, low, high = decide(np.asarray(effects, dtype=float), plan, bound, above)
    word = {1: HOLDS, -1: FAILS, 0: UNDECIDED}[int(code)]
    effect = Interval(float(mean), float(low), float(high), int(at))
    return Decision(word, effect, int(at), int(at) if word != UNDECIDED else None)


def draws_to_add(decisions: Sequence[Decision], plan: Plan, n: int) -> int:
    """How many draws the folder should hold next: the next planned look when a lesson is
    undecided and one is left, else 0 (every lesson decided, or draws_max reached)."""
    if all(d.verdict != UNDECIDED for d in decisions):
        return 0
    return plan.next_look(n) or 0


# ------------------------------------------------------------- two groups not paired (best)


def welch_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> Interval:
    """mean(a) - mean(b) with Welch's t-interval (unequal spreads, Welch-Satterthwaite degrees
    of freedom); NaN bounds when a side has under two values."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(x.mean() - y.mean()) if x.size and y.size else math.nan
    if x.size < 2 or y.size < 2:
        return Interval(diff, math.nan, math.nan, int(min(x.size, y.size)))
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    if se == 0:
        return Interval(diff, diff, diff, int(min(x.size, y.size)))
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = float(_t_quantile(0.5 + confidence / 2, df)) * se
    return Interval(diff, diff - half, diff + half, int(min(x.size, y.size)))
