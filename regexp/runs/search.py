"""An Optuna search while it runs: trials asked (n_trials in all), each trial's validation
passes heard by the pruner, each trial told to the study as it ends.

regexp's Optuna sweeper makes a Search (regexp.runs.study.open_search) and hands it to the
launcher: the batched launcher trains its trials in programs whose freed rows take the next
trial (regexp.runs.unit_jobs); any other launcher runs one job per trial, and the job reports
to the study itself, through its storage (Trials, regexp.runs.study.lone_trial).

The pruner decides on a copy of the study in memory (Reports): a pass's report writes
nothing to the database, and a trial's reports are written to the study when it ends, just
before it is told; an interrupted trial leaves only its RUNNING state in the study, and
`--resume` runs it again from its start in its own folder.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from regexp.config.search_space import SearchSpace
from regexp.runs.layout import RunDir
from regexp.runs.resume import objective_of, settle

if TYPE_CHECKING:
    from regexp.config.settings import Settings

log = logging.getLogger("regexp")
SAID = {TrialState.COMPLETE: "completed", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}


def asked(study: optuna.Study) -> int:
    """The trials the study holds, but those waiting to be asked (enqueued)."""
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING)


def unfinished(study: optuna.Study) -> list[FrozenTrial]:
    """Trials asked and never told: those an interrupted sweep was running."""
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def failure_rate(study: optuna.Study) -> float:
    """The fraction of the study's told trials that failed (pruned trials are not told
    values, and did not fail)."""
    told = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
    return sum(t.state == TrialState.FAIL for t in told) / len(told) if told else 0.0


def tell(study: optuna.Study, number: int, value: Any, pruned: bool = False) -> bool:
    """Tell the study trial `number`'s value; pruned: PRUNED (its value the last it
    reported); a job that failed or diverged (NaN), or returned no number, as FAIL, so the
    search goes on without it. Whether the trial completed."""
    if pruned:
        study.tell(number, state=TrialState.PRUNED)
        return False
    if isinstance(value, int | float) and math.isfinite(value):
        study.tell(number, float(value))
        return True
    study.tell(number, state=TrialState.FAIL)
    return False


def best_so_far(study: optuna.Study) -> str:
    """The best trial as a log line shows it."""
    try:
        best = study.best_trial
    except ValueError:  # no trial completed
        return "no trial completed yet"
    return f"best so far trial {best.number}: {best.value:.4g}"


class Reports:
    """The pruner's view: a copy of the study in memory (its name and trial numbers kept:
    Hyperband hashes them into brackets), each live trial's reports added as they come."""

    def __init__(self, study: optuna.Study, pruner: optuna.pruners.BasePruner):
        self.storage = optuna.storages.InMemoryStorage()
        self.pruner = pruner
        self.copy = optuna.create_study(
            storage=self.storage, study_name=study.study_name, direction=study.direction,
            pruner=pruner, sampler=optuna.samplers.RandomSampler(),  # never asked
        )  # fmt: skip
        self.study_id = self.storage.get_study_id_from_name(study.study_name)
        self.ids: dict[int, int] = {}
        for trial in study.get_trials(deepcopy=False):
            self._add(trial.number, trial)

    def _add(self, number: int, trial: FrozenTrial | None = None) -> None:
        trial_id = self.storage.create_new_trial(self.study_id, template_trial=trial)
        self.ids[number] = trial_id
        if self.storage.get_trial(trial_id).number != number:
            raise RuntimeError(f"the pruner's copy of the study lost step at trial {number}")

    def start(self, number: int) -> None:
        """A trial just asked of the study."""
        self._add(number)

    def report(self, number: int, step: int, value: float) -> bool:
        """Trial `number`'s value at `step`; whether the pruner stops it."""
        trial_id = self.ids[number]
        self.storage.set_trial_intermediate_value(trial_id, step, value)
        return bool(self.pruner.prune(self.copy, self.storage.get_trial(trial_id)))

    def trial(self, number: int) -> FrozenTrial:
        return self.storage.get_trial(self.ids[number])

    def end(self, told: FrozenTrial) -> None:
        """A trial as the study now holds it (told here or by its job): its reports, the
        pruner's marks and its state, so the pruner compares later trials with it."""
        trial_id = self.ids[told.number]
        copy = self.storage.get_trial(trial_id)
        for step, value in told.intermediate_values.items():
            if copy.intermediate_values.get(step) != value:
                self.storage.set_trial_intermediate_value(trial_id, step, value)
        for key, value in told.system_attrs.items():
            self.storage.set_trial_system_attr(trial_id, key, value)
        if not copy.state.is_finished():
            self.storage.set_trial_state_values(trial_id, told.state, told.values)


@dataclass(frozen=True)
class Trial:
    """A trial as a launcher runs it: its number (its job number, its folder by default) and
    its overrides."""

    number: int
    overrides: list[str]


