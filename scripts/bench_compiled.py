"""train.compile=true against the eager loop: steps/s of a run, models/s of a group, and
what compiling costs.

    .venv/bin/python scripts/bench_compiled.py [--steps 2000] [--repeats 3] [--k 128]
        [--epochs 300] [--no-compile-cost]

Steady-state rates come after a warm-up call that compiles, eager and compiled interleaved
repeat by repeat (a shared machine's drift hits both alike). The compile cost is the first
call (2 epochs) in a fresh process: cold, with an empty inductor cache (a temporary
TORCHINDUCTOR_CACHE_DIR), then warm, with the cache the cold run left.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from regexp.config.compose import compose
from regexp.config.settings import Settings, validate
from regexp.train.data import make_data
from regexp.train.engine import fit

MODELS = {"[2]": [2], "[16,16]": [16, 16], "[1024]": [1024], "5x1024": [1024] * 5}


def settings(hidden: list[int], epochs: int, compiled: bool, seed: int = 1) -> Settings:
    return validate(
        compose(
            [
                f"hidden_units={hidden}",
                f"seed={seed}",
                f"train.epochs={epochs}",
                f"train.eval_every={epochs}",
                f"train.compile={compiled}",
                "plots.enabled=false",
            ]
        )
    )


def steps_per_s(hidden: list[int], steps: int, compiled: bool) -> float:
    s = settings(hidden, steps, compiled)
    return steps / fit([s], make_data(s.data))[0].seconds


def group(hidden: list[int], k: int, epochs: int, compiled: bool) -> list[Settings]:
    return [settings(hidden, epochs, compiled, seed) for seed in range(1, k + 1)]


def models_per_s(jobs: list[Settings]) -> float:
    """The group's models per second of engine.fit (making the data excluded)."""
    data = make_data(jobs[0].data)
    t0 = time.perf_counter()
    fit(jobs, data)
    return len(jobs) / (time.perf_counter() - t0)


def first_call(what: str, k: int) -> float:
    """Seconds of the first compiled call (2 epochs) in this process."""
    hidden = MODELS[what.split(":")[1]]
    if what.startswith("group:"):
        return k / models_per_s(group(hidden, k, 2, True))
    t0 = time.perf_counter()
    steps_per_s(hidden, 2, True)
    return time.perf_counter() - t0


def compile_cost(what: str, k: int) -> tuple[float, float]:
    """(cold, warm) seconds of a first call, each in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="inductor-") as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
        cmd = [sys.executable, __file__, "--first-call", what, "--k", str(k)]
        runs = [subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)]
        runs.append(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True))
    cold, warm = (json.loads(r.stdout.strip().splitlines()[-1]) for r in runs)
    return cold, warm


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="steps per timing (5x1024: /10)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--k", type=int, default=128, help="models in the group timing")
    p.add_argument("--epochs", type=int, default=300, help="epochs in the group timing")
    p.add_argument("--no-compile-cost", action="store_true")
    p.add_argument("--first-call", help=argparse.SUPPRESS)
    args = p.parse_args()
    logging.disable(logging.INFO)
    if args.first_call:
        print(json.dumps(first_call(args.first_call, args.k)))
        return 0

    med = statistics.median
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeats}")
    for label, hidden in MODELS.items():
        steps = max(10, args.steps // 10) if label == "5x1024" else args.steps
        steps_per_s(hidden, 2, True)  # compile outside the timing
        eager, compiled = [], []
        for _ in range(args.repeats):
            eager.append(steps_per_s(hidden, steps, False))
            compiled.append(steps_per_s(hidden, steps, True))
        print(
            f"{label:>8} steps/s: eager {med(eager):8.1f}  compiled {med(compiled):8.1f}  "
            f"x{med(compiled) / med(eager):.2f}"
        )
    models_per_s(group([16, 16], args.k, 2, True))
    jobs = {c: group([16, 16], args.k, args.epochs, c) for c in (False, True)}
    eager, compiled = [], []
    for _ in range(args.repeats):
        eager.append(models_per_s(jobs[False]))
        compiled.append(models_per_s(jobs[True]))
    print(
        f"fit(group) [16,16] K={args.k}, {args.epochs} epochs, models/s: eager "
        f"{med(eager):.1f}  compiled {med(compiled):.1f}  x{med(compiled) / med(eager):.2f}"
    )
    if not args.no_compile_cost:
        whats = [f"single:{label}" for label in MODELS] + ["group:[16,16]"]
        for what in whats:
            cold, warm = compile_cost(what, args.k)
            print(f"first call {what:>15}: cold cache {cold:5.1f} s, warm cache {warm:5.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
