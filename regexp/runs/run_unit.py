"""Run a unit of work: train its jobs as one program, writing each job's folder as it ends.

The one interface between a launcher and the runs. Whoever dispatches a unit (the batched
launcher here or in a Ray task or a SLURM job, or Hydra's task function for a job alone)
calls run_unit with the jobs' settings and where each job's folder is; a program of one is
`regexp run`. Every job's folder is written by regexp.runs.write as soon as the job ends
(regexp.runs.unit_jobs: its numbers first, an interrupt meanwhile waits for them, then its
figures). In an Optuna search the unit's jobs are trials (regexp.runs.search): they report to
the search's pruner, are told to the study as they end, and a freed row takes the next trial.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from regexp.config.errors import ConfigError
from regexp.config.settings import DataSettings, Settings
from regexp.config.size import culprit, estimate, size
from regexp.runs.store import Store, reuse_on
from regexp.runs.unit_jobs import Folders, Outcome, UnitJobs, Writer, outcome
from regexp.runs.write import Trained, write_reused
from regexp.system.pools import ProcessPool, cpu_count
from regexp.system.progress import SweepProgress
from regexp.train.data import Dataset, make_data, stack
from regexp.train.engine import Member, fit
from regexp.train.init import pick_init
from regexp.train.watch import Watch

if TYPE_CHECKING:
    from regexp.runs.search import TrialJobs

__all__ = ["Folders", "Given", "Outcome", "figure_pool", "outcome", "run_unit", "train"]


class Given:
    """Folders made already: job i's is paths[i]; one path: the one job's, whatever its key
    (a trial's is its number)."""

    def __init__(self, *paths: Path):
        self.paths = paths

    def open(self, i: int) -> Path:
        return self.paths[0] if len(self.paths) == 1 else self.paths[i]

    def close(self, i: int, value: float) -> None:
        pass


# fewer plotted jobs than this draw their figures where they are trained: a pool's processes
# import matplotlib and build their templates first, more than a few dozen jobs' figures cost
# (docs/speed.md, trick 9)
POOL_MIN_JOBS = 64


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def train(
    settings: Sequence[Settings], display: Any = None, jobs: UnitJobs | None = None
) -> list[Trained]:
    """Train jobs of one stack_key as one program, each on its own data draw (one object for
    the jobs that share one); display: a sweep's progress display; jobs: hears the program's
    passes and refills its freed rows, and gets each job's outcome as it ends
    (regexp.runs.unit_jobs). Each job's Trained: the settings given, then the refills. Raises
    on errors that concern the whole program (bad data, out of memory)."""
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
    watch = _Watch(jobs, list(settings), made, device, info)
    members = fit(settings, data, inits, label, display, watch)
    return [watch.trained(job, m) for job, m in enumerate(members)]


class _Watch(Watch):
    """fit's watch for train: UnitJobs' passes and refills; each job's outcome made a Trained
    (its device, its data draw: a refill's made here too) and handed on as it ends."""

    def __init__(
        self, jobs: UnitJobs | None, settings: list[Settings], made: dict, device: torch.device,
        info: dict[str, Any] | None,
    ):  # fmt: skip
        self.jobs, self.settings, self.made = jobs, settings, made
        self.device, self.info = device, info

    def evaluated(self, jobs, epochs, values):  # noqa: ANN001, ANN201 (Watch's)
        return self.jobs.evaluated(jobs, epochs, values) if self.jobs is not None else ()

    def refill(self, job: int) -> Settings | None:
        s = self.jobs.refill(job) if self.jobs is not None else None
        if s is not None:
            self.settings.append(s)
            if s.data not in self.made:
                self.made[s.data] = make_data(s.data).to(self.device)
        return s

    def trained(self, job: int, member: Member) -> Trained:
        s = self.settings[job]
        return Trained(member, str(self.device), self.made[s.data], self.info if job == 0 else None)

    def finished(self, job: int, member: Member) -> None:
        if self.jobs is not None:
            self.jobs.ended(job, self.trained(job, member))


def run_unit(
    settings: Sequence[Settings],
    folders: Folders,
    pool: ProcessPool | None = None,
    progress: SweepProgress | None = None,
    batched: bool = False,
    trials: TrialJobs | None = None,
) -> list[Outcome]:
    """Train the jobs as one program (its epochs shown in the sweep's `progress` display),
    but those the store of finished jobs holds (regexp.runs.store), and write every job's
    folder as soon as the job ends: its numbers, weights and metrics.json (an interrupt
    meanwhile waits until the folders of every job that ended with it are written), then its
    figures: in `pool`, when one is given, at once, else here once the program has trained.
    batched: a batched launcher's program (metrics.json's "batched" says its K). trials: the
    jobs are these trials of an Optuna search (regexp.runs.search.TrialJobs: folders named by
    trial number, passes reported, pruned trials stopped, each told as it ends, freed rows
    refilled). Each job's Outcome: the jobs given, then the refills. Raises when the program
    could not be trained (nothing is written then, unless some of its jobs had ended)."""
    store = Store()
    keys = list(trials.numbers) if trials is not None else list(range(len(settings)))
    writer = Writer(folders, pool, progress, trials)
    entries = {i: store.find(s) for i, s in enumerate(settings) if reuse_on(s)}
    todo = [i for i in range(len(settings)) if entries.get(i) is None]
    extra = {"batched": len(todo)} if batched else None
    jobs = UnitJobs(writer, [settings[i] for i in todo], [keys[i] for i in todo], trials, extra)
    if todo:
        display = progress.bar if progress is not None else None
        try:
            train(jobs.settings[:], display, jobs)
            if progress is not None:  # before its last jobs are written: the count says so
                progress.program_trained()
        finally:  # the jobs that ended, written even when the program stops
            jobs.flush()
    if progress is not None and trials is not None:
        progress.started(len(settings) - len(todo))
    writer.write([
        (keys[i], settings[i], functools.partial(write_reused, settings=settings[i], entry=e))
        for i, e in entries.items() if e is not None
    ])  # fmt: skip
    writer.draw_rest()
    return [writer.outcomes[k] for k in [*keys, *jobs.keys[len(todo) :]]]


def figure_pool(plotted: int) -> contextlib.AbstractContextManager[ProcessPool | None]:
    """Where a launch's figures are drawn: with POOL_MIN_JOBS or more jobs with plots and a
    second core, a pool of a process per core, the launch's own; with fewer, each job draws
    its figures where it was trained."""
    processes = min(cpu_count(), plotted)
    if plotted < POOL_MIN_JOBS or processes < 2:
        return contextlib.nullcontext(None)
    return ProcessPool(processes, preload="regexp.figures.draw")
