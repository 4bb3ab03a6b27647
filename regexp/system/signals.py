"""Ctrl-C and SIGTERM: both stop a run or sweep the same way, through KeyboardInterrupt, so
what is finished is kept and the sweep's summary is written before the process exits with
130 (SIGINT) or 143 (SIGTERM)."""

from __future__ import annotations

import signal
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


def ignore_interrupts() -> None:
    """A helper process leaves Ctrl-C and SIGTERM to the process that owns it (a terminal's
    Ctrl-C reaches every process of the group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
