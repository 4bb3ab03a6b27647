"""Hydra launcher `hydra/launcher=batched`: sweep jobs that can share a program train as one.

Jobs whose validated settings agree on data, architecture and batch schedule (regexp.core.engine's
group_key) are trained together in chunks sized to memory; every job then gets its own folder,
with the weights the group trained. Other jobs, and any group whose stacked training fails, run
one by one through Hydra's own run_job.

A group's folders are written by `_write_job`, which writes what Hydra's run_job writes
(.hydra/config.yaml, hydra.yaml, overrides.yaml, the job's log file) without its two deep
copies of the whole config per job: Hydra's path cost ~45 ms a job, far more than training a
small model in a group. Where Hydra's path does more than that (callbacks, env_set, chdir),
every job takes Hydra's path. Hydra refuses launchers outside the hydra_plugins namespace,
hence this package.
"""

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

log = logging.getLogger(__name__)


def _plot_pool(jobs: list["_Job"]) -> AbstractContextManager[Executor | None]:
    """Processes to draw a group's figures in (~0.5 s a job, far more than its training):
    one per core, when there are enough jobs with plots to pay for starting them (~1 s)."""
    cores = len(os.sched_getaffinity(0))
    with_plots = sum(1 for j in jobs if j.settings.plots.enabled)
    if cores < 2 or with_plots < 4:
        return contextlib.nullcontext(None)
    # spawn, not fork: torch's thread pools do not survive a fork
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(min(cores, with_plots), mp_context=context)


def _patched(tree: dict, fields: dict[str, Any]) -> dict:
    """A copy of a nested dict with dotted keys set, copying only the dicts on their paths."""
    out = dict(tree)
    for dotted, value in fields.items():
        *path, last = dotted.split(".")
        node = out
        for key in path:
            node[key] = dict(node[key])
            node = node[key]
        node[last] = value
    return out


@dataclass
class BatchedLauncherConf:
    _target_: str = "hydra_plugins.regexp_launcher.batched_launcher.BatchedLauncher"
    memory_mb: int = 2048  # budget for one stacked chunk (params, grads, averages, activations)
    max_group: int = 256  # most models in one stacked program
    min_group: int = 2  # smaller groups run one by one
    # Models this large are memory bound: stacked, a 5 x 1024 step ran ~2x slower on 2 cores
    max_params: int = 1_000_000


ConfigStore.instance().store(
    group="hydra/launcher", name="batched", node=BatchedLauncherConf, provider="regexp"
)


@dataclass
class _Job:
    idx: int
    overrides: list[str]
    base_key: tuple[str, ...]  # the overrides composed into its base config
    values: list[Any]  # parsed KEY=VALUE overrides applied on top of that base
    task: DictConfig | None  # the job's config without `hydra`; None: compose it Hydra's way
    settings: Any  # regexp.core.settings.Settings, or None when it does not validate


