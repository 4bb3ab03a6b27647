"""Run a unit of work: train its jobs as one program, then write each job's folder.

The one interface between a launcher and the runs. Whoever dispatches a unit (the batched
launcher here or in a Ray task or a SLURM job, or Hydra's task function for a job alone)
calls run_unit with the jobs' settings and where each job's folder is; a program of one is
`regexp run`. Every job's folder is written by regexp.runs.write, in two steps: first every
trained job's numbers (an interrupt waits for them), then the figures.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from regexp.config import objective
from regexp.config.errors import ConfigError
from regexp.config.settings import DataSettings, Settings
from regexp.config.size import culprit, estimate, size
from regexp.figures.templates import warm_up
from regexp.runs.store import Store, reuse_on
from regexp.runs.write import (
    Trained,
    Written,
    finish_figures,
    record_failure,
    write_numbers,
    write_reused,
)
from regexp.system.pools import ProcessPool, cpu_count
from regexp.system.progress import SweepProgress
from regexp.system.signals import interrupts_deferred
from regexp.system.threads import threads_for
from regexp.train.data import Dataset, make_data, stack
from regexp.train.engine import fit
from regexp.train.init import pick_init


class Folders(Protocol):
    """Where a unit's jobs go, from whoever dispatches it: open(i) makes job i's folder (as
    Hydra's run_job would: the batched launcher) or gives the one made already (a job alone);
    close(i, value) hears that its numbers are written, with its objective's value."""

    def open(self, i: int) -> Path: ...

    def close(self, i: int, value: float) -> None: ...


class Given:
    """Folders made already: job i's is paths[i]."""

    def __init__(self, *paths: Path):
        self.paths = paths

    def open(self, i: int) -> Path:
        return self.paths[i]

    def close(self, i: int, value: float) -> None:
        pass


# fewer plotted jobs than this draw their figures where they are trained: a pool's processes
# import matplotlib and build their templates first, more than a few dozen jobs' figures cost
# (docs/speed.md, trick 9)
POOL_MIN_JOBS = 64


@dataclass
class Outcome:
    """A job's result as its launcher returns it: its metrics, and its objective's value
    (what an optimizing sweeper is told; NaN for a job that is not ok)."""

    metrics: dict[str, Any]
    value: float


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def train(settings: Sequence[Settings], display: Any = None) -> list[Trained]:
    """Train jobs of one stack_key as one program, each on its own data draw (one object for
    the jobs that share one); display: a sweep's progress display. Raises on errors that
    concern the whole program (bad data, out of memory)."""
    first = settings[0]
    device = pick_device(first.device)
    made: dict[DataSettings, Dataset] = {}
    for s in settings:
        if s.data not in made:
            made[s.data] = make_data(s.data).to(device)
    draws = [made[s.data] for s in settings]
    if device.type == "cuda":  # device=auto found a GPU: the CLI checked the CPU's memory only
        need = estimate(first, own_data=len(made) > 1).total(len(settings))
        free = torch.cuda.mem_get_info(device)[0]
        if need > free:
            raise ConfigError(
                culprit(first), f"{len(settings)} model(s) need about {size(need)} of memory, "
                f"more than the {size(free)} free on {device}"
            )  # fmt: skip
    data = draws[0] if len(made) == 1 else stack(draws)
    inits, info = None, None
    if len(settings) == 1 and first.init.strategy != "default":
        start, info = pick_init(first, data)
        inits = [start]
    label = first.name if len(settings) == 1 else "batched"
    members = fit(settings, data, inits, label, display)
    return [Trained(m, str(device), draw, info) for m, draw in zip(members, draws)]


def outcome(settings: Settings | None, metrics: dict[str, Any]) -> Outcome:
    return Outcome(metrics, objective.of_job(settings and settings.objective, metrics))


def run_unit(
    settings: Sequence[Settings],
    folders: Folders,
    pool: ProcessPool | None = None,
    progress: SweepProgress | None = None,
    batched: bool = False,
) -> list[Outcome]:
    """Train the jobs as one program (its epochs shown in the sweep's `progress` display),
    but those the store of finished jobs holds (regexp.runs.store), and write every job's
    folder: its numbers, weights and metrics.json (an interrupt meanwhile waits until every
    job's are written), then its figures: in `pool`, when one is given, as soon as the job's
    numbers are, else here once every job's numbers are. batched: a batched launcher's
    program (metrics.json's "batched" says its K). Raises when the program could not be
    trained: nothing is written then."""
    store = Store()
    outcomes: dict[int, Outcome] = {}
    plotted: list[Written] = []
    entries = {i: store.find(s) for i, s in enumerate(settings) if reuse_on(s)}
    todo = [i for i in range(len(settings)) if entries.get(i) is None]
    display = progress.bar if progress is not None else None
    results = dict(zip(todo, train([settings[i] for i in todo], display))) if todo else {}
    extra = {"batched": len(todo)} if batched else None
    if progress is not None:
        progress.program_trained()
    done = progress.figure_done if progress is not None else None

    def finished(i: int, s: Settings, written: Written | None) -> None:
        """Job i's numbers are written: its outcome kept and told to its Folders; its
        figures queued in the pool at once (drawn meanwhile on the other cores), or kept to
        draw here once every job's numbers are written."""
        metrics = written.metrics if written is not None else _unwritten()
        outcomes[i] = outcome(s, metrics)
        folders.close(i, outcomes[i].value)
        if progress is not None:
            progress.job_done()
        if written is None or written.specs is None:
            return
        if progress is not None:
            progress.figures_queued(1)
        if pool is not None:
            finish_figures(written, pool, done)
        else:
            plotted.append(written)

    # one intra-op thread while writing: idle OpenMP threads spin after each small op on the
    # cores the figure processes use (docs/speed.md, trick 4)
    with threads_for(0, threads=1):
        with interrupts_deferred():  # a trained job is never lost to Ctrl-C
            for i, s in enumerate(settings):
                entry = entries.get(i)
                if entry is not None:
                    write = functools.partial(write_reused, settings=s, entry=entry)
                else:
                    write = functools.partial(write_numbers, settings=s, trained=results[i],
                                              extra=extra)  # fmt: skip
                finished(i, s, _write(folders, i, write))
        for written in plotted:
            finish_figures(written, None, done)
    return [outcomes[i] for i in range(len(settings))]


def _write(folders: Folders, i: int, write: Callable[[Path], Written]) -> Written | None:
    """Job i's folder made and written; None when its folder cannot be made."""
    try:
        out = folders.open(i)
    except Exception as err:
        record_failure({}, err)
        return None
    return write(out)


def _unwritten() -> dict[str, Any]:
    return {"status": "failed", "error": "its folder could not be made"}


def figure_pool(plotted: int) -> contextlib.AbstractContextManager[ProcessPool | None]:
    """Where a launch's figures are drawn: with POOL_MIN_JOBS or more jobs with plots and a
    second core, a pool of a process per core, the launch's own; with fewer, each job draws
    its figures where it was trained."""
    processes = min(cpu_count(), plotted)
    if plotted < POOL_MIN_JOBS or processes < 2:
        return contextlib.nullcontext(None)
    return ProcessPool(processes, warm_up=warm_up)
