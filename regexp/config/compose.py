"""Overrides → composed config → validated settings, before any folder is made or work starts.

Hydra reports bad overrides (unknown keys, unknown group options, malformed syntax) with
long messages and exit code 1; here each becomes a UsageError of one line naming the key.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from regexp.config.errors import ConfigError, UsageError
from regexp.config.settings import Settings, input_dim, validate

CONFIG_MODULE = "regexp.conf"
GROUPS = ("data", "penalty", "optimizer", "experiment")


@dataclass(frozen=True)
class Source:
    """Where configs come from, as Hydra's flags say: --config-path/-cp replaces regexp's
    conf/ as the primary folder, --config-name/-cn picks the primary config, --config-dir/-cd
    adds a folder searched first (a user's own experiment/, data/, ... files)."""

    config_path: str | None = None  # an absolute folder, or None for pkg://regexp.conf
    config_name: str = "config"
    config_dir: str | None = None  # an absolute folder

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
    from importlib.resources import files

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


def _explain(
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
    from omegaconf.errors import OmegaConfBaseException

    try:
        with _initialized(source):
            return hydra_compose(
                source.config_name, overrides=list(overrides), return_hydra_config=with_hydra
            )
    except (HydraException, OmegaConfBaseException, ValueError, TypeError) as err:
        raise _explain(err, overrides, source) from None


def check(overrides: Sequence[str], source: Source = DEFAULT_SOURCE) -> Settings:
    """Compose and validate one job's overrides; for a CSV data set also read the file."""
    return check_config(compose(overrides, source))


def check_config(cfg: DictConfig) -> Settings:
    """Validate a composed config (its `hydra` node, if any, is ignored); for a CSV data set
    also read the file."""
    settings = _settings_of(cfg)
    if settings.data.name == "csv":
        from regexp.train.data import load_csv

        load_csv(settings.data)
    return settings


def _settings_of(cfg: DictConfig) -> Settings:
    from omegaconf.errors import OmegaConfBaseException

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


@functools.cache
def _parser() -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


@functools.lru_cache(maxsize=65_536)
def parse_override(line: str) -> Any:
    """Hydra's parse of one override (every override regexp looks at goes through here); a
    sweep's jobs repeat most of theirs, and a parse costs ~1 ms. Raises UsageError."""
    from hydra.errors import HydraException

    try:
        return _parser().parse_override(line)
    except (HydraException, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(f"malformed override {line!r}: {first}") from None


def override_key(line: str) -> str:
    """The key or group an override sets: `+a.b=1` -> a.b, `hydra/launcher=x` -> hydra/launcher."""
    return parse_override(line).key_or_group


def given_value(overrides: Sequence[str], key: str) -> Any | None:
    """The value the last override of `key` sets (None when none does): Hydra's own parse, so
    `++hydra.sweep.dir=X`, `+hydra.sweep.dir=X` and `hydra.sweep.dir=X` all count."""
    found = None
    for line in overrides:
        o = parse_override(line)
        if o.key_or_group == key and not o.is_delete():
            found = o.value()
    return found


def is_value_override(override) -> bool:
    """A plain KEY=VALUE on a config key (not a group choice, not Hydra's own, no +/~)."""
    from hydra.core.override_parser.types import OverrideType, ValueType

    key = override.key_or_group
    return (
        override.type == OverrideType.CHANGE
        and override.value_type == ValueType.ELEMENT
        and override.package is None
        and key not in GROUPS
        and "/" not in key
        and not override.is_hydra_override()
        and key != "hydra"
    )


def split_values(job: Sequence[str]) -> tuple[tuple[str, ...], list[Any]]:
    """(the overrides to compose a base config from, the plain KEY=VALUE overrides to apply).

    Composing costs ~0.2 s; a sweep's jobs mostly differ in plain KEY=VALUE overrides only, so
    they can share a base config composed once.
    """
    parsed = [parse_override(line) for line in job]
    values = [o for o in parsed if is_value_override(o)]
    return tuple(o.input_line for o in parsed if not is_value_override(o)), values


def with_values(base: DictConfig, values: Sequence[Any]) -> DictConfig:
    """A copy of base with KEY=VALUE overrides applied as Hydra applies them."""
    cfg = copy.deepcopy(base)
    for o in values:
        OmegaConf.update(cfg, o.key_or_group, o.value(), merge=True)
    return cfg


def patched(tree: dict, fields: dict[str, Any]) -> dict:
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


def plain_task(task: DictConfig) -> dict | None:
    """The task config as a plain container, when it holds no interpolation (then a job's
    KEY=VALUE overrides can be set in a copy of it without OmegaConf's deep copy)."""
    tree = OmegaConf.to_container(task, resolve=False, enum_to_str=True)
    try:
        return (
            tree if OmegaConf.to_container(task, resolve=True, enum_to_str=True) == tree else None
        )
    except Exception:
        return None


def with_values_plain(tree: dict, values: Sequence[Any]) -> dict | None:
    """A copy of tree with KEY=VALUE overrides set, copying only the dicts on their paths;
    None where Hydra's merge would do more than set a value (a dict value, a new key)."""
    fields = {}
    for o in values:
        value, node, *path = o.value(), tree, *o.key_or_group.split(".")
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        if isinstance(value, dict) or isinstance(node, dict):
            return None
        fields[o.key_or_group] = value
    return patched(tree, fields)


def check_jobs(
    jobs: Sequence[Sequence[str]],
    source: Source = DEFAULT_SOURCE,
    composed: dict[tuple[str, ...], DictConfig] | None = None,
) -> list[Settings]:
    """check() every job of a sweep, composing once per distinct choice of config groups
    (split_values; composed: bases the caller has already). A job that fails this way is
    checked again in full, for Hydra's own message. Raises UsageError naming the first bad
    job.
    """
    bases: dict[tuple[str, ...], DictConfig] = dict(composed or {})
    plains: dict[tuple[str, ...], dict | None] = {}
    checked: list[Settings] = []
    csv_checked: set = set()
    for i, job in enumerate(jobs):
        try:
            base_key, values = split_values(job)
            if base_key not in bases:
                bases[base_key] = compose(base_key, source)
            if base_key not in plains:
                plains[base_key] = plain_task(bases[base_key])
            plain = plains[base_key]
            tree = with_values_plain(plain, values) if plain is not None else None
            settings = _settings_of(
                tree if tree is not None else with_values(bases[base_key], values)
            )
        except Exception:
            try:
                settings = check(job, source)
            except UsageError as err:
                where = f"job {i} ({' '.join(job)}): " if len(jobs) > 1 else ""
                raise UsageError(f"{where}{err}") from None
        if settings.data.name == "csv" and settings.data not in csv_checked:
            from regexp.train.data import load_csv

            load_csv(settings.data)
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
        sweep = o.value()
        ends = (sweep.start, sweep.end)
        values = [str(int(v)) if "int" in sweep.tags else repr(float(v)) for v in ends]
    return f"{o.get_key_element()}={','.join(values)}"


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
        raise _explain(err, overrides) from None
    return [list(job) for batch in batches for job in batch]
