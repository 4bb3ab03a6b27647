"""Processes that draw runs' figures, and run a sweep's ending, away from the training process.

A job's figures cost more CPU than its training in a stacked group, so a sweep with plots
draws them in spawned processes, one per core; a sweep's ending (its table, summary.png,
report.html) runs in one of them too, so matplotlib and pandas are imported by these
processes only, while the sweep imports torch. Whoever starts a pool owns it: it passes the
pool down and closes it (`with FigurePool(...) as pool`).

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

MIN_JOBS = 4  # fewer jobs' figures than this are drawn where they are trained


def cores() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0))


def _start(warm_up: Callable[[], None] | None) -> None:
    """Each process, as it starts: matplotlib imported and its fonts loaded, the owner's own
    imports (warm_up), then an exit that skips tearing them down."""
    from regexp.figures.templates import warm_up as warm_figures
    from regexp.system.heap import freeze_imports
    from regexp.system.signals import ignore_interrupts

    ignore_interrupts()  # the owner decides what an interrupt stops

    if warm_up is not None:
        warm_up()
    warm_figures()
    freeze_imports()
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
    """Up to `cores()` spawned processes; `processes` of them started now, more with grow()."""

    def __init__(self, processes: int = 1, warm_up: Callable[[], None] | None = None):
        # spawn, not fork: torch's thread pools do not survive a fork
        self.executor = ProcessPoolExecutor(
            cores(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(warm_up,),
        )
        self.started = 0
        self._futures: list[Future] = []
        self._pending: list[threading.Event] = []
        self.grow(processes)

    def grow(self, processes: int) -> None:
        """Start processes up to `processes`, now rather than at the first task: the executor
        starts one for each task submitted while none is idle."""
        for _ in range(self.started, min(processes, cores())):
            self.executor.submit(int)
            self.started += 1

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a process of the pool; its result (or its exception, raised here)."""
        return self.executor.submit(fn, *args).result()

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
