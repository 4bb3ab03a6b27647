"""Benchmark regexp.train.optim against torch.optim.Adam(fused=True) on the 5 × 1024 model.

    .venv/bin/python scripts/bench_optim.py [--steps 20] [--repeats 7] [--all]

Times a full training step (forward, backward, step) at batch 50 (the notebook's training set)
and the optimizer step alone. Variants run interleaved within each repeat so that drift of a
shared machine hits them alike; the report gives medians and
the median of the per-repeat ratios to fused Adam.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import torch

from regexp.train.model import MLP
from regexp.train.optim import EWMAOptimizer, build_optimizer

VARIANTS: dict[str, Callable] = {
    "torch Adam fused": lambda p: torch.optim.Adam(p, lr=1e-3, fused=True),
    "regexp adam": lambda p: build_optimizer(p, "adam", 1e-3, 0.9, 0.999, 1e-8, None),
    "regexp adam, no bias corr.": lambda p: build_optimizer(
        p, "adam", 1e-3, 0.9, 0.999, 1e-8, False
    ),
    "regexp adam, foreach": lambda p: EWMAOptimizer(
        p, 1e-3, beta1=0.9, beta2=0.999, bias_correction=(True, True), fused=False
    ),
}
MORE: dict[str, Callable] = {
    "torch Adam default": lambda p: torch.optim.Adam(p, lr=1e-3),
    "regexp rmsprop": lambda p: build_optimizer(p, "rmsprop", 1e-3, 0.9, 0.9, 1e-8, None),
    "regexp momentum": lambda p: build_optimizer(p, "momentum", 1e-3, 0.9, 0.999, 1e-8, None),
}


def time_variant(make: Callable, x: torch.Tensor, y: torch.Tensor, steps: int) -> tuple:
    """Milliseconds per full training step, and per optimizer step alone."""
    model = MLP(1, [1024] * 5).init_seeded(0)
    opt = make(model.parameters())

    def train_step() -> None:
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()

    for _ in range(3):  # warm-up: allocates the optimizer state
        train_step()
    start = time.perf_counter()
    for _ in range(steps):
        train_step()
    full = (time.perf_counter() - start) / steps
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    alone = (time.perf_counter() - start) / steps
    return full * 1e3, alone * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--all", action="store_true", help="also RMSprop, momentum, torch default")
    args = parser.parse_args()

    variants = {**VARIANTS, **(MORE if args.all else {})}
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(50, 1, generator=gen) * 2 - 1
    y = torch.sin(3 * x) + 0.1 * torch.randn(50, 1, generator=gen)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    order, rng = list(variants), random.Random(0)
    for _ in range(args.repeats):
        rng.shuffle(order)  # no variant always runs first
        for name in order:
            times[name].append(time_variant(variants[name], x, y, args.steps))

    # Ratios are taken within each repeat (same machine state), then the median over repeats.
    ref = times["torch Adam fused"]
    print(f"5 x 1024 MLP, batch 50, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'variant':28} {'train step ms':>13} {'ratio':>6} {'opt.step ms':>12} {'ratio':>6}")
    for name in variants:
        full = statistics.median(f for f, _ in times[name])
        alone = statistics.median(a for _, a in times[name])
        r_full = statistics.median(f / rf for (f, _), (rf, _) in zip(times[name], ref))
        r_alone = statistics.median(a / ra for (_, a), (_, ra) in zip(times[name], ref))
        print(f"{name:28} {full:13.2f} {r_full:6.2f} {alone:12.2f} {r_alone:6.2f}")


if __name__ == "__main__":
    main()
