"""K = 1 training speed side by side in one run: the engine (regexp.train.engine.fit, eager and
compiled) vs the train() it replaced (run from a git worktree of the commit before, in a
subprocess) vs a hand-written fused-Adam loop of the same model, with and without L2.

Every side trains the same model on the same data for the same steps, with the same torch
threads (regexp.system.threads.threads_for's choice), in rounds that alternate the sides, so a
busy machine slows all of them alike. Prints steps/s (median of --repeats) and the ratios.

    python scripts/bench_engine.py [--steps 1000] [--repeats 3] [--before 75e498d]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from worktree import worktree_of

from regexp.config.compose import compose
from regexp.config.settings import Settings, validate
from regexp.runs.weights import build_model
from regexp.system.threads import threads_for
from regexp.train.data import make_data
from regexp.train.engine import fit

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"[2]": [2], "[16,16]": [16, 16], "[1024]": [1024], "5x1024": [1024] * 5}
PENALTIES = {"none": [], "L2 0.01": ["penalty=l2", "penalty.lam=0.01"]}

# train() as it was before the engine, timed the way it timed itself (TrainResult.seconds)
BEFORE = """
import json, logging, sys, torch
logging.disable(logging.INFO)
from regexp.core.config import compose
from regexp.core.data import make_data
from regexp.core.penalty import Penalty
from regexp.core.run import build_model
from regexp.core.settings import validate
from regexp.core.train import train
out = []
specs = json.loads(sys.argv[1])
for overrides, steps in specs[:1] + specs:  # the first is a warm-up, as for the other sides
    s = validate(compose(overrides))
    data, model = make_data(s.data), build_model(s, 1)
    penalty = Penalty(s.penalty, model, torch.device("cpu"))
    out.append(steps / train(model, data, s, penalty).seconds)
print(json.dumps(out[1:]))
"""


def overrides(hidden: list[int], pen: list[str], steps: int, compiled: bool = False) -> list[str]:
    return [f"hidden_units={hidden}", f"train.epochs={steps}", f"train.eval_every={steps}",
            f"train.compile={compiled}", "plots.enabled=false", *pen]  # fmt: skip


def engine_rate(s: Settings, steps: int) -> float:
    data = make_data(s.data)
    return steps / fit([s], data)[0].seconds


def plain_rate(s: Settings, steps: int) -> float:
    """The shortest honest loop: same model, data, fused Adam, MSE plus Keras's L2 term."""
    data = make_data(s.data)
    model = build_model(s, data.n_in)
    lams = s.penalty.lam if s.penalty.name == "l2" else ()
    opt = torch.optim.Adam(model.parameters(), lr=s.optimizer.lr, fused=True)
    n_params = sum(p.numel() for p in model.parameters())
    with threads_for(n_params, s.train.threads):
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = F.mse_loss(model(data.x_train), data.y_train)
            for layer, lam in zip(model.layers, lams):
                loss = loss + lam * layer.weight.square().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return steps / (time.perf_counter() - t0)


def before_rates(worktree: Path, specs: list[tuple[list[str], int]]) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", BEFORE, json.dumps(specs)],
        cwd=worktree, env={"PYTHONPATH": str(worktree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000, help="steps per timing (5x1024: /5)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--before", default="75e498d", help="the commit whose train() to time")
    p.add_argument("--no-compiled", action="store_true")
    p.add_argument("--models", default=";".join(MODELS), help="which, e.g. '[2];5x1024'")
    args = p.parse_args()
    logging.disable(logging.INFO)
    models = [m for m in MODELS if m in args.models.split(";")] or list(MODELS)
    cases = [(m, pen) for m in models for pen in PENALTIES]
    steps = {m: max(20, args.steps // 5) if m == "5x1024" else args.steps for m in MODELS}
    spec = {c: overrides(MODELS[c[0]], PENALTIES[c[1]], steps[c[0]]) for c in cases}
    settings = {c: validate(compose(o)) for c, o in spec.items()}
    compiled = {c: validate(compose(overrides(MODELS[c[0]], PENALTIES[c[1]], steps[c[0]], True)))
                for c in cases}  # fmt: skip
    sides = ["engine", "before", "plain"] + ([] if args.no_compiled else ["compiled"])
    rates: dict[str, dict] = {side: {c: [] for c in cases} for side in sides}
    if not args.no_compiled:
        for c in cases:  # compile outside the timing: the steady state is what is compared
            engine_rate(compiled[c], 2)
    with worktree_of(args.before) as worktree:
        for r in range(-1, args.repeats):  # round -1 warms every side up; not counted
            old = before_rates(worktree, [(spec[c], steps[c[0]]) for c in cases])
            new = {}
            for c in cases:
                n = steps[c[0]]
                new[c] = [engine_rate(settings[c], n), plain_rate(settings[c], n)]
                if not args.no_compiled:
                    new[c].append(engine_rate(compiled[c], n))
            if r < 0:
                continue
            for c, rate in zip(cases, old):
                for side, value in zip(sides, [new[c][0], rate, *new[c][1:]]):
                    rates[side][c].append(value)
            print(f"round {r + 1} of {args.repeats} done", file=sys.stderr)
    med = {side: {c: statistics.median(v) for c, v in by.items()} for side, by in rates.items()}
    table = Table(title=f"K = 1 steps/s, median of {args.repeats} (torch {torch.__version__})")
    for col in ("model", "penalty", *sides, "engine/before", "engine/plain", "compiled/plain"):
        table.add_column(col, justify="right")
    for c in cases:
        cells = [f"{med[side][c]:.0f}" for side in sides]
        e = med["engine"][c]
        ratios = [f"{e / med['before'][c]:.2f}", f"{e / med['plain'][c]:.2f}"]
        ratios.append("" if args.no_compiled else f"{med['compiled'][c] / med['plain'][c]:.2f}")
        table.add_row(*c, *cells, *ratios)
    Console(width=130).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
