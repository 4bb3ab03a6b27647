"""Ctrl-C and SIGTERM: both stop a run or sweep the same way, through KeyboardInterrupt, so
what is finished is kept and the sweep's summary is written before the process exits with
130 (SIGINT) or 143 (SIGTERM)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where KeyboardInterrupt would be."""


def exit_code(stop: KeyboardInterrupt) -> int:
    """The shell's code for a process stopped by this signal: 128 + its number."""
    return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises Terminated in the main thread."""
    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM while the block runs are kept and raised (KeyboardInterrupt,
    Terminated) once it ends: for a block that must not be cut, such as writing the results of
    jobs already trained. Off the main thread, where signals are not delivered, a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def keep(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    before = {s: signal.signal(s, keep) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        if caught:
            raise Terminated() if caught[0] == signal.SIGTERM else KeyboardInterrupt()


def ignore_interrupts() -> None:
    """A helper process leaves Ctrl-C and SIGTERM to the process that owns it (a terminal's
    Ctrl-C reaches every process of the group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
