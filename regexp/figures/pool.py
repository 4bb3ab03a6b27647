"""Processes that draw runs' figures away from the training process.

A job's figures cost more CPU than its training in a stacked group, so a sweep with many
plotted jobs draws them in spawned processes, one per core. Whoever starts a pool owns it: it
passes the pool down and closes it (`with FigurePool(n) as pool`).

This module imports neither torch nor matplotlib: the training process hands out `draw`
without importing what only the pool needs.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from typing import Any

# fewer plotted jobs than this draw their figures where they are trained: a pool's processes
# import matplotlib and build their templates first, more than a few dozen jobs' figures cost
MIN_JOBS = 64


def cores() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0))


def _start() -> None:
    """Each process, as it starts: matplotlib imported and its fonts loaded, then an exit
    that skips tearing them down."""
    from regexp.figures.templates import warm_up
    from regexp.system.signals import ignore_interrupts

    ignore_interrupts()  # the owner decides what an interrupt stops
    warm_up()
    atexit.register(_exit_now)


def _exit_now() -> None:
    # registered last, so the first exit step to run: every task is done, its files closed
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def draw(specs: list[Any]) -> None:
    """A job's figures (regexp.figures.specs.plot_specs), drawn in this process: what a pool's
    process runs for a job, and what a job without a pool calls."""
    from regexp.figures.draw import draw_plots

    draw_plots(specs)


class FigurePool:
    """`processes` spawned processes, started now rather than at the first figure."""

    def __init__(self, processes: int):
        # spawn, not fork: torch's thread pools do not survive a fork
        context = multiprocessing.get_context("spawn")
        self.executor = ProcessPoolExecutor(processes, mp_context=context, initializer=_start)
        for _ in range(processes):  # the executor starts a process per task while none is idle
            self.executor.submit(int)
        self._futures: list[Future] = []
        self._pending: list[threading.Event] = []

    def draw(self, specs: list[Any], done: Callable[[BaseException | None], None]) -> None:
        """Draw specs in a process; then done(the error, or None), in a thread of this
        process. Raises BrokenExecutor when the pool can take no task."""
        future = self.executor.submit(draw, specs)
        self._futures.append(future)
        finished = threading.Event()
        self._pending.append(finished)

        def relay(future: Future) -> None:
            try:
                done(CancelledError() if future.cancelled() else future.exception())
            finally:
                finished.set()

        future.add_done_callback(relay)

    def wait(self) -> None:
        """Return once every draw so far is done and its `done` has run."""
        for finished in list(self._pending):
            finished.wait()

    def cancel(self) -> None:
        """Cancel the draws not started yet (their `done` gets a CancelledError); the ones
        being drawn finish."""
        for future in list(self._futures):
            future.cancel()

    def close(self) -> None:
        self.wait()
        self.executor.shutdown(wait=True)

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
