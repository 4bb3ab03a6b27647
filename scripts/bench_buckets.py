"""Fit regexp.runs.buckets' cost constants to this machine's engine, and check the rule.

Times fit() per epoch (CPU time of this process, min of --repeats) for groups of one-hidden-
layer models of several widths and sizes, and of deeper ones, then fits

    seconds per epoch = a + c * K + b * K * model_work(widths, rows)

by least squares over the one-layer groups (model_work with the current MACS_PER_UNIT), and
MACS_PER_UNIT from the deeper groups' residual. STEP_OVERHEAD = a / b. (c, a per-model cost
whatever its width, is the same however models are grouped: the rule leaves it out.) Last,
the width grid of issue 23 (16 seeds of each of [2] ... [256]) trained three ways: each
width its own program, the rule's plan, and everything padded to [256] in one.

    python scripts/bench_buckets.py [--epochs 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Sequence

import numpy as np

from regexp.config.compose import compose
from regexp.config.settings import validate
from regexp.runs import buckets
from regexp.runs.units import plan_units, rows_per_epoch
from regexp.train.data import make_data
from regexp.train.engine import fit

ONE_LAYER = [(2, 1), (2, 16), (2, 128), (16, 16), (64, 16), (256, 16), (32, 32), (16, 128),
             (1024, 1), (8, 48), (128, 16)]  # fmt: skip
# each group under regexp.system.threads.SMALL_MODEL parameters: one thread, as the others
DEEP = [((16, 16), 32), ((16, 16), 128), ((64, 64), 16), ((256, 256), 2), ((128, 128), 8)]


def seconds_per_epoch(base, hidden: tuple[int, ...], k: int, data, repeats: int) -> float:
    jobs = [dataclasses.replace(base, hidden_units=hidden, seed=i) for i in range(k)]
    fit(jobs, data)  # warm
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fit(jobs, data)
        times.append(time.process_time() - t0)
    return min(times) / base.train.epochs


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    logging.disable(logging.INFO)
    base = validate(compose([f"train.epochs={args.epochs}", "plots.enabled=false"]))
    data = make_data(base.data)
    rows = rows_per_epoch(base)
    terms, times = [], []
    for width, k in ONE_LAYER:
        t = seconds_per_epoch(base, (width,), k, data, args.repeats)
        terms.append([1.0, k, k * buckets.model_work((1, width, 1), rows)])
        times.append(t)
        print(f"[{width}] x{k}: {t * 1e3:.3f} ms/epoch", flush=True)
    (a, c, b), *_ = np.linalg.lstsq(np.array(terms), np.array(times), rcond=None)
    print(f"fit: {a * 1e3:.3f} ms/epoch a program + {c * 1e6:.2f} us a model + "
          f"{b * 1e9:.3f} ns a unit-row")  # fmt: skip
    print(f"STEP_OVERHEAD = {a / b:,.0f} unit-rows (now {buckets.STEP_OVERHEAD:,})")
    ratios = []
    for hidden, k in DEEP:
        t = seconds_per_epoch(base, hidden, k, data, args.repeats)
        widths = (1, *hidden, 1)
        units = k * rows * sum(widths[1:])
        macs = k * rows * sum(x * y for x, y in zip(widths, widths[1:]))
        left = (t - a - c * k) / b - units  # unit-rows the products took
        ratios.append(macs / left if left > 0 else float("inf"))
        print(f"{list(hidden)} x{k}: {t * 1e3:.3f} ms/epoch, multiply-adds per unit-row "
              f"{ratios[-1]:.0f}", flush=True)  # fmt: skip
    print(f"MACS_PER_UNIT ~ {np.median(ratios):.0f} (now {buckets.MACS_PER_UNIT})")

    widths = [2, 4, 8, 16, 32, 64, 128, 256]
    jobs = [dataclasses.replace(base, hidden_units=(w,), seed=s) for w in widths for s in range(16)]
    plans = {
        "each width its own program": [
            [i for i, j in enumerate(jobs) if j.hidden_units == (w,)] for w in widths
        ],
        "the rule's plan": [u.jobs for u in plan_units(jobs, 2048, 256, 2, 1_000_000)],
        "one program padded to [256]": [list(range(len(jobs)))],
    }
    for name, plan in plans.items():
        t0 = time.process_time()
        for unit in plan:
            fit([jobs[i] for i in unit], data)
        print(f"width grid, {name} ({len(plan)}): {time.process_time() - t0:.3f} s CPU")


if __name__ == "__main__":
    main()
