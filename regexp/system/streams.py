"""Standard output whose reader may go away: `regexp sweep ... | head -2` must not stop a sweep.

A sweep's results are its folders; what it prints is a courtesy. Once the pipe is closed, the
rest of the output goes to /dev/null and the work goes on.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class QuietPipe:
    """A text stream that writes to `stream` until its reader has gone, then to /dev/null."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...: the stream's
        return getattr(self.stream, name)


def quiet_stdout() -> None:
    """From now on a closed stdout costs this process nothing but its output."""
    if not isinstance(sys.stdout, QuietPipe):
        sys.stdout = QuietPipe(sys.stdout)  # type: ignore[assignment]
