"""Ending the process without Python's teardown of its modules.

Freeing torch's modules and objects at interpreter exit takes a good part of a second
(docs/speed.md, trick 1), and a command-line tool gains nothing from it. exit_now does the
parts of an exit that matter, in CPython's order: threading._shutdown (joins non-daemon
threads and runs the hooks that shut executors down: concurrent.futures', joblib's loky
workers), the atexit handlers (logging's flush and close, multiprocessing's and Ray's
shutdown), a flush of stdout and stderr; then os._exit. Both calls are CPython's own private
steps of that sequence: tests/system/test_exit.py pins what they do.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """Exit with code as a normal exit would, minus the interpreter's teardown."""
    threading._shutdown()  # type: ignore[attr-defined]  # joins threads, runs their exit hooks
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a broken pipe: nothing more to say
            pass
    os._exit(code)
