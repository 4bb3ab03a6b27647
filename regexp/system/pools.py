"""Work beside the training process: a pool of processes (a sweep's figures), a call in a
forked copy of this process (`beside`), threads for small independent tasks, and how many
cores this process may use.

A job's figures cost more CPU than its training in a stacked program, so a sweep with many
plotted jobs draws them in spawned processes on the other cores (docs/speed.md, trick 9);
their tasks are named ("module:function"), so the owner need not import what they import.
Whoever starts a pool owns it: it passes the pool down and closes it (`with ProcessPool(n)`).
This module imports nothing heavy: the launcher loads it at start-up.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

from regexp.system.signals import ignore_interrupts

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, which SLURM and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def call(target: str, *args: Any) -> Any:
    """Call the function named "module:function" with args, its module imported where it
    runs: a pool's owner names a task without loading its module (matplotlib, for a sweep's
    figures, stays out of the training process)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


def _start(preload: str | None) -> None:
    ignore_interrupts()  # the owner decides what an interrupt stops
    if preload is not None:
        importlib.import_module(preload)


class ProcessPool:
    """`processes` spawned processes, started now rather than at the first task; each imports
    the module named `preload` first (the owner need not load it: see `call`)."""

    def __init__(self, processes: int, preload: str | None = None):
        # spawn, not fork: torch's thread pools do not survive a fork
        context = multiprocessing.get_context("spawn")
        self.executor = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start, initargs=(preload,)
        )
        for _ in range(processes):  # the executor starts a process per task while none is idle
            self.executor.submit(int)
        self._futures: list[Future] = []
        self._pending: list[threading.Event] = []

    def submit(
        self, fn: Callable[..., Any], *args: Any, done: Callable[[BaseException | None], None]
    ) -> None:
        """Run fn(*args) in a process (fn and args picklable); then done(the error, or None;
        CancelledError when cancel() came first), in a thread of this process. Raises
        BrokenExecutor when the pool can take no task."""
        future = self.executor.submit(fn, *args)
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
        """Return once every task so far is done and its `done` has run."""
        for finished in list(self._pending):
            finished.wait()

    def cancel(self) -> None:
        """Cancel the tasks not started yet (their `done` gets a CancelledError); the running
        ones finish."""
        for future in list(self._futures):
            future.cancel()

    def close(self) -> None:
        self.wait()
        self.executor.shutdown(wait=True)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def thread_map(fn: Callable[[T], R], items: Iterable[T], min_items: int = 8) -> list[R]:
    """[fn(item) for item in items], in up to 4 threads from min_items items on: for tasks
    that release the GIL (image codecs), a second core does part of them (docs/speed.md,
    trick 8)."""
    items = list(items)
    if len(items) < min_items or cpu_count() < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(4, cpu_count())) as pool:
        return list(pool.map(fn, items))


def beside(call: Callable[[], R]) -> Callable[[], R]:
    """Start call() in a forked copy of this process, to run while this one goes on; return
    the function that waits for its result (or raises its error). Only where a copy gains
    and is safe: Linux, a second core, and no thread here to break by forking (another Python
    thread, or torch's thread pools): a sweep's ending process (docs/speed.md). Elsewhere, or
    should the copy die, call runs here when its result is asked for."""
    if (
        not sys.platform.startswith("linux")  # macOS's system libraries do not survive a fork
        or cpu_count() < 2
        or threading.active_count() > 1
        or "torch" in sys.modules
    ):
        return call
    for stream in (sys.stdout, sys.stderr):  # the copy's buffers start empty
        stream.flush()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: its answer down the pipe, then out, whatever happens
        try:
            os.close(read)
            try:
                answer = pickle.dumps((True, call()))
            except BaseException as err:  # noqa: BLE001 (raised again where it is asked for)
                answer = pickle.dumps((False, err))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(answer)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:  # nothing to tear down; never back into the caller's code
            os._exit(0)
    os.close(write)

    def result() -> R:
        with os.fdopen(read, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        if not answer:  # the copy died
            return call()
        ok, value = pickle.loads(answer)
        if not ok:
            raise value
        return value

    return result
