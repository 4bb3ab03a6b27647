"""This tree against an earlier commit, side by side in one run: wall seconds of the same
`regexp` commands (sweeps with and without plots, a sweep's and a run's fixed cost).

Both sides run `python -m regexp.cli` with the same interpreter and packages, their own tree
first on PYTHONPATH (a git worktree of the earlier commit), alternating command by command
over --rounds rounds, so a busy spell of a shared machine slows both alike. Every folder the
commands write is kept until the end (this machine's ext4 creates files slowly right after
many deletions; see bench.py).

    python scripts/bench_before.py [--before c357e3c] [--rounds 3] [--only NAME ...]
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

from rich.console import Console
from rich.table import Table
from worktree import worktree_of

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "c357e3c"  # main before the house was rebuilt (issue 22), 2026-12-05
FAST = ["hidden_units=[16,16]", "train.epochs=300"]
COMMANDS: dict[str, list[str]] = {
    "sweep, 1 job of 1 epoch, no plots": [
        "sweep",
        "seed=0",
        "train.epochs=1",
        "plots.enabled=false",
    ],  # fmt: skip
    "run, 1 epoch, no plots": ["run", "train.epochs=1", "plots.enabled=false"],
    "sweep, 128 seeds [16,16], no plots": [
        "sweep",
        "seed=range(0,128)",
        *FAST,
        "plots.enabled=false",
    ],  # fmt: skip
    "sweep, 32 seeds [16,16], plots": ["sweep", "seed=range(0,32)", *FAST],
    "sweep, 128 seeds [16,16], plots": ["sweep", "seed=range(0,128)", *FAST],
}


def seconds(tree: Path, argv: list[str], scratch: Path) -> float:
    out = Path(tempfile.mkdtemp(prefix="x-", dir=scratch)) / "out"
    key = "hydra.sweep.dir" if argv[0] == "sweep" else "hydra.run.dir"
    command = [sys.executable, "-m", "regexp.cli", *argv, f"{key}={out}"]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True)  # fmt: skip
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"bench_before: {' '.join(argv)} in {tree} failed:\n"
                         f"{done.stderr[-2000:]}")  # fmt: skip
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--before", default=BEFORE, help="the commit to compare with")
    p.add_argument("--only", nargs="*", help="names (or words of names) of the commands")
    args = p.parse_args()
    names = [n for n in COMMANDS if not args.only or any(w in n for w in args.only)]
    times: dict[tuple[str, str], list[float]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="bench-before-"))
    try:
        with worktree_of(args.before) as worktree:
            for _ in range(args.rounds):
                for name in names:
                    for side, tree in (("before", worktree), ("now", ROOT)):
                        t = seconds(tree, COMMANDS[name], scratch)
                        times.setdefault((name, side), []).append(t)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = Table(title=f"wall s, median of {args.rounds} alternating rounds: "
                        f"{args.before} (before) vs this tree (now)")  # fmt: skip
    for col in ("command", "before", "now", "now / before"):
        table.add_column(col, justify="left" if col == "command" else "right")
    for name in names:
        before, now = (statistics.median(times[(name, s)]) for s in ("before", "now"))
        spread = " ".join(f"{t:.2f}" for t in times[(name, "now")])
        table.add_row(name, f"{before:.2f}", f"{now:.2f} ({spread})", f"{now / before:.2f}")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
