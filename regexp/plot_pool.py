"""The processes a sweep draws its runs' figures in.

A job's figures cost more CPU than its training in a stacked group, so a sweep with plots
draws them in one spawned process per core. Each process imports matplotlib (~1 s) when it
starts: started before the sweep imports torch, that happens on the second core meanwhile.
This module imports neither torch nor matplotlib, so the sweep's own process can hand out
`draw` without importing what only the pool needs, and a pool process unpickling `draw`
imports nothing heavy either.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _warm_up() -> None:
    """Each pool process, as it starts: matplotlib imported, fonts loaded."""
    from regexp.figure_templates import warm_up

    warm_up()


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


def draw(specs: list[Any]) -> None:
    """What a pool process runs for a job: its figures (regexp.core.figures.plot_specs)."""
    from regexp import plots

    plots.draw_plots(specs)
