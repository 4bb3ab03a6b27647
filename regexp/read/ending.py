"""A sweep's ending (its table, summary.csv/.md, summary.png, report.html) done by a helper
process started with the sweep: a process of its own, or the sweep's figure pool.

pandas and matplotlib cost ~1 s to import and summary.png ~0.2 s to draw, on one core after
the sweep. Started when the sweep starts, the helper imports them on a second core while the
sweep imports torch; when the sweep is done it gets the folder on its stdin, does what
report.print_sweep does into a buffer shaped like the sweep's terminal, and answers the text
and the exit code as one JSON line. Until then it reads the sweep's finished job folders as
the launcher writes them (collect.prefetch), on the core the launcher leaves idle, so the
ending reads only the last few. The training process never imports pandas or
matplotlib. A sweep whose figures the batched launcher draws in a pool of processes
(Plan.pooled_figures) starts that pool here instead, and its ending runs in one of them: the
same imports, done once. With one core, or when the helper cannot start or fails, the sweep
does it all itself (report.print_sweep), as before.

    python -m regexp.read.ending [SWEEP_DIR]   # one JSON request on stdin, one answer
"""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any


class ReportHelper:
    """The helper process: report(sweep_dir, expected) once, at the sweep's end; watch: the
    sweep's folder, whose finished jobs the helper reads while it waits."""

    def __init__(
        self, start: bool = True, pooled_figures: int = 0, watch: Path | None = None
    ) -> None:
        self.proc: subprocess.Popen | None = None
        self.pool: Executor | None = None
        cores = len(os.sched_getaffinity(0))
        if not start or cores < 2:  # nothing to overlap with
            return
        from regexp.figures import pool as plot_pool

        if pooled_figures >= plot_pool.MIN_JOBS:
            self.pool = plot_pool.start_shared(min(cores, pooled_figures))
            return
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", __name__, *([str(watch)] if watch else [])],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError:
            self.proc = None

    def report(self, sweep_dir: Path, expected: int) -> int:
        """Print the sweep's table and write its summary files and figures (print_sweep);
        the exit code it gives."""
        from regexp.read.report import console_settings

        answer = None
        request = {"sweep_dir": str(sweep_dir), "expected": expected, **console_settings()}
        if self.pool is not None:
            try:
                answer = self.pool.submit(render, request).result()
            except Exception:  # a pool process died: do it here
                answer = None
        elif self.proc is not None:
            proc, self.proc = self.proc, None
            try:
                out, _ = proc.communicate(json.dumps(request) + "\n")
                answer = json.loads(out.strip().splitlines()[-1])
            except (OSError, ValueError, IndexError):  # the helper died: do it here
                answer = None
        if answer is None or "text" not in answer:
            from regexp.read.report import print_sweep

            return print_sweep(sweep_dir, expected)
        sys.stdout.write(answer["text"])
        sys.stdout.flush()
        return int(answer["code"])

    def close(self) -> None:
        """End the helper: an unused process's stdin closes and it exits without writing
        anything; the pool's processes end."""
        if self.pool is not None:
            from regexp.figures import pool as plot_pool

            self.pool = None
            plot_pool.stop_shared()
        if self.proc is not None:
            proc, self.proc = self.proc, None
            proc.communicate()

    def __enter__(self) -> ReportHelper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render(request: dict[str, Any]) -> dict[str, Any]:
    """What print_sweep prints, into a buffer shaped like the sweep's terminal, and the exit
    code: {"text", "code"}, or {"error"} (the sweep then does it itself)."""
    from rich.console import Console

    from regexp.read.report import print_sweep

    buf = io.StringIO()
    settings = {k: request[k] for k in ("force_terminal", "width", "color_system")}
    try:
        code = print_sweep(
            Path(request["sweep_dir"]), request["expected"], Console(file=buf, **settings)
        )
        return {"text": buf.getvalue(), "code": code}
    except Exception as err:  # the sweep does it again itself, and reports it its own way
        return {"error": f"{type(err).__name__}: {err}"}


POLL_S = 0.05  # how often a waiting helper looks for newly finished jobs


def _serve(argv: list[str]) -> int:
    from regexp.figures.templates import warm_up
    from regexp.read.collect import prefetch
    from regexp.read.report import import_ending
    from regexp.system.heap import freeze_imports

    import_ending()  # the slow imports, done first
    warm_up()
    freeze_imports()
    if argv:
        while not select.select([sys.stdin], [], [], POLL_S)[0]:
            prefetch(Path(argv[0]))
    line = sys.stdin.readline()
    if not line:  # the sweep ended without asking (bad input, interrupted)
        return 0
    print(json.dumps(render(json.loads(line))), flush=True)
    # the sweep waits for this process to end: tearing down matplotlib and pandas would
    # cost it ~0.2 s, and every file is written and closed already
    os._exit(0)


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
