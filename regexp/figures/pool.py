"""The processes a sweep draws its runs' figures in, and ends in.

A job's figures cost more CPU than its training in a stacked group, so a sweep with plots
draws them in one spawned process per core. Each process imports matplotlib, pandas and the
report's modules (~1.3 s) when it starts: started by the CLI right after the sweep's check,
before it imports torch, that happens on the second core meanwhile; the sweep's ending
(table, summary.png, report.html) then runs in one of them too (report_helper.render).
This module imports neither torch nor matplotlib, so the sweep's own process can hand out
`draw` without importing what only the pool needs, and a pool process unpickling `draw`
imports nothing heavy either.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_shared: ProcessPoolExecutor | None = None  # the CLI's, for the sweep it runs
MIN_JOBS = 4  # fewer jobs' figures than this: not worth a process per core (~1.3 s each)


def _warm_up() -> None:
    """Each pool process, as it starts: matplotlib and the ending's modules (pandas)
    imported, fonts loaded; and an exit without tearing them down (~0.15 s, with the sweep
    waiting)."""
    from regexp.figures.templates import warm_up
    from regexp.read.report import import_ending
    from regexp.system.heap import freeze_imports

    import_ending()  # the sweep's ending runs in one of these processes
    warm_up()
    freeze_imports()
    atexit.register(_exit_now)


def _exit_now() -> None:
    # the first exit step that runs (atexit is last in, first out): every task is done
    # and its files written and closed by then
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def start(processes: int) -> ProcessPoolExecutor:
    """A pool of `processes` spawned processes, started now (not at the first figure)."""
    # spawn, not fork: torch's thread pools do not survive a fork
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_warm_up)
    # The executor starts a process per task submitted while none is idle: one task each
    # starts them all now, to warm up while the caller goes on (not at the first figures).
    for _ in range(processes):
        pool.submit(int)
    return pool


def start_shared(processes: int) -> ProcessPoolExecutor:
    """Start the pool for the sweep this process is about to run (the batched launcher
    uses it instead of starting its own)."""
    global _shared
    _shared = start(processes)
    return _shared


def shared() -> ProcessPoolExecutor | None:
    return _shared


def stop_shared() -> None:
    global _shared
    if _shared is not None:
        pool, _shared = _shared, None
        pool.shutdown(wait=True)


def draw(specs: list[Any]) -> None:
    """What a pool process runs for a job: its figures (regexp.figures.specs.plot_specs)."""
    from regexp.figures import draw as plots

    plots.draw_plots(specs)
