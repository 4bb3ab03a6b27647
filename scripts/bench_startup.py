"""Start-up of `regexp sweep` (1 job) and `regexp run` (1 epoch, no plots), wall seconds,
side by side in one run: a git worktree of an earlier commit against this tree.

Both sides run `python -m regexp.cli` with the same interpreter and packages, their own
tree first on PYTHONPATH, into a temporary folder; sides and verbs alternate over --rounds
rounds, so a busy spell of a shared machine slows both alike. The sweep's time includes its
summary table, summary.png and report.html; each process's exit is included.

    python scripts/bench_startup.py [--rounds 5] [--before 078614b]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from worktree import worktree_of

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "078614b"  # main before issue 11's start-up work of 2026-11-23 (third session)
VERBS = {"sweep": ["seed=0"], "run": []}


def seconds(tree: Path, verb: str) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    key = "hydra.sweep.dir" if verb == "sweep" else "hydra.run.dir"
    argv = [sys.executable, "-m", "regexp.cli", verb, "train.epochs=1", "plots.enabled=false"]
    argv += [*VERBS[verb], f"{key}={out / 'x'}"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True)  # fmt: skip
    elapsed = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_startup: {verb} in {tree} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--before", default=BEFORE, help="the commit to compare with")
    args = p.parse_args()
    times: dict[tuple[str, str], list[float]] = {}
    with worktree_of(args.before) as worktree:
        for _ in range(args.rounds):
            for side, tree in (("before", worktree), ("now", ROOT)):
                for verb in VERBS:
                    times.setdefault((verb, side), []).append(seconds(tree, verb))
    print(f"start-up, wall s over {args.rounds} alternating rounds (target: <= 2.5 s now)")
    print(f"{'verb':<6} {'side':<7} {'commit':<10} {'median':>7} {'min':>6} {'max':>6}")
    for verb in VERBS:
        med = {}
        for side in ("before", "now"):
            ts = times[(verb, side)]
            med[side] = statistics.median(ts)
            commit = args.before if side == "before" else "this tree"
            print(f"{verb:<6} {side:<7} {commit:<10} {med[side]:7.2f} {min(ts):6.2f} "
                  f"{max(ts):6.2f}")  # fmt: skip
        print(f"{verb}: before/now = {med['before'] / med['now']:.2f}x")


if __name__ == "__main__":
    main()
