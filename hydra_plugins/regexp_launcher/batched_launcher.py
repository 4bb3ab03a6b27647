"""Hydra launcher `hydra/launcher=batched`: sweep jobs that can share a program train as one.

Jobs whose validated settings agree on data, architecture and batch schedule (regexp.train.engine's
group_key) are trained together in chunks sized to memory; every job then gets its own folder,
with the weights the group trained. Other jobs, and any group whose stacked training fails, run
one by one through Hydra's own run_job.

A group's folders are written by job_writer.JobWriter, which writes what Hydra's run_job
writes (.hydra/config.yaml, hydra.yaml, overrides.yaml, the job's log file) in ~1 ms instead
of ~45 ms a job. Where Hydra's path does more than that (callbacks, env_set, chdir), every job
takes Hydra's path. Hydra refuses launchers outside the hydra_plugins namespace,
hence this package.
"""

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from hydra_plugins.regexp_launcher.dispatch import DISPATCHES, run_units
from hydra_plugins.regexp_launcher.job_writer import JobWriter, LogFiles
from regexp.runs.grouping import BATCHED_LAUNCHER
from regexp.system.progress import SweepProgress, sweep_progress

log = logging.getLogger(__name__)


def _plot_pool(jobs: list["_Job"]) -> AbstractContextManager[Executor | None]:
    """Processes to draw the jobs' figures in (~60-110 ms of CPU a job, more than its
    training): one per core, when there are enough jobs with plots to pay for starting them
    (~1 s of CPU each, spent while the sweep imports torch when the launcher starts them
    first)."""
    from regexp.figures import pool as plot_pool

    if plot_pool.shared() is not None:  # the CLI's, started with the sweep
        return contextlib.nullcontext(plot_pool.shared())
    cores = len(os.sched_getaffinity(0))
    with_plots = sum(1 for j in jobs if j.settings is not None and j.settings.plots.enabled)
    if cores < 2 or with_plots < plot_pool.MIN_JOBS:
        return contextlib.nullcontext(None)
    return plot_pool.start(min(cores, with_plots))


class _Tracked(Executor):
    """The figure pool as the sweep's jobs use it: each job's figures counted as drawn
    when they are, and wait() returns once every task is done with its callbacks run
    (metrics.json is written by one): a shared pool is not shut down at the sweep's end."""

    def __init__(self, pool: Executor, progress: SweepProgress | None):
        self.pool, self.progress = pool, progress
        self._done: list[threading.Event] = []

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        inner = self.pool.submit(fn, *args, **kwargs)
        outer: Future = Future()
        done = threading.Event()
        self._done.append(done)

        def relay(inner: Future) -> None:
            try:  # outer's callbacks run in here, in this thread
                if inner.cancelled():
                    outer.cancel()
                elif inner.exception() is not None:
                    outer.set_exception(inner.exception())
                else:
                    outer.set_result(inner.result())
            finally:
                if self.progress is not None:
                    self.progress.figure_done()
                done.set()

        inner.add_done_callback(relay)
        return outer

    def wait(self) -> None:
        for done in self._done:
            done.wait()


@dataclass
class BatchedLauncherConf:
    _target_: str = BATCHED_LAUNCHER
    memory_mb: int = 2048  # budget for one stacked chunk (params, grads, averages, activations)
    max_group: int = 256  # most models in one stacked program
    min_group: int = 2  # smaller groups run one by one
    # Models this large are memory bound: stacked, a 5 x 1024 step ran ~2x slower on 2 cores
    max_params: int = 1_000_000
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


