"""A user's own config files (--config-dir, --config-path): which file sets a key, so that an
error about a key read from a file names that file; and broken YAML as one line."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from regexp.config.errors import ConfigError, UsageError
from regexp.config.overrides import GROUPS, parse_override
from regexp.config.settings import ALLOWED


def _package(path: Path, root: Path) -> str:
    """Where a config file's keys land: its `# @package` line, else its group's folder."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                break
            words = line.lstrip("# ").split()
            if len(words) == 2 and words[0] == "@package":
                return "" if words[1] == "_global_" else words[1]
    return ".".join(path.parent.relative_to(root).parts)


def _keys(tree: object, prefix: str) -> Iterator[str]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            yield dotted
            yield from _keys(value, dotted)


def setting_file(key: str, folders: Sequence[str | None], chosen: Sequence[str] = ()) -> str | None:
    """The user's config file (under `folders`) that sets `key`, preferring one whose name
    is among `chosen` (the options picked on the command line); None when none does."""
    found = []
    for folder in filter(None, folders):
        root = Path(folder)
        for path in sorted(root.rglob("*.yaml")):
            try:
                tree = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if key in _keys(tree, _package(path, root)):
                found.append(path)
    found.sort(key=lambda p: p.stem not in chosen)
    return shown_path(found[0]) if found else None


def shown_path(path: Path) -> str:
    """A path as a user would type it: relative to the working folder when inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def chosen_file(group: str, overrides: Sequence[str], folders: Sequence[str | None]) -> Path | None:
    """The user's config file that the command line picks for a group (`+experiment=mine`:
    FOLDER/experiment/mine.yaml), None when it picks none of the user's."""
    for line in reversed(overrides):
        o = parse_override(line)
        if o.key_or_group != group or not isinstance(o.value(), str):
            continue
        for folder in filter(None, folders):
            path = Path(folder) / group / f"{o.value()}.yaml"
            if path.is_file():
                return path
        return None
    return None


def whole_file(path: Path, group: str = "") -> str | None:
    """What is wrong with a group's file as a whole (what it holds, where its keys land);
    None when nothing is, or when it is not YAML (told elsewhere)."""
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if tree is None:
        return "is empty: a config file holds KEY: VALUE lines"
    if not isinstance(tree, dict):
        kind = {list: "a list", str: "a string", bool: "true or false"}.get(type(tree), "a number")
        return f"holds {kind}, not KEY: VALUE lines"
    # data/, penalty/, optimizer/ files set their own block; experiment/ files (and a user's
    # own groups) set top-level keys
    if group and group not in ALLOWED and _package(path, path.parents[1]) == group:
        return (
            f"its keys land under `{group}.`: start it with the line `# @package _global_` "
            "to set top-level keys"
        )
    return None


def builds_on_ours(primary: Path) -> bool:
    """Whether a user's primary config lists regexp's own (`config`) in its defaults."""
    try:
        tree = yaml.safe_load(primary.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True  # told elsewhere
    defaults = tree.get("defaults") if isinstance(tree, dict) else None
    return isinstance(defaults, list) and "config" in defaults


def from_a_file(
    err: ConfigError,
    overrides: Sequence[str],
    folders: Sequence[str | None],
    primary: Path | None = None,
) -> UsageError:
    """err, prefixed with the user's file that sets its key, unless the command line does;
    a group's block as a whole (`experiment: unknown key`, `data: is missing`) is the file
    the command line picks for it, told what is wrong with it. A key that is missing is the
    fault of the file that should set it: the group's file picked, else the user's primary
    config (primary), which builds on regexp's."""
    path = chosen_file(err.key, overrides, folders)
    problem = path and whole_file(path, err.key)
    if problem:
        return UsageError(f"{shown_path(path)}: {problem}")
    if primary is not None and not builds_on_ours(primary):  # every key regexp's
        return UsageError(
            f"{shown_path(primary)}: {err.key} is not in it: a primary config of yours builds "
            "on regexp's; start it with `defaults: [config, _self_]`"
        )
    if str(err) == f"{err.key}: is missing":
        path = chosen_file(err.key.split(".")[0], overrides, folders)
        if path is not None:
            return UsageError(f"{shown_path(path)}: {err}")
        return err
    chosen = []
    for line in overrides:
        o = parse_override(line)
        key = o.key_or_group
        if key in GROUPS or "/" in key:
            chosen.append(str(o.value()))
        elif err.key == key or err.key.startswith(f"{key}."):
            return err
    file = setting_file(err.key, folders, chosen)
    return UsageError(f"{file}: {err}") if file else err


def yaml_error(err: BaseException) -> UsageError | None:
    """A YAML parse error anywhere in err's chain as one line: FILE:LINE: what is wrong."""
    while err is not None:
        if isinstance(err, yaml.YAMLError):
            mark = getattr(err, "problem_mark", None)
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            if mark is None:
                return UsageError(f"not valid YAML: {problem}")
            return UsageError(
                f"{shown_path(Path(mark.name))}:{mark.line + 1}: not valid YAML: {problem}"
            )
        err = err.__cause__ or err.__context__
    return None


def added_keys(overrides: Sequence[str]) -> list[str]:
    """The keys a user adds with +KEY=VALUE or ++KEY=VALUE (not a config group's choice)."""
    keys = []
    for line in overrides:
        o = parse_override(line)
        if (o.is_add() or o.is_force_add()) and o.key_or_group not in GROUPS:
            keys.append(o.key_or_group)
    return keys


def not_utf8(folders: Sequence[str | None]) -> UsageError | None:
    """The first of the user's config files that is not UTF-8 text, as one line."""
    for folder in filter(None, folders):
        for path in sorted(Path(folder).rglob("*.yaml")):
            try:
                path.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                return UsageError(f"{shown_path(path)}: not UTF-8 text ({err.reason})")
            except OSError:
                continue
    return None
