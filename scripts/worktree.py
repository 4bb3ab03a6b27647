"""A git worktree of an earlier commit, for the benches that time it beside this tree."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def worktree_of(commit: str) -> Iterator[Path]:
    """The tree of `commit` in a temporary folder, removed afterwards; SystemExit with one
    line when git cannot make it (no such commit, not a git clone)."""
    with tempfile.TemporaryDirectory(prefix="bench-before-") as tmp:
        tree = Path(tmp) / "before"
        made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                               commit], capture_output=True, text=True)  # fmt: skip
        if made.returncode != 0:
            last = (made.stderr.strip().splitlines() or ["git failed"])[-1]
            raise SystemExit(f"--before {commit}: no worktree of it ({last})")
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)  # fmt: skip