@dataclass
class _Job:
    idx: int
    overrides: list[str]
    base_key: tuple[str, ...]  # the overrides composed into its base config
    values: list[Any]  # parsed KEY=VALUE overrides applied on top of that base
    task: dict | None  # the job's config without `hydra`, unresolved; None: Hydra's way
    settings: Any  # regexp.config.settings.Settings, or None when it does not validate


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
        self.memory_mb, self.max_group, self.min_group = memory_mb, max_group, min_group
        self.max_params = max_params
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
        self._bases: dict[tuple[str, ...], DictConfig] = {}  # composed once per group choice
        self._tasks: dict[tuple[str, ...], DictConfig] = {}  # the same without `hydra`
        self._hydra_yaml: dict[tuple[str, ...], dict] = {}  # its `hydra` node as a container
        # the task as a plain container, or None where it holds interpolations
        self._plain: dict[tuple[str, ...], dict | None] = {}

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def _load(self, idx: int, overrides: Sequence[str]) -> _Job:
        """The job's task config and settings, composing once per choice of config groups
        (regexp.config.compose.split_values). Anything else, or any error, is left to Hydra's own
        path (task None).
        """
        from regexp.config.compose import plain_task, split_values, with_values, with_values_plain
        from regexp.config.settings import validate

        assert self.hydra_context is not None and self.config is not None
        job = _Job(idx, list(overrides), (), [], None, None)
        try:
            job.base_key, job.values = split_values(job.overrides)
            if job.base_key not in self._bases:
                base = self.hydra_context.config_loader.load_sweep_config(
                    self.config, list(job.base_key)
                )
                OmegaConf.copy_cache(from_config=self.config, to_config=base)  # ${now:} etc.
                self._bases[job.base_key] = base
                self._tasks[job.base_key] = OmegaConf.masked_copy(
                    base, [k for k in base if k != "hydra"]
                )
                self._hydra_yaml[job.base_key] = OmegaConf.to_container(
                    base.hydra, enum_to_str=True
                )
                self._plain[job.base_key] = plain_task(self._tasks[job.base_key])
            plain = self._plain[job.base_key]
            job.task = with_values_plain(plain, job.values) if plain is not None else None
            if job.task is None:
                task = with_values(self._tasks[job.base_key], job.values)
                job.task = OmegaConf.to_container(task, enum_to_str=True)
        except Exception:
            job.task = None
        try:
            job.settings = validate(job.task if job.task is not None else self._full_config(job))
        except Exception:  # the job will fail in its own folder, with its own message
            job.settings = None
        return job

    def _full_config(self, job: _Job) -> DictConfig:
        """The job's whole config as Hydra's load_sweep_config gives it (Hydra's path)."""
        from regexp.config.compose import with_values

        assert self.hydra_context is not None and self.config is not None
        if job.task is None:
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, job.overrides)
            with open_dict(cfg):
                cfg.hydra.job.id = job.idx
                cfg.hydra.job.num = job.idx
        else:
            cfg = with_values(self._bases[job.base_key], job.values)
            fields = self._job_fields(job)
            with read_write(cfg.hydra), open_dict(cfg.hydra):
                for key, value in fields.items():
                    OmegaConf.update(cfg.hydra, key, value, merge=False)
        OmegaConf.copy_cache(from_config=self.config, to_config=cfg)
        return cfg

    def _job_fields(self, job: _Job) -> dict[str, Any]:
        """What Hydra's load_sweep_config sets per job: its id, number and overrides."""
        from regexp.config.compose import parse_override
        from regexp.config.hydra_shim import overrides_dirname

        app = [o for o in map(parse_override, job.overrides) if not o.is_hydra_override()]
        dirname = self._bases[job.base_key].hydra.job.config.override_dirname
        return {
            "job.id": str(job.idx),  # typed str in Hydra's JobConf
            "job.num": job.idx,
            "job.override_dirname": overrides_dirname(app, dirname),
            "overrides.task": [o.input_line for o in app],
        }

    def _run(self, job: _Job, trained: Any = None, extra: dict | None = None) -> JobReturn:
        """One job through Hydra's own run_job: trained there, or written from its group."""
        from regexp.runs.job import objective_of, run_in, write_run

        def task(cfg: DictConfig) -> float:
            from hydra.core.hydra_config import HydraConfig

            out = Path(HydraConfig.get().runtime.output_dir)
            if trained is None:
                return objective_of(job.settings, run_in(out, cfg, job.settings))
            return objective_of(job.settings, write_run(out, job.settings, trained, extra))

        assert self.hydra_context is not None and self.config is not None
        ret = run_job(
            hydra_context=self.hydra_context,
            task_function=task,
            config=self._full_config(job),
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return ret

    def _hydra_path_only(self, job: _Job) -> bool:
        """Whether the job needs run_job's full service (callbacks, env_set, chdir)."""
        assert self.hydra_context is not None
        if job.task is None or self.hydra_context.callbacks.callbacks:
            return True
        job_cfg = self._bases[job.base_key].hydra.job
        return bool(job_cfg.chdir) or bool(job_cfg.env_set)

    def _write_job(
        self, job: _Job, trained: Any, extra: dict, writer: JobWriter, pool: Executor | None
    ) -> JobReturn:
        """Hydra's run_job for a job of a trained group, through the group's JobWriter."""
        from hydra.core.utils import JobRuntime, JobStatus

        from regexp.config.hydra_shim import flush_loggers
        from regexp.runs.job import objective_of, write_run

        assert job.task is not None
        fields = self._job_fields(job)
        out = writer.open(fields, self._plain[job.base_key] is not None)
        writer.files(out, job.task, fields)
        ret = JobReturn(overrides=fields["overrides.task"], cfg=job.task)
        ret.working_dir = str(Path.cwd())
        try:
            metrics = write_run(out, job.settings, trained, extra, pool)
            ret.return_value = objective_of(job.settings, metrics)  # as run_job's task returns
            ret.status = JobStatus.COMPLETED
        except Exception as err:
            ret.return_value, ret.status = err, JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        flush_loggers()
        return ret

    def _run_group(
        self,
        jobs: list[_Job],
        progress: SweepProgress | None = None,
        plot_pool: Executor | None = None,
    ) -> list[JobReturn]:
        """Train the group's models as one program, then write each job's folder (figures
        drawn in plot_pool, the sweep's, or in a pool of the group's own)."""
        from regexp.runs.job import train_group
        from regexp.system.threads import threads_for

        try:  # building counts too: a job that raises here must not take the group down
            results = train_group([j.settings for j in jobs], label="batched")
        except Exception as err:  # e.g. out of memory: the jobs still run, one by one
            log.warning(
                "batched training of %d jobs failed (%s); running them one by one", len(jobs), err
            )
            return [self._counted(self._run(j), progress) for j in jobs]
        if progress is not None:
            progress.group_trained()
            progress.figures_queued(sum(1 for j in jobs if j.settings.plots.enabled))
        returns, logs, writers = [], LogFiles(), {}
        own = _plot_pool(jobs) if plot_pool is None else contextlib.nullcontext(plot_pool)
        # one intra-op thread while writing (weights, a figure's forward pass): OpenMP's
        # idle threads spin after each small op on the cores the figure processes and the
        # report helper use (a 128-job plotted sweep's training process: 8.4 -> 4.9 s of CPU)
        with own as pool, threads_for(0, threads=1):
            for job, trained in zip(jobs, results):
                extra = {"batched": len(jobs)}
                if self._hydra_path_only(job):
                    returns.append(self._counted(self._run(job, trained, extra), progress, job))
                    logs.dir = None  # run_job configured the logs its own way
                    continue
                if job.base_key not in writers:
                    base, tree = self._bases[job.base_key], self._hydra_yaml[job.base_key]
                    writers[job.base_key] = JobWriter(base, tree, logs)
                if pool is not None and not isinstance(pool, _Tracked):
                    pool = _Tracked(pool, progress)  # the group's own: shut down at the end
                ret = self._write_job(job, trained, extra, writers[job.base_key], pool)
                if pool is None or not job.settings.plots.enabled:
                    self._counted(ret, progress, job)
                elif progress is not None:
                    progress.job_done()
                returns.append(ret)
        assert self.config is not None  # the launcher's own logging, as after run_job
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return returns

    @staticmethod
    def _counted(
        ret: JobReturn, progress: SweepProgress | None, job: _Job | None = None
    ) -> JobReturn:
        """A job is done (and its figures, drawn here, with it)."""
        if progress is not None:
            progress.job_done()
            if job is not None and job.settings.plots.enabled:
                progress.figure_done()
        return ret

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs = [self._load(initial_job_idx + i, o) for i, o in enumerate(job_overrides)]
        units = self._plan(jobs)
        stacked = sum(1 for unit in units if len(unit) > 1)
        log.info("Launching %d jobs: %d stacked programs, %d jobs alone (batched)",
                 len(jobs), stacked, len(units) - stacked)  # fmt: skip
        returns: dict[int, JobReturn] = {}
        if self.dispatch != "local":
            self._dispatch(units, returns)
            return [returns[j.idx] for j in jobs]
        # the figure processes of stacked groups start now, before torch is imported; the
        # progress bars close after the last figure
        grouped = [j for unit in units if len(unit) > 1 for j in unit]
        with sweep_progress(len(jobs), stacked) as progress, _plot_pool(grouped) as pool:
            import regexp.runs.job  # noqa: F401  (torch)
            from regexp.system.heap import freeze_imports

            freeze_imports()
            tracked = _Tracked(pool, progress) if pool is not None else None
            try:
                self._run_units(units, returns, progress, tracked)
            finally:
                if tracked is not None:
                    tracked.wait()
        return [returns[j.idx] for j in jobs]

    def _run_units(
        self,
        units: list[list[_Job]],
        returns: dict[int, JobReturn],
        progress: SweepProgress,
        plot_pool: Executor | None,
    ) -> None:
        """Here, one unit after another: a job alone through Hydra's run_job, a group
        trained as one program and written (figures in plot_pool)."""
        for unit in units:
            if len(unit) == 1:
                job = unit[0]
                log.info("\t#%d : %s", job.idx, " ".join(filter_overrides(job.overrides)))
                returns[job.idx] = self._counted(self._run(job), progress, job)
                continue
            log.info("\t#%s : %d jobs as one program",
                     ",".join(str(j.idx) for j in unit), len(unit))  # fmt: skip
            for job, ret in zip(unit, self._run_group(unit, progress, plot_pool)):
                returns[job.idx] = ret

    def _work(self, unit: list[_Job]) -> list[JobReturn]:
        """A unit's work, as a worker runs it: the group trained and written, or the job."""
        return self._run_group(unit) if len(unit) > 1 else [self._run(unit[0])]

    def _dispatch(self, units: list[list[_Job]], returns: dict[int, JobReturn]) -> None:
        """Every unit as its own remote task (dispatch.py), all at once; then the results."""
        assert self.config is not None
        runs = [functools.partial(self._work, unit) for unit in units]
        sweep_dir = Path(str(self.config.hydra.sweep.dir)).absolute()
        log.info("\tdispatching %d units (%s)", len(units), self.dispatch)
        for unit, rets in zip(units, run_units(runs, self.dispatch, self.options, sweep_dir)):
            for job, ret in zip(unit, rets):
                returns[job.idx] = ret
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)

    def _plan(self, jobs: list[_Job]) -> list[list[_Job]]:
        """Units of work: chunks of a group that train as one program (sized to memory), and
        jobs that run alone (one job a unit): grouping.plan_units."""
        from regexp.runs.grouping import plan_units

        indices = plan_units([j.settings for j in jobs], self.memory_mb, self.max_group,
                             self.min_group, self.max_params)  # fmt: skip
        return [[jobs[i] for i in unit] for unit in indices]
