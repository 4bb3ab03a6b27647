"""Hydra sweeper `hydra/sweeper=resume`: Hydra's basic sweep that skips jobs already done.

Used by `regexp sweep --resume SWEEP_DIR` (regexp.runs.resume). It wraps whichever launcher the
sweep uses, so resume works the same with batched, joblib, submitit and Ray: jobs whose folder
is complete with status ok are never handed to the launcher, so their folders stay byte for
byte as they were (Hydra's run_job would rewrite .hydra/ and the log). Hydra refuses
sweepers outside the hydra_plugins namespace, hence this module.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from hydra_plugins.regexp_launcher.checked_sweeper import CheckedSweeper, CheckedSweeperConf
from regexp.runs.resume import settle

log = logging.getLogger("regexp")


@dataclass
class ResumeSweeperConf(CheckedSweeperConf):
    _target_: str = "hydra_plugins.regexp_launcher.resume_sweeper.ResumeSweeper"


ConfigStore.instance().store(
    group="hydra/sweeper", name="resume", node=ResumeSweeperConf, provider="regexp"
)


class ResumeSweeper(CheckedSweeper):
    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.launcher = ResumingLauncher(self.launcher, config, hydra_context)


class ResumingLauncher:
    """Hands a launcher only the jobs still to do, in runs of consecutive job numbers."""

    def __init__(self, launcher: Any, config: Any, hydra_context: Any) -> None:
        self.launcher, self.config, self.hydra_context = launcher, config, hydra_context

    def job_dir(self, idx: int, overrides: Sequence[str]) -> Path:
        sweep = self.config.hydra.sweep
        if OmegaConf.to_container(sweep, resolve=False).get("subdir") == "${hydra.job.num}":
            return Path(str(sweep.dir)) / str(idx)
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.num = idx
        return Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)

    @staticmethod
    def _skipped(overrides: Sequence[str], job_dir: Path, value: float) -> JobReturn:
        """A done job's return, its objective read back (an optimizing sweeper tells it)."""
        ret = JobReturn(overrides=list(overrides), working_dir=str(job_dir))
        ret.status, ret.return_value = JobStatus.COMPLETED, value
        return ret

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[Any]:
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        returns: list[Any] = []
        todo: list[int] = []  # positions in job_overrides of the current run of jobs to do

        def flush() -> None:
            if todo:
                batch = [job_overrides[i] for i in todo]
                returns.extend(
                    self.launcher.launch(batch, initial_job_idx=initial_job_idx + todo[0])
                )
                todo.clear()

        done = 0
        for i, overrides in enumerate(job_overrides):
            job_dir = self.job_dir(initial_job_idx + i, overrides)
            value = settle(job_dir, sweep_dir)
            if value is None:
                todo.append(i)
                continue
            flush()
            returns.append(self._skipped(overrides, job_dir, value))
            done += 1
        flush()
        log.info(
            "resume: %d of %d jobs already ok, %d run again",
            done,
            len(returns),
            len(returns) - done,
        )
        return returns
