"""Hydra sweeper `hydra/sweeper=optuna`: regexp's Optuna search, on Hydra's public Sweeper API
and Optuna's ask/tell; presets in conf/hydra/sweeper/ (optuna_lam_lr.yaml).

It hands its search (regexp.runs.search.Search: asks, hears each trial's validation passes,
prunes, tells) to a launcher that has `launch_search` (the batched launcher: n_jobs trials as
one program, each freed row taking the next trial); to any other launcher it hands n_jobs
trials at a time through Hydra's `launch`, and each job reports to the study itself
(regexp.runs.study.lone_trial). A trial is told as it ends: COMPLETE with its objective,
PRUNED when the pruner stopped it, FAIL when its job failed or diverged (NaN), and the search
goes on. A trial's job folder is its number. The study lives in the sweep folder (study.db)
unless `storage` names another, and holds n_trials trials in all: `regexp sweep --resume DIR
hydra.sweeper.n_trials=48` reopens it, leaves the trials told as they are, runs the trials an
interrupt left unfinished again in their folders, and asks for the rest. Hydra's plugin scan
executes this module for every run, so Optuna is imported only once a search starts
(regexp.runs.study).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.regexp_launcher.resume_sweeper import ResumingLauncher

log = logging.getLogger(__name__)


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.regexp_launcher.optuna_sweeper.OptunaSweeper"
    # name (tpe, cmaes, random, qmc), seed, then the sampler's own keyword arguments, added
    # with + (+hydra.sweeper.sampler.n_startup_trials=5)
    sampler: Any = field(default_factory=lambda: {"name": "tpe", "seed": None})
    direction: str = "${regexp_direction:${objective},${data.task}}"  # as the objective says
    study_name: str = "regexp"
    storage: str | None = None  # an Optuna storage URL; null: SQLite, study.db in the sweep
    n_trials: int = 20  # the study's trials in all (a resumed study asks for the rest)
    n_jobs: int = 1  # trials asked at a time and handed to the launcher together
    max_failure_rate: float = 1.0  # asking stops once more of the told trials failed
    # name (none, median, successive_halving, hyperband), then the pruner's own keyword
    # arguments, added with + (+hydra.sweeper.pruner.min_resource=20)
    pruner: Any = field(default_factory=lambda: {"name": "none"})
    # KEY: interval(a, b), tag(log, interval(a, b)), int(interval(a, b)), choice(...), range(...)
    params: Any = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="regexp"
)


def consecutive_runs(trials: Sequence[Any]) -> list[list[Any]]:
    """Trials in runs of consecutive numbers: a launch numbers its jobs from the first."""
    runs: list[list[Any]] = []
    for trial in trials:
        if runs and trial.number == runs[-1][-1].number + 1:
            runs[-1].append(trial)
        else:
            runs.append([trial])
    return runs


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        sampler: Any,
        direction: str,
        study_name: str,
        storage: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        params: Any,
        pruner: Any = None,
    ) -> None:
        self.sampler = (
            OmegaConf.to_container(sampler) if isinstance(sampler, DictConfig) else sampler
        )
        self.direction, self.study_name, self.storage = direction, study_name, storage
        self.n_trials, self.n_jobs, self.max_failure_rate = n_trials, n_jobs, max_failure_rate
        self.params = OmegaConf.to_container(params) if isinstance(params, DictConfig) else params
        self.pruner = OmegaConf.to_container(pruner) if isinstance(pruner, DictConfig) else pruner
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Any = None

    @staticmethod
    def check_plan(conf: DictConfig, lines: Sequence[str], resume_dir: Path | None = None) -> None:
        """The CLI's check before any folder (regexp.config.plan): ConfigError naming the key
        of a count out of range, a direction, sampler, storage or search space Optuna would
        refuse; resume_dir: the sweep being resumed, whose study must not hold more trials
        than n_trials asks for in all."""
        from regexp.runs.study import check_plan  # optuna: only where a search is planned

        check_plan(conf, lines, resume_dir)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def sweep(self, arguments: list[str]) -> None:
        from regexp.runs import study as studies  # optuna: once a search starts

        assert self.config is not None
        space = studies.search_space_of(self.params, arguments)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        studies.save_sweep(self.config, sweep_dir)  # as Hydra's basic sweeper: for --resume
        counts = (self.n_trials, self.n_jobs, self.max_failure_rate)
        search = studies.open_search(self.storage, sweep_dir, self.study_name, self.direction,
                                     self.sampler, self.pruner, space, counts)  # fmt: skip
        pruner = (self.pruner or {}).get("name", "none")
        log.info("Optuna study %s in %s: %d of %d trials, %s, pruner %s", self.study_name,
                 studies.storage_url(self.storage, sweep_dir), studies.asked(search.study),
                 self.n_trials, self.direction, pruner)  # fmt: skip
        resuming = ResumingLauncher(self.launcher, self.config, self.hydra_context)
        search.resume(lambda trial: resuming.job_dir(trial.number, trial.overrides), sweep_dir)
        launch_search = getattr(self.launcher, "launch_search", None)
        if launch_search is None or not launch_search(search):
            self._batches(search)

    def _batches(self, search: Any) -> None:
        """The search's trials n_jobs at a time through Hydra's launch (job numbers: the
        trials'); each trial told from its job's return unless its job told it."""
        while batch := search.batch():
            for run in consecutive_runs(batch):
                overrides = [trial.overrides for trial in run]
                returns = self.launcher.launch(overrides, initial_job_idx=run[0].number)
                for trial, ret in zip(run, returns):
                    done = ret.status == JobStatus.COMPLETED
                    search.settle(trial.number, ret.return_value if done else None)
