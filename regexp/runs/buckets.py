"""Which widths of a group share a program: the cost rule (no torch).

Models of one depth but different widths train as one program padded to the widest of each
layer (regexp.train.stack), so a narrow model pays for the widest one's arithmetic; a
program also costs a fixed amount per step, whatever its size (the loop, one call per op).
`buckets` merges architectures into one program only where the fixed cost saved outweighs
the padding paid, so by this model a plan never costs more than each architecture trained as
a program of its own. The two constants are fitted to the engine's step times on a CPU
(scripts/bench_buckets.py; docs/speed.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from regexp.config.settings import n_params

# a program's cost per epoch apart from its arithmetic, in unit-rows (one hidden or output
# unit's work for one data row, forward and backward)
STEP_OVERHEAD = 56_000
# multiply-adds of a layer's matrix product that cost as much as one unit-row
MACS_PER_UNIT = 16

Widths = tuple[int, ...]  # [n_in, hidden..., n_out]


@dataclass(frozen=True)
class Bucket:
    """Architectures trained as one program, padded to `widths`, `models` models in all."""

    members: tuple[Widths, ...]
    widths: Widths
    models: int


def model_work(widths: Sequence[int], rows: float) -> float:
    """One model's arithmetic per epoch in unit-rows: its units' elementwise work and its
    layers' products, over `rows` rows."""
    units = sum(widths[1:])
    macs = sum(a * b for a, b in zip(widths, widths[1:]))
    return rows * (units + macs / MACS_PER_UNIT)


def program_cost(widths: Sequence[int], models: int, rows: float, chunk: int) -> float:
    """Cost per epoch of `models` models padded to `widths`, in programs of at most `chunk`
    models each."""
    programs = -(-models // max(1, chunk))
    return programs * STEP_OVERHEAD + models * model_work(widths, rows)


def _padded(a: Widths, b: Widths) -> Widths:
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def buckets(
    counts: Mapping[Widths, int],
    rows: float,
    chunk: Callable[[Widths], int],
    max_params: int | None = None,
) -> list[Bucket]:
    """Architectures of one depth (with how many models each) in programs: each its own,
    then, greedily, the merge that saves the most cost, while one saves any. chunk(widths):
    the most models of that architecture in one program (memory); max_params: no padded
    model above it. Buckets come in the order of their first architecture in counts."""

    def cost(b: Bucket) -> float:
        return program_cost(b.widths, b.models, rows, chunk(b.widths))

    plan = [Bucket((w,), w, n) for w, n in counts.items()]
    while len(plan) > 1:
        best, pair = 0.0, None
        for i, a in enumerate(plan):
            for j in range(i + 1, len(plan)):
                b = plan[j]
                widths = _padded(a.widths, b.widths)
                if max_params is not None and n_params(widths) > max_params:
                    continue
                merged = Bucket(a.members + b.members, widths, a.models + b.models)
                saved = cost(a) + cost(b) - cost(merged)
                if saved > best:
                    best, pair = saved, (i, j, merged)
        if pair is None:
            break
        i, j, merged = pair
        plan[i] = merged
        del plan[j]
    return plan
