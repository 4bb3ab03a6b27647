"""Hydra sweeper `hydra/sweeper=resume`: Hydra's basic sweep that skips jobs already done.

Used by `regexp sweep --resume SWEEP_DIR` (regexp.runs.resume). It wraps whichever launcher the
sweep uses, so resume works the same with batched, joblib, submitit and Ray. Hydra refuses
sweepers outside the hydra_plugins namespace, hence this module.
"""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.regexp_launcher.checked_sweeper import CheckedSweeper, CheckedSweeperConf


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
        from regexp.runs.resume import ResumingLauncher

        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.launcher = ResumingLauncher(self.launcher, config, hydra_context)
