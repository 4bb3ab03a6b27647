"""`regexp compare --paired KEY=A,B --over PAIR`: two groups of runs compared where they are
paired, e.g. two penalties (`--paired penalty.lam=0.01,0.001`) over data draws (`--over
data.seed`): on each value of PAIR that has an ok run of both, the effect of B against A, then
over the pairs its mean with a 95 % t-interval (regexp.read.statistics), on how many pairs B
was better (with Wilson's interval), the probability that B is better on a new pair, and a
verdict. One comparison per combination of the other keys that differ.

The effect is the ratio B / A of the metric (its log averaged: a geometric mean) for a metric
of positive values (MSE, loss), else the difference B - A (accuracy). Better is lower, or
higher for the metrics an objective maximises (accuracy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regexp.config.errors import UsageError
from regexp.config.values import fmt
from regexp.read.statistics import mean_interval, p_improvement, verdict, wilson
from regexp.read.table import differing_keys


@dataclass(frozen=True)
class PairedSpec:
    key: str  # the key whose two values are compared
    a: str  # its values as typed
    b: str
    over: str  # the key runs are paired on


def parse_paired(text: str, over: str | None, keys: list[str]) -> PairedSpec:
    """KEY=A,B and the --over key; UsageError (one line) for anything else."""
    key, _, values = text.partition("=")
    parts = [v.strip() for v in values.split(",")]
    if not key or len(parts) != 2 or not all(parts):
        raise UsageError(f"--paired: give KEY=A,B (two values of one key), got {text!r}")
    if key not in keys:
        raise UsageError(f"--paired: no key {key!r}; keys: {', '.join(keys)}")
    pair_keys = [k.strip() for k in (over or "").split(",") if k.strip()]
    if len(pair_keys) != 1:
        raise UsageError("--paired: give the one key runs are paired on with --over "
                         "(e.g. --over data.seed)")  # fmt: skip
    if pair_keys[0] not in keys:
        raise UsageError(f"--over: no key {pair_keys[0]!r}; keys: {', '.join(keys)}")
    return PairedSpec(key, parts[0], parts[1], pair_keys[0])


def _matches(column: pd.Series, text: str) -> pd.Series:
    """Cells that read as text: as typed, or the same number."""
    try:
        number = float(text)
    except ValueError:
        number = None

    def same(value: object) -> bool:
        if fmt(value) == text or str(value) == text:
            return True
        return number is not None and isinstance(value, int | float) and value == number

    return column.map(same)


@dataclass(frozen=True)
class Comparison:
    """B against A over the pairs of one group."""

    group: dict[str, str]
    a_mean: float
    b_mean: float
    scale: str  # ratio | difference
    effect: tuple[float, float, float]  # estimate, low, high on the natural scale
    pairs: int
    b_better: int
    p_b_better: float | None
    verdict: str  # "B better", "A better", "undecided" with the values named


def _compare(a: pd.Series, b: pd.Series, spec: PairedSpec, group: dict, lower: bool) -> Comparison:
    """a and b: the metric indexed by the pairing key's value, on the pairs both have."""
    positive = bool((a > 0).all() and (b > 0).all())
    scale = "ratio" if positive and lower else "difference"
    effects = np.log(b / a) if scale == "ratio" else b - a
    interval = mean_interval(list(effects))
    natural = np.exp if scale == "ratio" else (lambda v: v)
    estimate, low, high = (float(natural(v)) for v in (interval.estimate, interval.low,
                                                       interval.high))  # fmt: skip
    better = int((effects < 0).sum() if lower else (effects > 0).sum())
    word = verdict(interval.low, interval.high, 0.0, above=not lower)
    named = {"holds": f"{spec.key}={spec.b} better", "fails": f"{spec.key}={spec.a} better"}
    return Comparison(
        group, float(a.mean()), float(b.mean()), scale, (estimate, low, high), len(effects),
        better, p_improvement(list(effects), 0.0, above=not lower), named.get(word, word),
    )  # fmt: skip


