"""A sweep's jobs: expanded from its overrides as Hydra's basic sweeper expands them, and their
configs loaded one way for the CLI's check and for the launcher (JobConfigs).

Composing costs about as much as training a small job, and a sweep's jobs mostly differ in
plain KEY=VALUE overrides only: so JobConfigs composes once per choice of config groups (the
base) and sets each job's values on a copy of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from regexp.config.compose import (
    DEFAULT_SOURCE,
    Source,
    check,
    check_keys,
    compose,
    explain,
    settings_of,
)
from regexp.config.errors import ConfigError, UsageError
from regexp.config.files import from_a_file
from regexp.config.overrides import (
    parse_override,
    plain_task,
    split_values,
    with_values,
    with_values_plain,
)
from regexp.config.search_space import whole_interval
from regexp.config.settings import Settings


@dataclass
class JobConfig:
    """One job's config: its overrides split into a base and values, its task config (the
    config without `hydra`, unresolved, as plain containers) and its settings; task is None
    where only Hydra's own compose of every override can give it, settings None where it
    does not validate (error says why)."""

    overrides: list[str]
    base_key: tuple[str, ...] = ()
    values: list[Any] = field(default_factory=list)
    task: dict | None = None
    settings: Settings | None = None
    error: Exception | None = None


class JobConfigs:
    """Job configs from one composed base per choice of config groups.

    compose(base_key) composes a base config, with Hydra's `hydra` node or without."""

    def __init__(self, compose: Callable[[Sequence[str]], DictConfig]):
        self._compose = compose
        self.bases: dict[tuple[str, ...], DictConfig] = {}
        self._tasks: dict[tuple[str, ...], DictConfig] = {}
        self._plain: dict[tuple[str, ...], dict | None] = {}

    def add_base(self, key: tuple[str, ...], base: DictConfig) -> None:
        """A base composed already (the CLI's sweep config serves as its jobs' base)."""
        self.bases[key] = base
        task = OmegaConf.masked_copy(base, [k for k in base if k != "hydra"])
        OmegaConf.set_struct(task, OmegaConf.is_struct(base))  # unknown keys stay errors
        self._tasks[key] = task
        self._plain[key] = plain_task(task)

    def is_plain(self, key: tuple[str, ...]) -> bool:
        """Whether the base holds no interpolation (its jobs' tasks are plain copies)."""
        return self._plain.get(key) is not None

    def config_of(self, job: JobConfig) -> DictConfig:
        """The job's whole config (with Hydra's node): its base with its values set."""
        return with_values(self.bases[job.base_key], job.values)

    @staticmethod
    def task_overrides(job: JobConfig) -> list[Any]:
        """The job's parsed overrides but Hydra's own: what hydra.overrides.task holds."""
        return [o for o in map(parse_override, job.overrides) if not o.is_hydra_override()]

    def load(self, overrides: Sequence[str]) -> JobConfig:
        job = JobConfig(list(overrides))
        try:
            job.base_key, job.values = split_values(job.overrides)
            if job.base_key not in self.bases:
                self.add_base(job.base_key, self._compose(list(job.base_key)))
            plain = self._plain[job.base_key]
            tree = with_values_plain(plain, job.values) if plain is not None else None
            if tree is None:
                cfg = with_values(self._tasks[job.base_key], job.values)
                job.task = OmegaConf.to_container(cfg, enum_to_str=True)
                job.settings = settings_of(cfg)
            else:
                job.task = tree
                job.settings = settings_of(tree)
        except Exception as err:
            job.error = err
        return job


def check_jobs(
    jobs: Sequence[Sequence[str]],
    source: Source = DEFAULT_SOURCE,
    configs: JobConfigs | None = None,
) -> list[Settings]:
    """Validate every job of a sweep, composing once per distinct choice of config groups; a
    CSV data set's file is read once. A job that fails is composed again in full, for Hydra's
    own message. Raises UsageError naming the first bad job."""
    configs = configs or JobConfigs(lambda key: compose(key, source))
    checked: list[Settings] = []
    csv_checked: set = set()
    for i, overrides in enumerate(jobs):
        job = configs.load(overrides)
        settings = job.settings
        try:
            if settings is None:
                settings = check(overrides, source)
            else:
                try:
                    check_keys(job.task, overrides)
                except ConfigError as err:
                    folders, primary = source.user_folders(), source.primary_file()
                    raise from_a_file(err, overrides, folders, primary) from None
        except UsageError as err:
            where = f"job {i} ({' '.join(overrides)}): " if len(jobs) > 1 else ""
            raise UsageError(f"{where}{err}") from None
        if settings.data.name == "csv" and settings.data not in csv_checked:
            from regexp.config.csv_table import read_table

            read_table(settings.data)
            csv_checked.add(settings.data)
        checked.append(settings)
    return checked


def _discrete(line: str) -> str:
    """An optimizing sweeper's search space as a basic sweep of its corners, for checking:
    interval(a, b) -> a,b (ints under tag(int, ...)); tag(...) around a choice or range drops
    its tags. Other overrides are returned as they are."""
    o = parse_override(line)
    if not o.is_sweep_override():
        return line
    if o.is_discrete_sweep():
        values = list(o.sweep_string_iterator())
    else:  # interval: its two ends
        sweep, whole = o.value(), whole_interval(line)
        values = [str(int(v)) if whole else repr(float(v)) for v in (sweep.start, sweep.end)]
    return f"{o.get_key_element()}={','.join(values)}"


def count_jobs(overrides: Sequence[str]) -> int:
    """How many jobs a basic sweep of the overrides launches, without listing them: the
    product of each swept key's number of values (a range's by arithmetic; a later line of
    a key replaces an earlier one, as the command line replaces hydra.sweeper.params)."""
    from hydra.core.override_parser.types import RangeSweep

    counts: dict[str, int] = {}
    for line in overrides:
        o = parse_override(line)
        if not o.is_sweep_override():
            continue
        sweep = o.value()
        if isinstance(sweep, RangeSweep) and sweep.step:
            counts[o.get_key_element()] = max(0, math.ceil((sweep.stop - sweep.start) / sweep.step))
        elif o.is_discrete_sweep():
            counts[o.get_key_element()] = sum(1 for _ in o.sweep_string_iterator())
    return math.prod(counts.values())


def expand_sweep(overrides: Sequence[str], discrete: bool = False) -> list[list[str]]:
    """The override list of every job a Hydra basic sweep would launch, in its order. With
    `discrete`, an optimizing sweeper's syntax (interval, tag) becomes its corners first."""
    from hydra.errors import HydraException

    from regexp.config.hydra_shim import basic_sweeper

    lines = [_discrete(o) for o in overrides] if discrete else list(overrides)
    try:
        parsed = [parse_override(o) for o in lines]
        batches = basic_sweeper().split_arguments(parsed, None)
    except (HydraException, ValueError) as err:
        raise explain(err, overrides) from None
    return [list(job) for batch in batches for job in batch]
