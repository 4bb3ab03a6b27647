"""A batched sweep's jobs as Hydra sees them: each job's config loaded once per base
(regexp.config.jobs.JobConfigs, through Hydra's load_sweep_config), the fields Hydra sets per
job, and a job's folder made as Hydra's run_job makes it.

A job of a trained group is written by the group's JobWriter (job_writer.py); a job that needs
run_job's full service (callbacks, hydra.job.env_set, hydra.job.chdir, a config only Hydra's
own compose gives) goes through run_job itself, as does a job trained alone.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobRuntime, JobStatus, configure_log, run_job
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from hydra_plugins.regexp_launcher.job_writer import JobWriter, LogFiles
from regexp.config import objective
from regexp.config.hydra_shim import flush_loggers, overrides_dirname
from regexp.config.jobs import JobConfig, JobConfigs
from regexp.config.overrides import parse_override, with_values
from regexp.config.settings import Settings, validate
from regexp.figures.pool import FigurePool
from regexp.system.progress import SweepProgress

Fill = Callable[[Path], dict[str, Any]]  # fills a job's folder, returns its metrics


@dataclass
class Job:
    idx: int
    config: JobConfig

    @property
    def settings(self) -> Settings | None:
        return self.config.settings


class SweepJobs:
    """The jobs of one launch: loading, and writing each job's folder."""

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
        """The job's config and settings; settings None when it does not validate (it then
        fails in its own folder, with its own message)."""
        job = Job(idx, self.configs.load(overrides))
        if job.config.task is None:  # left to Hydra's compose of every override
            try:
                job.config.settings = validate(self.full_config(job))
            except Exception:
                job.config.settings = None
        return job

    def full_config(self, job: Job) -> DictConfig:
        """The job's whole config as Hydra's load_sweep_config gives it."""
        if job.config.task is None:
            cfg = self._compose(job.config.overrides)
            with open_dict(cfg):
                cfg.hydra.job.id = job.idx
                cfg.hydra.job.num = job.idx
            return cfg
        cfg = with_values(self.configs.bases[job.config.base_key], job.config.values)
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            for key, value in self.fields(job).items():
                OmegaConf.update(cfg.hydra, key, value, merge=False)
        OmegaConf.copy_cache(from_config=self.config, to_config=cfg)
        return cfg

    def fields(self, job: Job) -> dict[str, Any]:
        """What Hydra's load_sweep_config sets per job: its id, number and overrides."""
        app = [o for o in map(parse_override, job.config.overrides) if not o.is_hydra_override()]
        dirname = self.configs.bases[job.config.base_key].hydra.job.config.override_dirname
        return {
            "job.id": str(job.idx),  # typed str in Hydra's JobConf
            "job.num": job.idx,
            "job.override_dirname": overrides_dirname(app, dirname),
            "overrides.task": [o.input_line for o in app],
        }

    def run(self, job: Job, fill: Fill | None = None) -> JobReturn:
        """The job through Hydra's own run_job: trained there, or its folder filled by fill."""
        settings = job.settings

        def task(cfg: DictConfig) -> float:
            from hydra.core.hydra_config import HydraConfig

            from regexp.runs.job import run_in  # torch: imported once a job runs

            out = Path(HydraConfig.get().runtime.output_dir)
            metrics = run_in(out, cfg, settings) if fill is None else fill(out)
            return objective.of_job(settings and settings.objective, metrics)

        ret = run_job(
            hydra_context=self.hydra_context,
            task_function=task,
            config=self.full_config(job),
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return ret

    def _hydra_path_only(self, job: Job) -> bool:
        """Whether the job needs run_job's full service (callbacks, env_set, chdir)."""
        if job.config.task is None or self.hydra_context.callbacks.callbacks:
            return True
        job_cfg = self.configs.bases[job.config.base_key].hydra.job
        return bool(job_cfg.chdir) or bool(job_cfg.env_set)

    def write(self, job: Job, fill: Fill) -> JobReturn:
        """A trained job's folder, with the .hydra/ files and log file run_job would write."""
        if self._hydra_path_only(job):
            return self.run(job, fill)
        key = job.config.base_key
        if key not in self.writers:
            base = self.configs.bases[key]
            tree = OmegaConf.to_container(base.hydra, enum_to_str=True)
            self.writers[key] = JobWriter(base, tree, self.logs)
        writer, fields = self.writers[key], self.fields(job)
        out = writer.open(fields, self.configs.is_plain(key))
        writer.files(out, job.config.task, fields)
        ret = JobReturn(overrides=fields["overrides.task"], cfg=job.config.task)
        ret.working_dir = str(Path.cwd())
        try:
            metrics = fill(out)
            ret.return_value = objective.of_job(job.settings and job.settings.objective, metrics)
            ret.status = JobStatus.COMPLETED
        except Exception as err:
            ret.return_value, ret.status = err, JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        flush_loggers()
        return ret

    def done_writing(self) -> None:
        """The launcher's own logging, as after run_job."""
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)


class GroupFolders:
    """regexp.runs.group.Folders for one group: each job written as Hydra would, counted
    (its figures too, when they are drawn here rather than in a pool)."""

    def __init__(self, jobs: SweepJobs, unit: list[Job], progress: SweepProgress | None,
                 pooled: bool):  # fmt: skip
        self.jobs, self.unit, self.progress, self.pooled = jobs, unit, progress, pooled

    def write(self, i: int, fill: Any) -> JobReturn:
        if i == 0 and self.progress is not None:
            self.progress.group_trained()
        ret = self.jobs.write(self.unit[i], fill)
        if self.progress is not None:
            self.progress.job_done()
            if not self.pooled and self.unit[i].settings.plots.enabled:
                self.progress.figure_done()
        return ret


class CountedPool:
    """A figure pool that counts each job's figures on the progress bar once drawn."""

    def __init__(self, pool: FigurePool, progress: SweepProgress):
        self.pool, self.progress = pool, progress

    def draw(self, specs: list[Any], done: Any) -> None:
        def counted(err: BaseException | None) -> None:
            try:
                done(err)
            finally:
                self.progress.figure_done()

        self.pool.draw(specs, counted)
