"""Hydra launcher `hydra/launcher=batched`: sweep jobs that can share a program train as one.

It plans units of work (regexp.runs.units: a program of alike jobs, possibly of several
widths and data draws, chunked to memory; or a job alone) and dispatches them: each program
to regexp.runs.run_unit, which trains it and writes its jobs' folders where sweep_jobs.py
makes them; each lone job to Hydra's run_job with the CLI's task function. Units run here one
after another, or as remote tasks (dispatch.py). Hydra refuses launchers outside the
hydra_plugins namespace, hence this package.
"""

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.regexp_launcher.dispatch import DISPATCHES, run_remotely
from hydra_plugins.regexp_launcher.search_units import run_search
from hydra_plugins.regexp_launcher.sweep_jobs import Job, SweepJobs
from regexp.runs.units import Unit, plan_units
from regexp.system.progress import SweepProgress, sweep_progress

log = logging.getLogger(__name__)


@dataclass
class BatchedLauncherConf:
    _target_: str = "hydra_plugins.regexp_launcher.batched_launcher.BatchedLauncher"
    memory_mb: int = 2048  # budget for one stacked chunk (params, grads, averages, activations)
    max_group: int = 256  # most models in one stacked program
    min_group: int = 2  # smaller programs run as jobs alone
    max_params: int = 1_000_000  # models this large are memory bound: trained one by one
    # where each unit (a stacked program, or a job alone) runs: local (here, one after
    # another), submitit (one SLURM or local job per unit: see `submitit`), ray (a Ray task
    # per unit)
    dispatch: str = "local"
    # submitit.AutoExecutor: cluster (local | slurm), folder, then update_parameters' keys
    submitit: Any = field(default_factory=lambda: {"cluster": "local", "timeout_min": 60})
    # ray.init's keys under init (address: null starts a local Ray), ray.remote's under remote
    ray: Any = field(default_factory=lambda: {"init": {"address": None}, "remote": {}})


ConfigStore.instance().store(
    group="hydra/launcher", name="batched", node=BatchedLauncherConf, provider="regexp"
)


class BatchedLauncher(Launcher):
    def __init__(
        self,
        memory_mb: int = 2048,
        max_group: int = 256,
        min_group: int = 2,
        max_params: int = 1_000_000,
        dispatch: str = "local",
        submitit: Any = None,
        ray: Any = None,
    ) -> None:
        self.limits = (memory_mb, max_group, min_group, max_params)
        if dispatch not in DISPATCHES:
            raise ValueError(
                f"hydra.launcher.dispatch: must be one of {', '.join(DISPATCHES)}, got {dispatch!r}"
            )
        self.dispatch = dispatch
        options = {"submitit": submitit, "ray": ray}.get(dispatch) or {}
        if isinstance(options, DictConfig):
            options = OmegaConf.to_container(options, resolve=True)
        self.options: dict = dict(options)
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        jobs = SweepJobs(self.config, self.hydra_context)
        loaded = [jobs.load(initial_job_idx + i, o) for i, o in enumerate(job_overrides)]
        stacked = [j.settings if jobs.stackable(j) else None for j in loaded]
        plan = plan_units(stacked, *self.limits)
        programs = sum(1 for unit in plan if unit.program)
        log.info("Launching %d jobs: %d stacked programs, %d jobs alone (batched)",
                 len(loaded), programs, len(plan) - programs)  # fmt: skip
        units = [[loaded[i] for i in unit.jobs] for unit in plan]
        if self.dispatch != "local":
            log.info("\tdispatching %d units (%s)", len(units), self.dispatch)
            work = [functools.partial(self._unit, jobs, u, p) for u, p in zip(units, plan)]
            done = run_remotely(work, self.dispatch, self.options, sweep_dir.absolute())
        else:
            done = self._here(jobs, units, plan)
        returns = {job.idx: ret for unit, rets in zip(units, done) for job, ret in zip(unit, rets)}
        return [returns[j.idx] for j in loaded]

    def launch_search(self, search: Any) -> bool:
        """regexp's Optuna sweeper's search (regexp.runs.search.Search), run here: its trials
        in programs whose freed rows take its next trials (search_units.py). False, running
        nothing, where units are dispatched elsewhere: the sweeper then launches its trials
        n_jobs at a time."""
        if self.dispatch != "local":
            return False
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs = SweepJobs(self.config, self.hydra_context)
        run_search(jobs, search, self.task_function, self.limits)  # type: ignore[arg-type]
        return True

    def _here(self, jobs: SweepJobs, units: list[list[Job]], plan: list[Unit]) -> list[list]:
        """Every unit run here, one after another, with the sweep's progress and the launch's
        figure pool (whoever starts the pool owns it)."""
        from regexp.runs.run_unit import figure_pool  # torch: once a launch starts

        programs = [u for u, p in zip(units, plan) if p.program]
        plotted = sum(1 for unit in programs for j in unit if j.settings.plots.enabled)
        done = []
        total = sum(map(len, units))
        with figure_pool(plotted) as pool, sweep_progress(total, len(programs)) as progress:
            try:
                for unit, p in zip(units, plan):
                    done.append(self._unit(jobs, unit, p, progress, pool))
                if pool is not None:
                    pool.wait()  # every job's figures drawn and its metrics.json rewritten
            except KeyboardInterrupt:
                if pool is not None:
                    pool.cancel()  # trained jobs keep their folders, figures not drawn
                    pool.wait()
                raise
        return done

    def _unit(
        self,
        jobs: SweepJobs,
        unit: list[Job],
        plan: Unit,
        progress: SweepProgress | None = None,
        pool: Any = None,
    ) -> list[JobReturn]:
        """A unit's jobs, trained and written: a program through run_unit, a job alone through
        Hydra's run_job; a program that cannot be trained as one runs job by job."""
        from regexp.runs.run_unit import run_unit  # torch: once a launch starts

        if plan.program:
            log.info("\t#%s : %d jobs as one program",
                     ",".join(str(j.idx) for j in unit), len(unit))  # fmt: skip
            try:
                folders = jobs.unit_folders(unit, self.task_function)
                run_unit([j.settings for j in unit], folders, pool, progress, batched=True)
            except Exception as err:  # e.g. out of memory: the jobs still run, one by one
                log.warning("batched training of %d jobs failed (%s); running them one by one",
                            len(unit), err)  # fmt: skip
            else:
                jobs.reset_logging()
                return [folders.returns[i] for i in range(len(unit))]
        rets = []
        for job in unit:
            log.info("\t#%d : %s", job.idx, " ".join(filter_overrides(job.config.overrides)))
            rets.append(jobs.run(job, self.task_function))
            if progress is not None:
                progress.job_done()
        return rets