class Trials:
    """A study's trials as jobs train them: each reports its validation passes (report: the
    pruner's say), and is told to the study when it ends (tell). A job alone is one such
    trial; a Search asks them too."""

    def __init__(
        self, study: optuna.Study, storage: optuna.storages.BaseStorage,
        pruner: optuna.pruners.BasePruner,
    ):  # fmt: skip
        self.study, self.storage = study, storage  # storage: the study's, written to directly
        self.study_id = storage.get_study_id_from_name(study.study_name)
        self.reports = Reports(study, pruner)

    def ask(self) -> Trial | None:
        """The next trial to run: none here (a job alone runs its own)."""
        return None

    def defer(self, trial: Trial) -> None:
        """A trial asked that the program cannot train: none are asked here."""
        raise RuntimeError(f"trial {trial.number} was not asked here")

    def report(self, number: int, epoch: int, value: float) -> bool:
        """Trial `number`'s validation value at `epoch`; whether the pruner stops it."""
        return self.reports.report(number, epoch, value)

    def _id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def _stored(self, number: int) -> FrozenTrial:
        return self.storage.get_trial(self._id(number))

    def tell(self, number: int, status: str | None, value: float) -> None:
        """Trial `number` ended with this status (metrics.json's) and objective value: its
        reports and the pruner's marks written to the study, then the trial told: COMPLETE
        (ok, a finite value), PRUNED (its value the last reported) or FAIL."""
        stored = self._stored(number)
        if stored.state.is_finished():  # told already (its folder was written again)
            return
        mine, trial_id = self.reports.trial(number), self._id(number)
        for step, reported in mine.intermediate_values.items():
            if stored.intermediate_values.get(step) != reported:
                self.storage.set_trial_intermediate_value(trial_id, step, reported)
        for key, mark in mine.system_attrs.items():
            if stored.system_attrs.get(key) != mark:
                self.storage.set_trial_system_attr(trial_id, key, mark)
        tell(self.study, number, value if status == "ok" else math.nan, status == "pruned")
        told = self._stored(number)
        self.reports.end(told)
        log.info("trial %d %s: %s", number, SAID[told.state], best_so_far(self.study))


@dataclass
class TrialJobs:
    """A program's trials, for regexp.runs.run_unit: job i of the unit is trial numbers[i];
    load gives a new trial's settings (None: it cannot join a stacked program), None where
    no new trial may join (a job alone)."""

    trials: Trials
    numbers: list[int]
    load: Callable[[Trial], Settings | None] | None = None


class Search(Trials):
    """An Optuna search: the trials to run (a resume's unfinished ones first, then asked of
    the sampler, n_trials in all, none once more than max_failure_rate of the told trials
    failed), n_jobs at a time to a launcher (batch) or one by one to a program's freed rows
    (ask)."""

    def __init__(
        self, study: optuna.Study, storage: optuna.storages.BaseStorage,
        pruner: optuna.pruners.BasePruner, space: SearchSpace,
        distributions: dict[str, BaseDistribution], n_trials: int, n_jobs: int,
        max_failure_rate: float,
    ):  # fmt: skip
        super().__init__(study, storage, pruner)
        self.space, self.distributions = space, distributions
        self.n_trials, self.n_jobs, self.max_failure_rate = n_trials, n_jobs, max_failure_rate
        self.pending: list[Trial] = []  # asked, to run first
        self.stopped = False

    def left(self) -> int:
        """Trials still to finish: n_trials less those the study holds finished."""
        done = sum(t.state.is_finished() for t in self.study.get_trials(deepcopy=False))
        return max(self.n_trials - done, 0)

    def trial(self, frozen: FrozenTrial) -> Trial:
        return Trial(frozen.number, self.space.overrides(frozen.params))

    def resume(self, folder_of: Callable[[Trial], Path], sweep_dir: Path) -> None:
        """The trials an interrupted sweep left RUNNING: each whose folder is done (ok or
        pruned) is told as its folder says; the others run again first, in their folders
        (what they left is removed: regexp.runs.resume.settle)."""
        for frozen in unfinished(self.study):
            trial = self.trial(frozen)
            folder = folder_of(trial)
            value = settle(folder, sweep_dir)
            if value is None:
                self.pending.append(trial)
            else:
                self.tell(trial.number, RunDir(folder).status(), objective_of(folder))

    def ask(self) -> Trial | None:
        """A new trial, asked of the sampler; None once n_trials are asked, or more than
        max_failure_rate of the told trials failed."""
        if self.stopped or asked(self.study) >= self.n_trials:
            return None
        if failure_rate(self.study) > self.max_failure_rate:
            log.error("more than %g of the trials failed: no more are asked for",
                      self.max_failure_rate)  # fmt: skip
            self.stopped = True
            return None
        asked_now = self.study.ask(self.distributions)
        self.reports.start(asked_now.number)
        return Trial(asked_now.number, self.space.overrides(asked_now.params))

    def defer(self, trial: Trial) -> None:
        """A trial asked that the program cannot train: the next batch's first."""
        self.pending.append(trial)

    def batch(self) -> list[Trial]:
        """Up to n_jobs trials to launch together: waiting ones first, then new ones."""
        out, self.pending = self.pending[: self.n_jobs], self.pending[self.n_jobs :]
        while len(out) < self.n_jobs and (trial := self.ask()) is not None:
            out.append(trial)
        return out

    def jobs(self, numbers: Sequence[int], load: Callable[[Trial], Settings | None]) -> TrialJobs:
        """A program's trials (numbers), refilled with new trials load makes settings of."""
        return TrialJobs(self, list(numbers), load)

    def running(self, numbers: Sequence[int]) -> list[int]:
        """Those of these trials the study holds RUNNING and nothing waits to run."""
        waiting = {t.number for t in self.pending}
        return [n for n in numbers if n not in waiting and not self._stored(n).state.is_finished()]

    def settle(self, number: int, value: Any) -> str:
        """Trial `number` ran as a job alone, which told the study itself (Trials in its own
        process) unless it could not: then told here from its job's value (None: the job
        failed; NaN: a job that is not ok). How it ended: ok, pruned or failed."""
        stored = self._stored(number)
        if stored.state.is_finished():
            self.reports.end(stored)
        else:
            self.tell(number, "ok" if value is not None else "failed", value)
            stored = self._stored(number)
        return {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned"}.get(stored.state, "failed")
