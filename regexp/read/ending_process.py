"""A sweep's ending (regexp.read.summary: its table, best.yaml, figures and report.html) in a
process of its own, started with the sweep.

The ending's modules (pandas, matplotlib, scipy) are slow to import; started with the sweep,
the ending's process imports them on another core while the jobs train, and draws once they
are done (docs/speed.md has the figures). Where that gains nothing (one core, or the modules
loaded already, as in a test's process) the ending runs in the sweep's process. Its process
leaves Ctrl-C and SIGTERM to the sweep's, which waits for it; should it die, the sweep's
process ends the sweep itself. No pandas here: the sweep's process imports this module.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from regexp.system.pools import cpu_count
from regexp.system.signals import ignore_interrupts
from regexp.system.streams import quiet_stdout

ENDING_MODULE = "regexp.read.summary"


def _serve(conn: Connection) -> None:
    """The ending's process: import, then end the sweep it is asked to end, if any."""
    ignore_interrupts()
    quiet_stdout()
    try:
        import scipy.special  # noqa: F401 (regexp.read.statistics' intervals, loaded late)

        from regexp.read.summary import end_sweep

        request = conn.recv()
        if request is not None:
            try:
                answer: tuple[Any, ...] = (end_sweep(*request), None)
            except Exception as err:  # the sweep's process raises it
                answer = (None, err)
            sys.stdout.flush()
            sys.stderr.flush()
            conn.send(answer)
    except (EOFError, OSError):  # the sweep's process went away
        pass
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # nothing to tear down that matters (regexp.system.exit says why)


class EndingProcess:
    """The ending's process, started now: ends the sweep when asked, or quits at close()."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # fork: not once torch's threads run
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()
        self.asked = False

    def end(self, sweep_dir: Path, expected: int, jobs: list[list[str]] | None,
            searching: bool) -> int | None:  # fmt: skip
        """end_sweep's code from the ending's process; None when it died first (nothing of
        the ending may be written then: the caller ends the sweep itself)."""
        for stream in (sys.stdout, sys.stderr):  # what this process printed comes first
            stream.flush()
        try:
            self.conn.send((sweep_dir, expected, None, jobs, searching))  # end_sweep's
            self.asked = True
            code, err = self.conn.recv()
        except (EOFError, OSError):
            return None
        if err is not None:
            raise err
        return int(code)

    def close(self) -> None:
        """Done with it: an ending process never asked (the sweep stopped before its
        ending) is killed, not waited for."""
        if not self.asked:
            self.process.kill()
        self.conn.close()
        self.process.join()

    def __enter__(self) -> EndingProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_ending() -> EndingProcess | None:
    """The ending's process where it gains: a second core and the ending's modules not loaded
    in this process yet; else None (the ending runs here)."""
    if cpu_count() < 2 or ENDING_MODULE in sys.modules:
        return None
    try:
        return EndingProcess()
    except OSError:  # no process to be had: the ending runs here
        return None
