"""Hydra overrides as regexp reads them: parsed once each by Hydra's own grammar, split into
the part that picks a composed config and the plain KEY=VALUE part set on top of it."""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from regexp.config.errors import UsageError

GROUPS = ("data", "penalty", "optimizer", "experiment")


@functools.cache
def _parser() -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


@functools.lru_cache(maxsize=65_536)
def parse_override(line: str) -> Any:
    """Hydra's parse of one override (every override regexp looks at goes through here); a
    sweep's jobs repeat most of theirs, and Hydra's grammar is slow to run. Raises UsageError."""
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

    Composing costs far more than setting a value; a sweep's jobs mostly differ in plain
    KEY=VALUE overrides only, so they can share a base config composed once.
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
