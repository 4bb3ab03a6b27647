"""A batched sweep's jobs as Hydra sees them: each job's config loaded once per choice of
config groups (regexp.config.jobs.JobConfigs, through Hydra's load_sweep_config), the fields
Hydra sets per job, a stacked job's folder made as run_job makes it (hydra_job.py), and the
JobReturn the sweeper gets.

A stacked job reaches Hydra's callbacks as run_job's would (on_job_start once its folder is
made, on_job_end once its numbers are written). A job that needs more of run_job's service
(hydra.job.env_set or chdir, a config only Hydra's own compose gives, settings that do not
validate) is not stacked: it runs alone through Hydra's run_job with the task function the
CLI handed Hydra.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobRuntime, JobStatus, configure_log, run_job
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from hydra_plugins.regexp_launcher.hydra_job import JobWriter, LogFiles
from regexp.config.hydra_shim import flush_loggers, hydra_config, overrides_dirname
from regexp.config.jobs import JobConfig, JobConfigs


@dataclass
class Job:
    idx: int
    config: JobConfig

    @property
    def settings(self) -> Any:
        return self.config.settings


class SweepJobs:
    """The jobs of one launch: loading, and making each job's folder."""

    def __init__(self, config: DictConfig, hydra_context: HydraContext):
        self.config, self.hydra_context = config, hydra_context
        self.configs = JobConfigs(self._compose)
        self.logs = LogFiles()
        self.writers: dict[tuple[str, ...], JobWriter] = {}

    def _compose(self, overrides: Sequence[str]) -> DictConfig:
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        OmegaConf.copy_cache(from_config=self.config, to_config=cfg)  # ${now:} etc.
        return cfg

    def load(self, idx: int, overrides: Sequence[str]) -> Job:
        return Job(idx, self.configs.load(overrides))

    def stackable(self, job: Job) -> bool:
        """Whether the job can train in a stacked program and have its folder made by a
        JobWriter: its settings validate and nothing of run_job's full service is asked."""
        if job.config.task is None or job.settings is None:
            return False
        job_cfg = self.configs.bases[job.config.base_key].hydra.job
        return not job_cfg.chdir and not job_cfg.env_set

    def full_config(self, job: Job) -> DictConfig:
        """The job's whole config as Hydra's load_sweep_config gives it."""
        if job.config.task is None:
            cfg = self._compose(job.config.overrides)
            with open_dict(cfg):
                cfg.hydra.job.id = job.idx
                cfg.hydra.job.num = job.idx
            return cfg
        cfg = self.configs.config_of(job.config)
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            for key, value in self.fields(job).items():
                OmegaConf.update(cfg.hydra, key, value, merge=False)
        OmegaConf.copy_cache(from_config=self.config, to_config=cfg)
        return cfg

    def fields(self, job: Job) -> dict[str, Any]:
        """What Hydra's load_sweep_config sets per job: its id, number and overrides."""
        app = self.configs.task_overrides(job.config)
        dirname = self.configs.bases[job.config.base_key].hydra.job.config.override_dirname
        return {
            "job.id": str(job.idx),  # typed str in Hydra's JobConf
            "job.num": job.idx,
            "job.override_dirname": overrides_dirname(app, dirname),
            "overrides.task": [o.input_line for o in app],
        }

    def folder(self, job: Job) -> Path:
        """A stacked job's folder, with the .hydra/ files and log file run_job would write."""
        key = job.config.base_key
        if key not in self.writers:
            base = self.configs.bases[key]
            tree = OmegaConf.to_container(base.hydra, enum_to_str=True)
            self.writers[key] = JobWriter(base, tree, self.logs)
        return self.writers[key].folder(
            self.fields(job), job.config.task, self.configs.is_plain(key)
        )

    def returned(self, job: Job, value: float) -> JobReturn:
        """A stacked job's JobReturn, as run_job returns it: completed, its objective's value
        (NaN for a job that is not ok: a failed trial to an optimizing sweeper)."""
        ret = JobReturn(overrides=[o.input_line for o in self.configs.task_overrides(job.config)])
        ret.cfg, ret.working_dir = job.config.task, str(Path.cwd())
        ret.return_value, ret.status = value, JobStatus.COMPLETED
        ret.task_name = JobRuntime.instance().get("name")
        flush_loggers()
        return ret

    def unit_folders(
        self, unit: list[Job] | dict[int, Job], task_function: TaskFunction
    ) -> "UnitFolders":
        return UnitFolders(self, unit, task_function)

    def run(self, job: Job, task_function: TaskFunction) -> JobReturn:
        """A job alone, through Hydra's own run_job and the CLI's task function."""
        ret = run_job(
            hydra_context=self.hydra_context,
            task_function=task_function,
            config=self.full_config(job),
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        self.reset_logging()
        return ret

    def reset_logging(self) -> None:
        """The launcher's own logging, as after run_job (the next job's log file is then
        configured anew, not moved)."""
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        self.logs.dir = None


class UnitFolders:
    """regexp.runs.run_unit.Folders of one stacked unit: job i's folder made as run_job makes
    it, and its JobReturn once its numbers are written; Hydra's callbacks told of both. A
    search's unit is a dict by trial number, which grows as the program takes new trials."""

    def __init__(
        self, jobs: SweepJobs, unit: list[Job] | dict[int, Job], task_function: TaskFunction
    ):
        self.jobs, self.unit, self.task_function = jobs, unit, task_function
        self.callbacks = jobs.hydra_context.callbacks
        self.returns: dict[int, JobReturn] = {}
        self.configs: dict[int, DictConfig] = {}

    def open(self, i: int) -> Path:
        out = self.jobs.folder(self.unit[i])
        if self.callbacks.callbacks:
            cfg = self.configs[i] = self.jobs.full_config(self.unit[i])
            with read_write(cfg.hydra), open_dict(cfg.hydra):
                cfg.hydra.runtime.output_dir = str(out)
            with hydra_config(cfg):
                self.callbacks.on_job_start(config=cfg, task_function=self.task_function)
        return out

    def close(self, i: int, value: float) -> None:
        ret = self.returns[i] = self.jobs.returned(self.unit[i], value)
        if i in self.configs:
            with hydra_config(self.configs[i]):
                self.callbacks.on_job_end(config=self.configs[i], job_return=ret)
