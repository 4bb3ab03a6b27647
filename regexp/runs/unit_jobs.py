"""A unit's jobs while its program trains (regexp.runs.run_unit): each job's folder written as
soon as the job ends, and in an Optuna search each job a trial: its validation passes reported
to the search's pruner, the trials it prunes stopped, each told to the study once its folder
is written, and a freed row given the next trial asked (regexp.runs.search).

Writing goes through Writer, one path for every job of a unit (trained or filled from the
store of finished jobs): its numbers, weights and metrics.json first, with signals deferred
and one thread, for every job that ended at one tick together; then its figures, in the
launch's pool when there is one, else here once the program has trained.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from regexp.config import objective
from regexp.config.settings import Settings
from regexp.runs.pruners import reported
from regexp.runs.store import Store, reuse_on
from regexp.runs.units import stack_key
from regexp.runs.write import (
    Trained,
    Written,
    finish_figures,
    record_failure,
    write_numbers,
    write_reused,
)
from regexp.system.pools import ProcessPool
from regexp.system.progress import SweepProgress
from regexp.system.signals import interrupts_deferred
from regexp.system.threads import threads_for

if TYPE_CHECKING:
    from regexp.runs.search import TrialJobs


class Folders(Protocol):
    """Where a unit's jobs go, from whoever dispatches it: open(key) makes the folder of the
    job `key` names (job i of the unit; in a search, trial number i) as Hydra's run_job would
    (the batched launcher) or gives the one made already (a job alone); close(key, value)
    hears that its numbers are written, with its objective's value."""

    def open(self, i: int) -> Path: ...

    def close(self, i: int, value: float) -> None: ...


@dataclass
class Outcome:
    """A job's result as its launcher returns it: its metrics, and its objective's value
    (what an optimizing sweeper is told; NaN for a job that is not ok)."""

    metrics: dict[str, Any]
    value: float


def outcome(settings: Settings | None, metrics: dict[str, Any]) -> Outcome:
    return Outcome(metrics, objective.of_job(settings and settings.objective, metrics))


Write = Callable[[Path], Written]  # writes a job's folder, given the folder


class Writer:
    """Writes a unit's job folders where its Folders say; keeps each job's Outcome by key."""

    def __init__(
        self, folders: Folders, pool: ProcessPool | None, progress: SweepProgress | None,
        trials: TrialJobs | None,
    ):  # fmt: skip
        self.folders, self.pool, self.progress, self.trials = folders, pool, progress, trials
        self.outcomes: dict[int, Outcome] = {}
        self.plotted: list[Written] = []  # figures to draw here, once the program has trained

    def write(self, jobs: Sequence[tuple[int, Settings, Write]]) -> None:
        """These jobs' folders, their numbers first: a signal meanwhile waits until every one
        is written; one intra-op thread (idle OpenMP threads spin after each small op on the
        cores the figure processes use: docs/speed.md, trick 4)."""
        if not jobs:
            return
        with threads_for(0, threads=1), interrupts_deferred():
            for key, settings, write in jobs:
                self._one(key, settings, write)

    def _one(self, key: int, settings: Settings, write: Write) -> None:
        """Job `key`'s folder written, its outcome kept, told to the search (a trial) and to
        its Folders; its figures queued in the pool at once, or kept to draw here."""
        written = _write(self.folders, key, write)
        metrics = written.metrics if written is not None else _unwritten()
        done = self.outcomes[key] = outcome(settings, metrics)
        if self.trials is not None:
            self.trials.trials.tell(key, metrics.get("status"), done.value)
        self.folders.close(key, done.value)
        if self.progress is not None:
            self.progress.job_done(metrics.get("status"))
        if written is None or written.specs is None:
            return
        if self.progress is not None:
            self.progress.figures_queued(1)
        if self.pool is not None:
            finish_figures(written, self.pool, self._drawn())
        else:
            self.plotted.append(written)

    def _drawn(self) -> Callable[[], None] | None:
        return self.progress.figure_done if self.progress is not None else None

    def draw_rest(self) -> None:
        """The figures kept to draw here."""
        for written in self.plotted:
            finish_figures(written, None, self._drawn())
        self.plotted = []