class BatchedLauncher(Launcher):
    def __init__(
        self,
        memory_mb: int = 2048,
        max_group: int = 256,
        min_group: int = 2,
        max_params: int = 1_000_000,
    ) -> None:
        self.memory_mb, self.max_group, self.min_group = memory_mb, max_group, min_group
        self.max_params = max_params
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self._bases: dict[tuple[str, ...], DictConfig] = {}  # composed once per group choice
        self._tasks: dict[tuple[str, ...], DictConfig] = {}  # the same without `hydra`
        self._hydra_yaml: dict[tuple[str, ...], dict] = {}  # its `hydra` node as a container

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def _load(self, idx: int, overrides: Sequence[str]) -> _Job:
        """The job's task config and settings, composing once per choice of config groups
        (regexp.core.config.split_values). Anything else, or any error, is left to Hydra's own
        path (task None).
        """
        from regexp.core.config import split_values, with_values
        from regexp.core.settings import validate

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
            job.task = with_values(self._tasks[job.base_key], job.values)
        except Exception:
            job.task = None
        try:
            job.settings = validate(job.task if job.task is not None else self._full_config(job))
        except Exception:  # the job will fail in its own folder, with its own message
            job.settings = None
        return job

    def _full_config(self, job: _Job) -> DictConfig:
        """The job's whole config as Hydra's load_sweep_config gives it (Hydra's path)."""
        from regexp.core.config import with_values

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
        from regexp.core.config import parse_override
        from regexp.core.hydra_shim import overrides_dirname

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
        from regexp.core.run import objective_of, run_in, write_run

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
        self, job: _Job, trained: Any, extra: dict, plot_pool: Executor | None
    ) -> JobReturn:
        """Hydra's run_job for a job of a trained group, without copying the whole config.

        The base config's per-job fields are set in place (jobs are written one at a time);
        the files are Hydra's, dumped as OmegaConf.to_yaml dumps them but with libyaml.
        """
        from hydra.core.utils import JobRuntime, JobStatus

        from regexp.core.hydra_shim import flush_loggers, hydra_config, job_files
        from regexp.core.run import objective_of, write_run

        assert job.task is not None
        base = self._bases[job.base_key]
        fields = self._job_fields(job)
        with read_write(base.hydra), open_dict(base.hydra):
            for key, value in fields.items():
                OmegaConf.update(base.hydra, key, value, merge=False)
            out = Path(str(base.hydra.sweep.dir)) / str(base.hydra.sweep.subdir)
            fields["runtime.output_dir"] = str(out.absolute())
            base.hydra.runtime.output_dir = fields["runtime.output_dir"]
        with hydra_config(base):  # for ${hydra:...} in the job's config and logs
            out.mkdir(parents=True, exist_ok=True)
            configure_log(base.hydra.job_logging, base.hydra.verbose)
            if base.hydra.output_subdir is not None:
                job_files(
                    out / str(base.hydra.output_subdir),
                    OmegaConf.to_container(job.task, enum_to_str=True),
                    _patched(self._hydra_yaml[job.base_key], fields),
                    fields["overrides.task"],
                )
            ret = JobReturn(overrides=fields["overrides.task"], cfg=job.task)
            ret.working_dir = str(Path.cwd())
            try:
                metrics = write_run(out, job.settings, trained, extra, plot_pool)
                ret.return_value = objective_of(job.settings, metrics)
                ret.status = JobStatus.COMPLETED
            except Exception as err:
                ret.return_value, ret.status = err, JobStatus.FAILED
            ret.task_name = JobRuntime.instance().get("name")
            flush_loggers()
        return ret

    def _run_group(self, jobs: list[_Job]) -> list[JobReturn]:
        """Train the group's models as one program, then write each job's folder."""
        from regexp.core.run import train_group

        try:  # building counts too: a job that raises here must not take the group down
            results = train_group([j.settings for j in jobs], label="batched")
        except Exception as err:  # e.g. out of memory: the jobs still run, one by one
            log.warning(
                "batched training of %d jobs failed (%s); running them one by one", len(jobs), err
            )
            return [self._run(j) for j in jobs]
        returns = []
        with _plot_pool(jobs) as pool:
            for job, trained in zip(jobs, results):
                extra = {"batched": len(jobs)}
                if self._hydra_path_only(job):
                    returns.append(self._run(job, trained, extra))
                else:
                    returns.append(self._write_job(job, trained, extra, pool))
        assert self.config is not None  # the launcher's own logging, as after run_job
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return returns

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from regexp.core.data import input_dim
        from regexp.core.engine import can_batch, chunk_size, group_key

        setup_globals()
        assert self.config is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs = [self._load(initial_job_idx + i, o) for i, o in enumerate(job_overrides)]
        groups: dict[tuple, list[_Job]] = {}
        for job in jobs:
            if job.settings is not None and can_batch(job.settings):
                groups.setdefault(group_key(job.settings), []).append(job)
            else:
                groups[("alone", job.idx)] = [job]
        log.info("Launching %d jobs in %d groups (batched)", len(jobs), len(groups))
        returns: dict[int, JobReturn] = {}
        for members in groups.values():
            s = members[0].settings
            widths = [input_dim(s.data), *s.hidden_units, 1] if s is not None else [0, 0]
            size = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
            if len(members) < self.min_group or s is None or size > self.max_params:
                for job in members:
                    log.info("\t#%d : %s", job.idx, " ".join(filter_overrides(job.overrides)))
                    returns[job.idx] = self._run(job)
                continue
            width = max(s.hidden_units, default=1)
            rows = max(s.data.n_train, s.data.n_val)
            step = min(self.max_group, chunk_size(size, width, rows, self.memory_mb))
            for start in range(0, len(members), step):
                chunk = members[start : start + step]
                log.info(
                    "\t#%s : %d jobs as one program",
                    ",".join(str(j.idx) for j in chunk),
                    len(chunk),
                )
                for job, ret in zip(chunk, self._run_group(chunk)):
                    returns[job.idx] = ret
        return [returns[j.idx] for j in jobs]
