"""Hydra launcher `hydra/launcher=batched`: sweep jobs that can share a program train as one.

It plans units of work (regexp.runs.grouping: a program of alike jobs, possibly of several
widths and data draws, chunked to memory; or a job alone), hands each program to
regexp.runs.group.run_group and each lone job to Hydra's run_job, here one after another or
as remote tasks (dispatch.py), and returns the jobs' JobReturns. Hydra refuses launchers
outside the hydra_plugins namespace, hence this package.
"""

import contextlib
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

from hydra_plugins.regexp_launcher.dispatch import DISPATCHES, run_units
from hydra_plugins.regexp_launcher.sweep_jobs import CountedPool, GroupFolders, Job, SweepJobs
from regexp.figures.pool import MIN_JOBS, FigurePool, cores
from regexp.runs.grouping import plan_units
from regexp.system.progress import SweepProgress, sweep_progress

log = logging.getLogger(__name__)


@dataclass
class BatchedLauncherConf:
    _target_: str = "hydra_plugins.regexp_launcher.batched_launcher.BatchedLauncher"
    memory_mb: int = 2048  # budget for one stacked chunk (params, grads, averages, activations)
    max_group: int = 256  # most models in one stacked program
    min_group: int = 2  # smaller groups run one by one
    max_params: int = 1_000_000  # models this large are memory bound: trained one by one
    # where each unit (a stacked group, or a job alone) runs: local (here, one after another),
    # submitit (one SLURM or local job per unit: see `submitit`), ray (one Ray task per unit)
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
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs = SweepJobs(self.config, self.hydra_context)
        loaded = [jobs.load(initial_job_idx + i, o) for i, o in enumerate(job_overrides)]
        plan = plan_units([j.settings for j in loaded], *self.limits)
        units = [([loaded[i] for i in unit.jobs], unit.program) for unit in plan]
        stacked = [unit for unit, program in units if program]
        log.info("Launching %d jobs: %d stacked programs, %d jobs alone (batched)",
                 len(loaded), len(stacked), len(units) - len(stacked))  # fmt: skip
        returns: dict[int, JobReturn] = {}
        if self.dispatch != "local":
            runs = [functools.partial(self._unit, jobs, *unit) for unit in units]
            log.info("\tdispatching %d units (%s)", len(units), self.dispatch)
            sweep_dir = Path(str(self.config.hydra.sweep.dir)).absolute()
            done = run_units(runs, self.dispatch, self.options, sweep_dir)
            for (unit, _), rets in zip(units, done):
                returns.update((job.idx, ret) for job, ret in zip(unit, rets))
            jobs.done_writing()
            return [returns[j.idx] for j in loaded]
        plotted = sum(1 for unit in stacked for j in unit if j.settings.plots.enabled)
        with self._pool(plotted) as pool, sweep_progress(len(loaded), len(stacked)) as progress:
            try:
                for unit, program in units:
                    rets = self._unit(jobs, unit, program, progress, pool)
                    returns.update((job.idx, ret) for job, ret in zip(unit, rets))
                if pool is not None:
                    pool.wait()  # every job's metrics.json written
            except KeyboardInterrupt:
                if pool is not None:
                    pool.cancel()  # trained jobs keep their folders, without figures
                    pool.wait()
                raise
        return [returns[j.idx] for j in loaded]

    @staticmethod
    def _pool(plotted: int) -> contextlib.AbstractContextManager[FigurePool | None]:
        """Where the groups' figures are drawn: with MIN_JOBS or more jobs with plots and a
        second core, a pool of a process per core, ours for this launch; with fewer, each
        job draws its figures where it was trained (the pool's processes cost more than
        they save for a few dozen jobs: docs/speed.md)."""
        processes = min(cores(), plotted)
        if plotted < MIN_JOBS or processes < 2:
            return contextlib.nullcontext(None)
        return FigurePool(processes)

    def _unit(
        self,
        jobs: SweepJobs,
        unit: list[Job],
        program: bool,
        progress: SweepProgress | None = None,
        pool: FigurePool | None = None,
    ) -> list[JobReturn]:
        """A unit's jobs, trained and written: a program (K >= 1 jobs) through run_group, a
        job alone through Hydra's run_job; a program that cannot be trained as one runs one
        job after another."""
        from regexp.runs.group import run_group

        if program:
            log.info("\t#%s : %d jobs as one program",
                     ",".join(str(j.idx) for j in unit), len(unit))  # fmt: skip
            drawn = CountedPool(pool, progress) if pool is not None and progress else pool
            folders = GroupFolders(jobs, unit, progress, pooled=pool is not None)
            if progress is not None:
                progress.figures_queued(sum(1 for j in unit if j.settings.plots.enabled))
            try:
                display = progress.bar if progress is not None else None
                rets = run_group([j.settings for j in unit], folders, drawn, display)
            except Exception as err:  # e.g. out of memory: the jobs still run, one by one
                log.warning("batched training of %d jobs failed (%s); running them one by one",
                            len(unit), err)  # fmt: skip
            else:
                jobs.done_writing()
                return rets
        rets = []
        for job in unit:
            log.info("\t#%d : %s", job.idx, " ".join(filter_overrides(job.config.overrides)))
            rets.append(jobs.run(job))
            if progress is not None:
                progress.job_done()
                if len(unit) > 1 and job.settings.plots.enabled:  # queued with its group
                    progress.figure_done()
        return rets