def _write(folders: Folders, key: int, write: Write) -> Written | None:
    """Job key's folder made and written; None when its folder cannot be made."""
    try:
        out = folders.open(key)
    except Exception as err:
        record_failure({}, err)
        return None
    return write(out)


def _unwritten() -> dict[str, Any]:
    return {"status": "failed", "error": "its folder could not be made"}


def fits(program: Sequence[Settings], s: Settings) -> bool:
    """Whether a new job can train in a freed row of the program its first jobs started: it
    stacks with them (regexp.runs.units.stack_key), its layers no wider than the program's,
    and on the program's one data draw unless the program trains a draw per model."""
    first = program[0]
    if stack_key(s) != stack_key(first):
        return False
    widest = [max(layer) for layer in zip(*(p.hidden_units for p in program))]
    if any(w > most for w, most in zip(s.hidden_units, widest)):
        return False
    draws = {p.data.seed for p in program}
    return len(draws) > 1 or s.data.seed in draws


class UnitJobs:
    """The jobs of a unit's program (regexp.runs.run_unit.train hands it fit's events): the
    settings given, then each refill, by fit's job number; `keys` name their folders."""

    def __init__(
        self, writer: Writer, settings: Sequence[Settings], keys: Sequence[int],
        trials: TrialJobs | None, extra: dict[str, Any] | None = None,
    ):  # fmt: skip
        self.writer, self.trials, self.extra = writer, trials, extra
        self.first = list(settings)  # the program's own jobs: a refill must fit them
        self.settings, self.keys = list(settings), list(keys)
        self.done: list[tuple[int, Trained]] = []  # written at the tick's first refill
        if writer.progress is not None and trials is not None:
            writer.progress.started(len(self.settings))

    def evaluated(
        self, jobs: Sequence[int], epochs: Sequence[int], values: dict[str, Sequence[float]]
    ) -> list[int]:
        """A validation pass: each trial reports its objective's value at its epoch; the
        jobs whose trials the pruner stops."""
        if self.trials is None:
            return []
        search = self.trials.trials
        stop = []
        for j, (job, epoch) in enumerate(zip(jobs, epochs)):
            value = values[reported(self.settings[job].objective)][j]
            if search.report(self.keys[job], epoch, value):
                stop.append(job)
        return stop

    def ended(self, job: int, trained: Trained) -> None:
        """A job ended: written with the others that end at this tick (flush)."""
        self.done.append((job, trained))

    def flush(self) -> None:
        """Write the jobs that ended (and tell their trials) in one block."""
        ended, self.done = self.done, []
        self.writer.write([
            (self.keys[job], self.settings[job],
             functools.partial(write_numbers, settings=self.settings[job], trained=trained,
                               extra=self.extra))
            for job, trained in ended
        ])  # fmt: skip

    def refill(self, job: int) -> Settings | None:
        """A freed row: the jobs that ended are written first (their trials told before the
        sampler is asked again), then the search's next trial that fits the program; a
        trial the store holds is filled from there and the next one asked; one that does not
        fit waits for the launcher's next program, and the row stays empty."""
        if self.trials is None or self.trials.load is None:
            return None  # nothing to refill: the jobs that ended are written when fit returns
        self.flush()
        search = self.trials.trials
        while (trial := search.ask()) is not None:
            s = self.trials.load(trial)
            if s is None or not fits(self.first, s):
                search.defer(trial)
                return None
            entry = Store().find(s) if reuse_on(s) else None
            if entry is not None:
                if self.writer.progress is not None:
                    self.writer.progress.started()
                reuse = functools.partial(write_reused, settings=s, entry=entry)
                self.writer.write([(trial.number, s, reuse)])
                continue
            assert job == len(self.settings), "fit numbers refills in the order they start"
            self.settings.append(s)
            self.keys.append(trial.number)
            if self.writer.progress is not None:
                self.writer.progress.started()
            return s
        return None
