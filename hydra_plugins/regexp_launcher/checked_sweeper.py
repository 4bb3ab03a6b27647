"""Hydra sweeper `hydra/sweeper=checked`, regexp's default: Hydra's basic sweep without its
validate_batch_is_legal, which composes every job's config once more although
`regexp sweep` has checked every job before launching (regexp.config.jobs.check_jobs).
Hydra refuses sweepers outside the hydra_plugins namespace, hence this module.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore

from regexp.config.hydra_shim import basic_sweeper


@dataclass
class CheckedSweeperConf:
    _target_: str = "hydra_plugins.regexp_launcher.checked_sweeper.CheckedSweeper"
    max_batch_size: Any = None
    params: Any = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="checked", node=CheckedSweeperConf, provider="regexp"
)


class CheckedSweeper(basic_sweeper()):  # type: ignore[misc]
    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Already done, job by job, by the CLI before Hydra started."""
