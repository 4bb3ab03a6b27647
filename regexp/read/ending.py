"""Where a sweep's ending (regexp.read.summary) runs.

On a machine of two cores or more it runs in a process started with the sweep (a figure
pool of one process, regexp.figures.pool), which imports pandas and matplotlib while the
sweep imports torch and trains; it prints into a buffer shaped like the sweep's terminal and
the sweep prints that. When that process cannot do it, the sweep does it itself. This module
imports neither pandas nor matplotlib: the sweep's own process never needs them.
"""

from __future__ import annotations

import contextlib
import functools
import io
from pathlib import Path
from typing import Any

from rich.console import Console

from regexp.figures.pool import FigurePool, cores
from regexp.read.report import console_settings


def render(
    sweep_dir: str, expected: int, console: dict[str, Any], jobs: list[list[str]] | None
) -> tuple[str, int]:
    """end_sweep in a pool's process: (what it printed, for a console like `console`, and
    its exit code)."""
    from regexp.read.summary import end_sweep

    buf = io.StringIO()
    code = end_sweep(Path(sweep_dir), expected, Console(file=buf, **console), jobs)
    return buf.getvalue(), code


def import_ending(search: bool = False) -> None:
    """What a pool's process imports while it waits, so that the ending starts at once;
    search: an optimizing sweep's, whose Optuna study and figures are read there too."""
    import tabulate  # noqa: F401  (pandas' to_markdown imports it at first use)

    import regexp.read.summary  # noqa: F401

    if search:
        try:
            from regexp.figures.study import import_plots
            from regexp.runs.study import warm_up
        except ImportError:  # an optimizing sweeper other than Optuna
            return
        import_plots()
        warm_up()


def ending_pool(search: bool = False) -> contextlib.AbstractContextManager[FigurePool | None]:
    """A pool of one warm process for a sweep's ending (and its figures, should the launcher
    draw some there), when there is a second core to overlap with. search: an optimizing
    sweep's ending."""
    if cores() < 2:
        return contextlib.nullcontext(None)
    return FigurePool(1, warm_up=functools.partial(import_ending, search))


def finish(
    sweep_dir: Path,
    expected: int,
    pool: FigurePool | None,
    jobs: list[list[str]] | None = None,
) -> int:
    """The sweep's ending, in the pool's process when it can, else here; its exit code.
    jobs: every job's overrides, when known (a basic sweep's)."""
    if pool is not None:
        try:
            text, code = pool.call(render, str(sweep_dir), expected, console_settings(), jobs)
        except Exception:  # the pool's process died, or the ending failed there: do it here
            pass
        else:
            print(text, end="", flush=True)
            return code
    from regexp.read.summary import end_sweep

    return end_sweep(sweep_dir, expected, jobs=jobs)
