"""Overrides → composed config → validated settings, before any folder is made or work starts.

Hydra reports bad overrides (unknown keys, unknown group options, malformed syntax) with
long messages and exit code 1; here each becomes a UsageError of one line naming the key.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from regexp.config.errors import ConfigError, UsageError
from regexp.config.files import (
    added_keys,
    builds_on_ours,
    from_a_file,
    not_utf8,
    shown_path,
    whole_file,
    yaml_error,
)
from regexp.config.overrides import GROUPS, parse_override
from regexp.config.settings import Settings, input_dim, unknown_keys, validate

CONFIG_MODULE = "regexp.conf"


@dataclass(frozen=True)
class Source:
    """Where configs come from, as Hydra's flags say: --config-path/-cp replaces regexp's
    conf/ as the primary folder, --config-name/-cn picks the primary config, --config-dir/-cd
    adds a folder searched first (a user's own experiment/, data/, ... files)."""

    config_path: str | None = None  # an absolute folder, or None for pkg://regexp.conf
    config_name: str = "config"
    config_dir: str | None = None  # an absolute folder

    def user_folders(self) -> list[str | None]:
        """The folders of the user's own config files."""
        return [self.config_dir, self.config_path]

    def primary_file(self) -> Path | None:
        """The user's own primary config file (-cn NAME from -cp or -cd), None for regexp's."""
        folders = [self.config_path] if self.config_name == "config" else self.user_folders()
        for folder in filter(None, folders):
            path = Path(folder) / f"{self.config_name}.yaml"
            if path.is_file():
                return path
        return None

    def hydra_flags(self) -> list[str]:
        """The same choice as flags for hydra.main."""
        flags = ["--config-name", self.config_name]
        if self.config_path is not None:
            flags += ["--config-path", self.config_path]
        if self.config_dir is not None:
            flags += ["--config-dir", self.config_dir]
        return flags


DEFAULT_SOURCE = Source()


def source_of(
    config_path: str | None = None, config_name: str | None = None, config_dir: str | None = None
) -> Source:
    """A Source from Hydra's flags, folders made absolute (relative to the working directory,
    where a user types them) and checked to exist."""
    folders = {}
    for flag, folder in (("--config-path", config_path), ("--config-dir", config_dir)):
        if folder is None:
            continue
        if folder.startswith("pkg://"):
            raise UsageError(f"{flag}: give a folder (pkg:// configs are not supported)")
        absolute = os.path.abspath(folder.removeprefix("file://"))
        if not os.path.isdir(absolute):
            raise UsageError(f"{flag}: no such folder: {folder}")
        folders[flag] = absolute
    return Source(
        folders.get("--config-path"), config_name or "config", folders.get("--config-dir")
    )


def shadowed(source: Source) -> list[str]:
    """The user's --config-dir files that regexp's own conf/ also has: Hydra searches the
    package's folder first (a command-line dir goes in before the schema, after the main
    config), so these files of the user's are never read."""
    if source.config_dir is None or source.config_path is not None:
        return []

    ours = files(CONFIG_MODULE)
    found = []
    for path in sorted(Path(source.config_dir).rglob("*.yaml")):
        rel = path.relative_to(source.config_dir).as_posix()
        if ours.joinpath(rel).is_file():
            found.append(rel)
    return found


def _initialized(source: Source) -> AbstractContextManager[Any]:
    """Hydra's compose API set up as hydra.main is for these flags; yields the loader."""
    from regexp.config.hydra_shim import config_search

    primary = source.config_path or f"pkg://{CONFIG_MODULE}"
    return config_search(primary, source.config_dir)


def _group_options(group: str, source: Source = DEFAULT_SOURCE) -> list[str]:
    """A config group's options, the user's --config-dir ones included."""
    try:
        with _initialized(source) as loader:
            return sorted(loader.get_group_options(group))
    except Exception:  # only for an error message: never hide the error it explains
        return []


def _unparsable(overrides: Sequence[str]) -> str | None:
    """The first override Hydra's grammar rejects on its own (its errors may not quote it)."""
    for o in overrides:
        try:
            parse_override(o)
        except UsageError:
            return o
    return None


def _unknown_hydra_key(key: str, overrides: Sequence[str], source: Source) -> ConfigError:
    """A key of Hydra's that its node does not have: the node's settings, and for a sweeper's
    or launcher's key, the options of that group that have it (n_trials: an Optuna one)."""
    parent, _, name = key.rpartition(".")
    group = parent.replace(".", "/")  # hydra.sweeper -> hydra/sweeper
    rest = [o for o in overrides if parse_override(o).key_or_group != key]
    try:
        cfg = compose(rest, source, with_hydra=True)
    except UsageError:
        return ConfigError(key, "not one of Hydra's settings (regexp run --cfg hydra lists them)")
    node = OmegaConf.select(cfg, parent)
    choice = OmegaConf.select(cfg, f"hydra.runtime.choices.{group}")
    where = f"{group}={choice}" if choice else parent
    keys = [k for k in node if k != "_target_"] if isinstance(node, DictConfig) else []
    message = f"not a setting of {where} (its settings: {', '.join(keys) or 'none'})"
    if group in ("hydra/sweeper", "hydra/launcher"):
        having = [
            o for o in _group_options(group, source) if o != choice and _has(o, key, rest, source)
        ]
        if having:
            message += f"; {group}={having[0]} has it"
    return ConfigError(key, message)


def _has(option: str, key: str, overrides: Sequence[str], source: Source) -> bool:
    """Whether the config with hydra/<group>=option has key."""
    group = key.rpartition(".")[0].replace(".", "/")
    try:
        with warnings.catch_warnings():  # Hydra's notes on a plugin's schema: not for this
            warnings.simplefilter("ignore")
            cfg = compose([*overrides, f"{group}={option}"], source, with_hydra=True)
    except UsageError:
        return False
    return OmegaConf.select(cfg, key, default=_ABSENT) is not _ABSENT


_ABSENT = object()


def explain(
    err: Exception, overrides: Sequence[str], source: Source = DEFAULT_SOURCE
) -> UsageError:
    """Turn one of Hydra's or OmegaConf's exceptions into a one-line UsageError."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    m = re.search(r"Could not override '([^']+)'", text) or re.search(
        r"Key '([^']+)' is not in struct", text
    )
    if m:
        key = m.group(1)
        if "." not in key and key in GROUPS:
            return UsageError(f"{key}: use {key}=OPTION to pick an option")
        if key.startswith("hydra."):  # Hydra's own: a + would only hide the typo
            return _unknown_hydra_key(key, overrides, source)
        return ConfigError(key, "unknown key (add it with +KEY=VALUE only if you mean a new key)")
    m = re.search(r"Could not append to config. An item is already at '([^']+)'", text)
    if m:
        return ConfigError(m.group(1), f"already set: write {m.group(1)}=VALUE (without +)")
    m = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
    if m:
        group, option = m.groups()
        allowed = ", ".join(_group_options(group, source)) or "see conf/"
        return ConfigError(group, f"unknown option {option!r}; allowed: {allowed}")
    m = re.search(
        r"In '(hydra/(?:sweeper|launcher)/[^']+)': Could not load 'hydra/(\w+)/(\w+)'", text
    )
    if m:  # a preset of ours over a plugin's config that is not installed
        preset, kind, name = m.groups()
        package = f"hydra-{name.split('_')[0]}-{kind}"
        group, option = preset.rsplit("/", 1)
        return UsageError(f"{group}={option} needs the {package} package: pip install {package}")
    m = re.search(r"In '[^']*': Could not find '([^']+)'", text)
    if m:
        return UsageError(first)
    if "mismatched input" in text or "no viable alternative" in text or "extraneous" in text:
        bad = next((o for o in overrides if o in text), None) or _unparsable(overrides)
        where = f" in {bad!r}" if bad else ""
        return UsageError(f"malformed override{where}: write KEY=VALUE (lists as [1,2])")
    if "Ambiguous value for argument" in text:
        m = re.search(r"argument '([^']+)'", text)
        arg = m.group(1) if m else "?"
        return UsageError(
            f"{arg.split('=')[0]}: a comma makes a sweep: use `regexp sweep {arg}` "
            "(a list is written [2,8], several lists as [2],[8])"
        )
    if "Config group override must be" in text or isinstance(err, TypeError):
        # data=[1], optimizer=5: a group takes an option's name
        for line in overrides:
            try:
                o = parse_override(line)
            except UsageError:
                continue
            group = o.key_or_group
            if group in GROUPS and o.value_type is not None and not isinstance(o.value(), str):
                allowed = ", ".join(_group_options(group, source))
                return ConfigError(group, f"must name one option ({allowed}), got {line!r}")
        return UsageError(f"malformed override: write KEY=VALUE (got {' '.join(overrides)!r})")
    if "LexerNoViableAlt" in text:  # a character Hydra's grammar does not know (ŕ, ?, ...)
        bad = next((o for o in overrides if o in text), text)
        return UsageError(f"malformed override {bad!r}: quote unusual characters ('a b')")
    if "Error parsing override" in text or "ParseError" in type(err).__name__:
        return UsageError(f"malformed override: {first}")
    return UsageError(first)


def compose(
    overrides: Sequence[str], source: Source = DEFAULT_SOURCE, with_hydra: bool = False
) -> DictConfig:
    """Compose the primary config with the overrides, as Hydra would for one job (with its
    `hydra` node when with_hydra: output folders, sweeper, launcher)."""
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException

    try:
        with _initialized(source):
            return hydra_compose(
                source.config_name, overrides=list(overrides), return_hydra_config=with_hydra
            )
    except UnicodeDecodeError as err:  # a user's file of binary garbage
        raise not_utf8(source.user_folders()) or UsageError(str(err)) from None
    except (HydraException, OmegaConfBaseException, ValueError, TypeError) as err:
        primary = source.primary_file()
        problem = primary and whole_file(primary)  # empty, a list: not a config at all
        if problem:
            raise UsageError(f"{shown_path(primary)}: {problem}") from None
        found = yaml_error(err) or explain(err, overrides, source)
        if primary and isinstance(found, ConfigError) and not builds_on_ours(primary):
            raise from_a_file(found, overrides, source.user_folders(), primary) from None
        raise found from None
    except yaml.YAMLError as err:  # a user's file that is not YAML
        raise yaml_error(err) from None


def check(overrides: Sequence[str], source: Source = DEFAULT_SOURCE) -> Settings:
    """Compose and validate one job's overrides; for a CSV data set also read the file."""
    return check_config(compose(overrides, source), overrides, source)


def check_keys(tree: dict, overrides: Sequence[str]) -> None:
    """ConfigError for the first key regexp does not read (a typo in a user's file: the
    command line refuses the same key on its own)."""
    unknown = unknown_keys(tree, added_keys(overrides))
    if unknown:
        key, allowed = unknown[0]
        raise ConfigError(key, f"unknown key; allowed here: {', '.join(allowed)}")


def check_config(
    cfg: DictConfig, overrides: Sequence[str] = (), source: Source = DEFAULT_SOURCE
) -> Settings:
    """Validate a composed config (its `hydra` node, if any, is ignored) and its keys; for a
    CSV data set also read the file. An error about a key a user's config file sets names
    the file."""
    try:
        check_keys(OmegaConf.to_container(cfg, resolve=False), overrides)
        settings = settings_of(cfg)
        if settings.data.name == "csv":
            from regexp.config.csv_table import read_table

            read_table(settings.data)
    except ConfigError as err:
        raise from_a_file(err, overrides, source.user_folders(), source.primary_file()) from None
    return settings


def settings_of(cfg: DictConfig) -> Settings:

    try:
        settings = validate(cfg)
    except OmegaConfBaseException as err:  # ${...} that does not resolve (a loop, no env var)
        key = getattr(err, "full_key", None) or "config"
        raise ConfigError(key, f"cannot be resolved: {str(err).splitlines()[0]}") from None
    if settings.init.strategy == "grid":  # the blog's grid covers 2 parameters at most
        widths = [input_dim(settings.data), *settings.hidden_units, 1]
        n = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
        if n > 2:
            raise ConfigError(
                "init.strategy",
                f"grid needs a model of at most 2 parameters (hidden_units=[] on 1-D data), "
                f"this one has {n}; use init.strategy=search",
            )
    return settings
