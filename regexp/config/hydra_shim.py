"""The private Hydra and OmegaConf names regexp uses, all here, each pinned to Hydra's own
output by tests/config/test_hydra_shim.py (fast suite, whole files compared), so a Hydra
upgrade that changes them fails there first.

- basic_sweeper(): Hydra's default sweeper class. `regexp sweep` expands a sweep with its
  split_arguments to check every job before launching, and hydra/sweeper=checked extends it.
  Looked up at each call: Hydra's plugin scan re-executes its module in every run, and a
  class kept from an earlier run no longer matches the one Hydra instantiates.
- overrides_dirname: hydra.job.override_dirname as Hydra's load_sweep_config computes it.
- job_files: the .hydra/ files of a job, as Hydra's run_job writes them, for the batched
  launcher's own job writer (Hydra's run_job deep-copies the whole config twice per job,
  which costs more than the rest of a trained group's job). It dumps with OmegaConf's YAML
  representer for strings on PyYAML's dumper, as OmegaConf.to_yaml does.
- flush_loggers, and setting HydraConfig's config for the job the writer writes, restored
  afterwards, as run_job does.
- config_search(): Hydra's compose API set up with the search path hydra.main builds from
  --config-path and --config-dir (initialize_config_dir/module take no --config-dir), so the
  CLI checks a user's config folder exactly as the run will read it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hydra._internal.config_loader_impl import get_overrides_dirname
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_config_search_path
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import _flush_loggers
from hydra.initialize import get_gh_backup, restore_gh_from_backup
from hydra.version import setbase
from omegaconf import DictConfig
from omegaconf._utils import OmegaConfDumper

__all__ = [
    "basic_sweeper",
    "config_search",
    "flush_loggers",
    "hydra_config",
    "job_files",
    "overrides_dirname",
]

flush_loggers = _flush_loggers


def basic_sweeper() -> type:
    return importlib.import_module("hydra._internal.core_plugins.basic_sweeper").BasicSweeper


def overrides_dirname(overrides: Sequence[Any], dirname: DictConfig) -> str:
    """override_dirname of parsed task overrides, with hydra.job.config.override_dirname's
    separators and excluded keys."""
    return get_overrides_dirname(
        overrides=list(overrides),
        kv_sep=dirname.kv_sep,
        item_sep=dirname.item_sep,
        exclude_keys=list(dirname.exclude_keys),
    )


@functools.cache
def _dumper(fast: bool) -> type:

    # libyaml's emitter (fast) writes what PyYAML's does except where it folds long strings
    dumper = type("RegexpDumper", (yaml.CDumper if fast else yaml.Dumper,), {})
    # OmegaConf quotes strings that would read back as a bool or a number
    dumper.add_representer(str, OmegaConfDumper.str_representer)
    return dumper


def _plain(tree: Any) -> bool:
    """Whether every string in tree is short printable ASCII: nothing for an emitter to fold."""
    if isinstance(tree, str):
        return len(tree) <= 40 and tree.isascii() and tree.isprintable()
    if isinstance(tree, dict):
        return all(_plain(k) and _plain(v) for k, v in tree.items())
    if isinstance(tree, list | tuple):
        return all(_plain(v) for v in tree)
    return True


def yaml_text(tree: Any) -> str:
    """OmegaConf.to_yaml's text of a plain container (dicts, lists, scalars)."""

    fast = hasattr(yaml, "CDumper") and _plain(tree)
    return yaml.dump(
        tree, default_flow_style=False, allow_unicode=True, sort_keys=False, Dumper=_dumper(fast)
    )


def job_files(meta: Path, config_yaml: str, hydra_yaml: str, task_overrides: list[str]) -> None:
    """Write config.yaml and hydra.yaml (their texts given: yaml_text(task) and
    yaml_text({"hydra": tree})) and overrides.yaml into meta, the job's .hydra/."""
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "config.yaml").write_text(config_yaml, encoding="utf-8")
    (meta / "hydra.yaml").write_text(hydra_yaml, encoding="utf-8")
    (meta / "overrides.yaml").write_text(yaml_text(task_overrides), encoding="utf-8")


@contextmanager
def hydra_config(cfg: DictConfig) -> Iterator[None]:
    """HydraConfig.get() answers from cfg's hydra node (for ${hydra:...} and log paths) while
    the block runs. The assignment is run_job's own: set_config would copy the node per job."""
    instance = HydraConfig.instance()
    before, instance.cfg = instance.cfg, cfg
    try:
        yield
    finally:
        instance.cfg = before


@contextmanager
def config_search(primary: str, config_dir: str | None) -> Iterator[Any]:
    """Hydra initialized as hydra.main initializes it for config_path=primary (pkg://... or
    an absolute folder) and --config-dir config_dir; yields its config loader."""

    setbase("1.3")
    search_path = create_config_search_path(primary)
    if config_dir is not None:  # hydra._internal.utils._run_hydra's add_conf_dir
        search_path.prepend(
            provider="command-line",
            path=f"file://{config_dir}",
            anchor=SearchPathQuery(provider="schema"),
        )
    backup = get_gh_backup()
    try:
        hydra = Hydra.create_main_hydra2(task_name="regexp", config_search_path=search_path)
        yield hydra.config_loader
    finally:
        restore_gh_from_backup(backup)
