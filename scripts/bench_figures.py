"""A run's default figures, CPU ms per run, side by side in one run: the drawing code of the
commit before the figure templates (a git worktree of it) against this tree's.

Both sides run in subprocesses of their own, on the same inputs: the default experiment's data
(1-D regression), [16] models of seeds 0, 1, ... and a 1000-epoch history with validation
every 10 epochs,
through the same public calls (regexp.figures.specs.plot_specs, then draw_plots; PNGs written to
a temporary folder). The first run of a process (imports, building a figure template) is
reported apart from the steady state, which is the median of --runs runs of process CPU time.
Sides alternate over --rounds rounds, so a busy machine slows both alike.

    python scripts/bench_figures.py [--runs 20] [--rounds 3] [--before 6f36ff8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from worktree import worktree_of

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "6f36ff8"  # main before issue 12's figures: one Figure built per PNG, zlib level 6


def child(runs: int) -> None:
    """Time plot_specs + draw_plots of one default run, `runs` times; print JSON."""
    import numpy as np
    import pandas as pd
    import torch

    import regexp

    try:  # this tree's layout
        from regexp.config.compose import compose
        from regexp.config.settings import validate
        from regexp.figures.pool import draw as draw_plots
        from regexp.figures.specs import plot_specs as specs_in
        from regexp.train.data import make_data
        from regexp.train.model import MLP

        def plot_specs(out, model, data, settings, history):
            return specs_in(out / "plots", out / "plots" / "fit.npz", model, data, settings,
                            history)  # fmt: skip
    except ImportError:  # an earlier commit's (regexp/core/)
        from regexp.core.config import compose
        from regexp.core.data import make_data
        from regexp.core.figures import draw_plots, plot_specs
        from regexp.core.model import MLP
        from regexp.core.settings import validate

    torch.set_num_threads(1)
    settings = validate(compose(["hidden_units=[16]"]))
    data = make_data(settings.data)
    # A model per run (seeded by the run's number), so no run redraws the previous one.
    models = [
        MLP(1, settings.hidden_units, 1, settings.activation).init_seeded(i, stddev=0.5).eval()
        for i in range(runs + 1)
    ]
    epochs = np.arange(1, settings.train.epochs + 1)
    train = 0.04 + 0.6 * np.exp(-epochs / 40)
    val = np.where(epochs % settings.train.eval_every == 0, train * 0.98, np.nan)
    history = pd.DataFrame(
        {"epoch": epochs, "train_loss": train, "train_mse": train, "val_mse": val, "val_loss": val}
    )
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            t0 = time.process_time()
            draw_plots(plot_specs(Path(tmp) / str(i), models[i], data, settings, history))
            times.append(1000 * (time.process_time() - t0))
        pngs = sorted(p.name for p in (Path(tmp) / "0" / "plots").glob("*.png"))
    out = {"first": times[0], "runs": times[1:], "pngs": pngs, "module": regexp.__file__}
    print(json.dumps(out))


def side(tree: Path, runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(runs)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench_figures: the side in {tree} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["module"]).resolve().is_relative_to(tree.resolve()), result["module"]
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="runs timed per process")
    p.add_argument("--rounds", type=int, default=3, help="processes per side, alternating")
    p.add_argument("--before", default=BEFORE, help="the commit whose drawing code to time")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        child(args.child)
        return

    results: dict[str, list[dict]] = {"before": [], "now": []}
    with worktree_of(args.before) as worktree:
        for _ in range(args.rounds):
            results["before"].append(side(worktree, args.runs))
            results["now"].append(side(ROOT, args.runs))

    print(f"default figures of one run (1-D regression, [16]); CPU ms per run, median of "
          f"{args.rounds} x {args.runs} runs; first run of a process apart")  # fmt: skip
    print(f"{'side':<8} {'commit':<10} {'ms/run':>8} {'min':>7} {'first':>8}  pngs")
    med = {}
    for name, rs in results.items():
        all_runs = [t for r in rs for t in r["runs"]]
        med[name] = statistics.median(all_runs)
        first = statistics.median(r["first"] for r in rs)
        commit = args.before if name == "before" else "this tree"
        print(f"{name:<8} {commit:<10} {med[name]:8.1f} {min(all_runs):7.1f} {first:8.1f}  "
              f"{', '.join(rs[0]['pngs'])}")  # fmt: skip
    print(f"speed-up: {med['before'] / med['now']:.1f}x (target: <= 50 ms per run now)")


if __name__ == "__main__":
    main()
