"""Overrides → composed config → validated settings, before any folder is made or work starts.

Hydra reports bad overrides (unknown keys, unknown group options, malformed syntax) with
long messages and exit code 1; here each becomes a UsageError of one line naming the key.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from regexp.core.errors import ConfigError, UsageError
from regexp.core.settings import Settings, validate

CONFIG_MODULE = "regexp.conf"
GROUPS = ("data", "penalty", "optimizer", "experiment")


def _group_options(group: str) -> list[str]:
    from importlib.resources import files

    folder = files(CONFIG_MODULE).joinpath(group)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _unparsable(overrides: Sequence[str]) -> str | None:
    """The first override Hydra's grammar rejects on its own (its errors may not quote it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for o in overrides:
        try:
            parser.parse_override(o)
        except Exception:
            return o
    return None


def _explain(err: Exception, overrides: Sequence[str]) -> UsageError:
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
        allowed = ", ".join(_group_options(group)) if group in GROUPS else "see conf/"
        return ConfigError(group, f"unknown option {option!r}; allowed: {allowed}")
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
        picks = [o.split("=", 1) for o in overrides if "=" in o]
        bad = next(
            (
                f"{k}={v}"
                for k, v in picks
                if k.lstrip("+~") in GROUPS and v not in _group_options(k.lstrip("+~"))
            ),
            None,
        )
        if bad is not None:
            group = bad.split("=", 1)[0].lstrip("+~")
            allowed = ", ".join(_group_options(group))
            return ConfigError(group, f"must name one option ({allowed}), got {bad!r}")
        return UsageError(f"malformed override: write KEY=VALUE (got {' '.join(overrides)!r})")
    if "LexerNoViableAlt" in text:  # a character Hydra's grammar does not know (ŕ, ?, ...)
        bad = next((o for o in overrides if o in text), text)
        return UsageError(f"malformed override {bad!r}: quote unusual characters ('a b')")
    if "Error parsing override" in text or "ParseError" in type(err).__name__:
        return UsageError(f"malformed override: {first}")
    return UsageError(first)


def compose(overrides: Sequence[str]) -> DictConfig:
    """Compose conf/config.yaml with the overrides, as Hydra would for one job."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            return hydra_compose("config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException, ValueError, TypeError) as err:
        raise _explain(err, overrides) from None


def check(overrides: Sequence[str]) -> Settings:
    """Compose and validate one job's overrides; for a CSV data set also read the file."""
    settings = _settings_of(compose(overrides))
    if settings.data.name == "csv":
        from regexp.core.data import load_csv

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
        from regexp.core.data import input_dim

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
    """Hydra's parse of one override; a sweep's jobs repeat most of theirs, and a parse costs
    ~1 ms."""
    return _parser().parse_override(line)


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
        and not key.startswith("hydra")
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


def check_jobs(jobs: Sequence[Sequence[str]]) -> list[Settings]:
    """check() every job of a sweep, composing once per distinct choice of config groups
    (split_values). A job that fails this way is checked again in full, for Hydra's own
    message. Raises UsageError naming the first bad job.
    """
    bases: dict[tuple[str, ...], DictConfig] = {}
    plains: dict[tuple[str, ...], dict | None] = {}
    checked: list[Settings] = []
    csv_checked: set = set()
    for i, job in enumerate(jobs):
        try:
            base_key, values = split_values(job)
            if base_key not in bases:
                bases[base_key] = compose(base_key)
                plains[base_key] = plain_task(bases[base_key])
            plain = plains[base_key]
            tree = with_values_plain(plain, values) if plain is not None else None
            settings = _settings_of(
                tree if tree is not None else with_values(bases[base_key], values)
            )
        except Exception:
            try:
                settings = check(job)
            except UsageError as err:
                where = f"job {i} ({' '.join(job)}): " if len(jobs) > 1 else ""
                raise UsageError(f"{where}{err}") from None
        if settings.data.name == "csv" and settings.data not in csv_checked:
            from regexp.core.data import load_csv

            load_csv(settings.data)
            csv_checked.add(settings.data)
        checked.append(settings)
    return checked


def expand_sweep(overrides: Sequence[str]) -> list[list[str]]:
    """The override list of every job a Hydra basic sweep would launch, in its order."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from regexp.core.hydra_shim import basic_sweeper

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
        batches = basic_sweeper().split_arguments(parsed, None)
    except (HydraException, ValueError) as err:
        raise _explain(err, overrides) from None
    return [list(job) for batch in batches for job in batch]