def paired_table(df: pd.DataFrame, spec: PairedSpec, metric: str, lower: bool) -> pd.DataFrame:
    """One row per group of the other keys that differ: the comparison's numbers (the columns
    --out writes). UsageError when a value has no ok run or no pair is found."""
    ok = df[df["status"] == "ok"].copy()
    if metric not in ok:
        raise UsageError(f"--metric: no metric {metric!r} in these runs")
    ok[metric] = pd.to_numeric(ok[metric], errors="coerce")
    ok = ok[np.isfinite(ok[metric])]
    is_a, is_b = _matches(ok[spec.key], spec.a), _matches(ok[spec.key], spec.b)
    for text, hits in ((spec.a, is_a), (spec.b, is_b)):
        if not hits.any():
            values = ", ".join(sorted({fmt(v) for v in df[spec.key]}))
            raise UsageError(f"--paired: no ok run with {spec.key}={text}; values: {values}")
    others = [k for k in differing_keys(df) if k not in (spec.key, spec.over, "name")]
    chosen = ok[is_a | is_b]
    groups = chosen.groupby([chosen[k].map(fmt) for k in others]) if others else [((), chosen)]
    rows = []
    for group, runs in groups:
        label = dict(zip(others, group if isinstance(group, tuple) else (group,)))
        side = {name: runs[hits[runs.index]].groupby(runs[spec.over].map(fmt))[metric].mean()
                for name, hits in (("a", is_a), ("b", is_b))}  # fmt: skip
        shared = side["a"].index.intersection(side["b"].index)
        if len(shared):
            found = _compare(side["a"][shared], side["b"][shared], spec, label, lower)
            rows.append(_row(found, spec, metric, others))
    if not rows:
        raise UsageError(f"--paired: no {spec.over} value has ok runs of both {spec.key}="
                         f"{spec.a} and {spec.key}={spec.b}")  # fmt: skip
    return pd.DataFrame(rows)


def _row(c: Comparison, spec: PairedSpec, metric: str, others: list[str]) -> dict:
    low, high = wilson(c.b_better, c.pairs)
    return {
        **{k: c.group[k] for k in others},
        "metric": metric,
        "a": f"{spec.key}={spec.a}",
        "b": f"{spec.key}={spec.b}",
        "pairs": c.pairs,
        "a_mean": c.a_mean,
        "b_mean": c.b_mean,
        "effect": "b / a" if c.scale == "ratio" else "b - a",
        "effect_estimate": c.effect[0],
        "effect_ci95_low": c.effect[1],
        "effect_ci95_high": c.effect[2],
        "b_better": c.b_better,
        "b_better_wilson95_low": low,
        "b_better_wilson95_high": high,
        "p_b_better": c.p_b_better,
        "verdict": c.verdict,
    }


def shown_paired(table: pd.DataFrame, spec: PairedSpec) -> tuple[pd.DataFrame, str]:
    """The table as text cells, and its caption."""
    first = table.columns.get_loc("metric")
    shown = table.iloc[:, :first].copy()
    shown["metric"] = table["metric"]
    shown["pairs"] = table["pairs"].map(str)
    shown[f"{spec.key}={spec.a}"] = table["a_mean"].map(fmt)
    shown[f"{spec.key}={spec.b}"] = table["b_mean"].map(fmt)

    def effect(row: pd.Series) -> str:
        cells = [fmt(row[c]) for c in ("effect_estimate", "effect_ci95_low", "effect_ci95_high")]
        return f"{row['effect']} = {cells[0]} [{cells[1]}, {cells[2]}]"

    shown["effect [95 % interval]"] = table.apply(effect, axis=1)
    shown["B better on"] = [
        f"{k} of {n} [{lo:.2f}, {hi:.2f}]" for k, n, lo, hi in
        table[["b_better", "pairs", "b_better_wilson95_low", "b_better_wilson95_high"]].itertuples(
            index=False)
    ]  # fmt: skip
    shown["P(B better, new pair)"] = table["p_b_better"].map(
        lambda p: "n/a" if p is None or math.isnan(p) else f"{p:.2f}"
    )
    shown["verdict"] = table["verdict"]
    caption = (
        f"B = {spec.key}={spec.b} against A = {spec.key}={spec.a}, paired on {spec.over}: the "
        "effect's mean over the pairs with its 95 % t-interval (a ratio's on its log), B better "
        "on k of n pairs with Wilson's 95 % interval, the chance B is better on a new pair "
        "(Student's t predictive); a verdict once the interval clears 1 (a ratio) or 0"
    )
    return shown, caption
