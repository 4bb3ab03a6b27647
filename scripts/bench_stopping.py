"""Models that stop early inside a program, side by side in one run, to choose
regexp.train.program.DROP_SHARE (each side sets its share through fit's watch):

1. What a row costs: eager steps of a K-row program with every row live, with half its rows
   frozen (stopped, not dropped), and after dropping them; and what the drop (keep) costs.
2. A program of K models of which half stop one after another (job i of the first half at
   epoch (i + 1) · epochs / K, by fit's watch, so the stops are the same on every side), its
   empty rows dropped at every stop, at a share of them, or never; beside it the same
   program where no model stops.

Every side trains the same jobs on the same data with one thread, in rounds that alternate
the sides, timed in CPU seconds of this process (other processes on the machine count
less); prints the minimum over --repeats and, for 2, each side's ratio to "never".

    python scripts/bench_stopping.py [--epochs 640] [--repeats 3] [--models '[32]x16;...']
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import torch
from rich.console import Console
from rich.table import Table

from regexp.config.compose import compose
from regexp.config.settings import Settings, validate
from regexp.train.data import make_data
from regexp.train.engine import fit
from regexp.train.loss import PenaltyTable
from regexp.train.model import seeded_layers
from regexp.train.stack import Stack
from regexp.train.steps import EagerStep
from regexp.train.watch import Watch

MODELS = {
    "[32]x16": ([32], 16, 1),
    "[16,16]x64": ([16, 16], 64, 1),
    "[256,256]x16": ([256, 256], 16, 4),
}  # (hidden, K, epochs divided by)
SHARES = {"every stop": 0.0, "1/8": 0.125, "1/4": 0.25, "1/2": 0.5, "never": 2.0}


class Stops(Watch):
    """Job i of the first half stops at epoch (i + 1) · epochs / K (none: stops=False); the
    program drops its empty rows at `share` of them."""

    def __init__(self, k: int, epochs: int, share: float, stops: bool = True):
        self.at = {i: (i + 1) * epochs // k for i in range(k // 2)} if stops else {}
        self.drop_share = share

    def evaluated(self, jobs, epochs, values):  # noqa: ANN001, ANN201
        return [j for j, e in zip(jobs, epochs) if self.at.get(j) == e]


def jobs(hidden: list[int], k: int, epochs: int) -> list[Settings]:
    """K seeds; a validation pass at each stop and no others (a pass of 200 points); one
    thread (two threads wait for each other at every barrier on a busy machine)."""
    return [validate(compose([f"hidden_units={hidden}", f"seed={seed}", f"train.epochs={epochs}",
                              f"train.eval_every={epochs // k}", "data.n_val=200",
                              "train.threads=1"]))
            for seed in range(k)]  # fmt: skip


def cpu_seconds(settings: list[Settings], share: float, stops: bool) -> float:
    data = make_data(settings[0].data)
    watch = Stops(len(settings), settings[0].train.epochs, share, stops)
    t0 = time.process_time()
    fit(settings, data, watch=watch)
    return time.process_time() - t0


def row_costs(settings: list[Settings], steps: int) -> dict[str, float]:
    """CPU ms per step: all rows live, half frozen, half dropped; ms of the drop itself."""
    data = make_data(settings[0].data)
    widths = [data.n_in, *settings[0].hidden_units, 1]
    k = len(settings)
    stack = Stack(widths, [seeded_layers(widths, s.seed) for s in settings], "cpu")
    table = PenaltyTable.of([s.penalty for s in settings], len(widths) - 1, stack.theta.device)
    step = EagerStep(stack, settings, table, "regression")

    def per_step() -> float:
        step(data.x_train, data.y_train)  # a new shape's first step is not timed
        t0 = time.process_time()
        for _ in range(steps):
            step(data.x_train, data.y_train)
        return 1000 * (time.process_time() - t0) / steps

    out = {"live": per_step()}
    step.freeze(range(k // 2))
    out["half frozen"] = per_step()
    t0 = time.process_time()
    step.keep(range(k // 2, k))
    out["drop"] = 1000 * (time.process_time() - t0)
    out["half dropped"] = per_step()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=640, help="a multiple of 64 (big models: /4)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--models", default=";".join(MODELS), help="which, e.g. '[32]x16'")
    args = p.parse_args(argv)
    logging.disable(logging.INFO)
    models = [m for m in MODELS if m in args.models.split(";")] or list(MODELS)
    sides = [*SHARES, "no stops"]
    times: dict[tuple[str, str], list[float]] = {(m, s): [] for m in models for s in sides}
    costs: dict[str, list[dict[str, float]]] = {m: [] for m in models}
    for r in range(-1, args.repeats):  # round -1 warms up; not counted
        for m in models:
            hidden, k, fewer = MODELS[m]
            settings = jobs(hidden, k, args.epochs // fewer)
            cost = row_costs(settings, args.epochs // fewer // 2)
            if r >= 0:
                costs[m].append(cost)
            for side in sides:
                stops = side != "no stops"
                t = cpu_seconds(settings, SHARES.get(side, 2.0), stops)
                if r >= 0:
                    times[m, side].append(t)
        print(f"round {r + 1} of {args.repeats} done", file=sys.stderr)
    table = Table(title=f"1. CPU ms a step and of the drop, min of {args.repeats}")
    keys = ["live", "half frozen", "half dropped", "drop"]
    for col in ("program", *keys, "a row a step", "steps a dropped row repays its drop in"):
        table.add_column(col, justify="right")
    for m in models:
        best = {key: min(c[key] for c in costs[m]) for key in keys}
        row = (best["live"] - best["half dropped"]) / (MODELS[m][1] // 2)
        table.add_row(m, *(f"{best[key]:.3f}" for key in keys), f"{row:.4f}",
                      f"{best['drop'] / row:.1f}" if row > 0 else "never")  # fmt: skip
    Console(width=140).print(table)
    table = Table(title=f"2. half the models stop one by one; CPU s of fit, min of {args.repeats} "
                        f"({args.epochs} epochs, torch {torch.__version__})")  # fmt: skip
    table.add_column("program")
    for side in sides:
        table.add_column(side, justify="right")
    for m in models:
        never = min(times[m, "never"])
        cells = [f"{min(times[m, s]):.3f} ({min(times[m, s]) / never:.2f})" for s in sides]
        table.add_row(m, *cells)
    Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
