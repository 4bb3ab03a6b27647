"""Tables across run folders: `regexp compare` and the sweep's summary.csv / summary.md.

A run folder holds `.hydra/` (config.yaml, overrides.yaml) and `metrics.json`; a sweep
folder holds `multirun.yaml` and job folders 0/, 1/, ... Broken folders never raise: they
become rows with a status (incomplete, corrupt, unknown) and a short `error` note.
No torch here: compare must start fast.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from regexp.errors import ArgumentParser, UsageError
from regexp.runs import METRIC_COLUMNS, METRICS, write_atomic

STATUSES = ("ok", "diverged", "failed")  # what the runner writes into metrics.json
AGGREGATED = ("train_mse", "val_mse", "train_loss", "val_loss", "penalty")
AGGREGATED += ("train_accuracy", "val_accuracy", "seconds")
SUMMARY_METRICS = ("train_mse", "val_mse", "train_loss", "val_loss", "penalty")
SUMMARY_METRICS += ("train_accuracy", "val_accuracy", "n_params", "seconds")
META = ("path", "job", "name", "overrides", "status", "error")
# metrics.json repeats a few config keys; "device" there is where it ran (cpu/cuda), not
# the requested "auto", so it gets a column of its own.
METRIC_RENAMES = {"device": "ran_on"}
OUT_EXTENSIONS = (".csv", ".md", ".html")


# ---------------------------------------------------------------------------- reading


@dataclass
class _Run:
    path: Path
    job: int | None = None
    config: dict[str, Any] | None = None  # the raw config tree
    overrides: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    status: str = "unknown"
    errors: list[str] = field(default_factory=list)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster on big trees


def _read_yaml(path: Path) -> Any:
    with open(path) as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 (a safe loader)


def _fmt_value(value: Any) -> Any:
    """Config leaves as table cells: lists as '[16, 16]', scalars unchanged."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(_fmt_value(v)) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{'penalty': {'lam': [1, 2]}} -> {'penalty.lam': '[1, 2]'} (dotted keys, lists as text)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = _fmt_value(value)
    return flat


def _is_run_dir(path: Path) -> bool:
    return (path / ".hydra").is_dir() or (path / METRICS).is_file()


def _job_number(path: Path) -> int | None:
    """The job number of a sweep's job folder: its name, else hydra.yaml's hydra.job.num."""
    if path.name.isdigit():
        return int(path.name)
    if not (path.parent / "multirun.yaml").is_file():
        return None
    try:
        num = _read_yaml(path / ".hydra" / "hydra.yaml")["hydra"]["job"]["num"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return num if isinstance(num, int) else None


def _read_run(path: Path) -> _Run:
    run = _Run(path=path, job=_job_number(path))
    hydra_dir = path / ".hydra"
    if hydra_dir.is_dir():
        try:
            config = _read_yaml(hydra_dir / "config.yaml")
            if isinstance(config, dict):
                run.config = config
            else:
                run.errors.append(".hydra/config.yaml is not a mapping")
        except FileNotFoundError:
            run.errors.append("no .hydra/config.yaml")
        except (OSError, yaml.YAMLError) as exc:
            run.errors.append(f"unreadable .hydra/config.yaml ({type(exc).__name__})")
        try:
            overrides = _read_yaml(hydra_dir / "overrides.yaml")
            run.overrides = [str(o) for o in overrides] if isinstance(overrides, list) else []
        except (OSError, yaml.YAMLError):
            pass  # the config alone is enough; a missing overrides list is not worth a note

    metrics_path = path / METRICS
    if metrics_path.is_file():
        try:
            with open(metrics_path) as f:
                metrics = json.load(f)
        except (OSError, ValueError) as exc:
            run.status = "corrupt"
            run.errors.insert(0, f"unreadable metrics.json ({type(exc).__name__})")
            return run
        if not isinstance(metrics, dict):
            run.status = "corrupt"
            run.errors.insert(0, "metrics.json is not a JSON object")
            return run
        run.metrics = metrics
        if metrics.get("status") in STATUSES:
            run.status = metrics["status"]
            if metrics.get("error"):
                run.errors.insert(0, str(metrics["error"]).splitlines()[0])
        else:
            run.errors.insert(0, "metrics.json has no regexp status")
        return run

    if not any(path.iterdir()):
        run.status, run.errors = "incomplete", ["empty folder"]
    elif run.config is not None and "hidden_units" not in run.config:
        run.errors.insert(0, "not a regexp run (no hidden_units in config)")
    elif hydra_dir.is_dir():
        run.status = "incomplete"
        run.errors.insert(0, "no metrics.json (killed or still running)")
    else:
        run.status = "incomplete"
        run.errors.insert(0, "no .hydra/ and no metrics.json")
    return run


def _natural(path: Path) -> tuple:
    return (0, int(path.name), "") if path.name.isdigit() else (1, 0, path.name)


def _subdirs(path: Path) -> list[Path]:
    try:
        entries = list(os.scandir(path))
    except OSError:
        return []
    # Not following symlinks avoids loops; dot folders (.hydra, .git) are never runs.
    dirs = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and e.name[0] != "."]
    return sorted(dirs, key=_natural)


def _job_dirs(sweep_dir: Path) -> list[Path]:
    # Numbered folders (Hydra's default subdir), and run folders named some other way.
    return [d for d in _subdirs(sweep_dir) if d.name.isdigit() or _is_run_dir(d)]


def _find_runs(root: Path) -> list[Path]:
    """Run folders at or under root; a sweep's numbered job folders count even when empty."""
    if _is_run_dir(root):
        return [root]
    is_sweep = (root / "multirun.yaml").is_file()
    found: list[Path] = []
    for child in _subdirs(root):
        if is_sweep and child.name.isdigit():
            found.append(child)
        elif child.name != "__pycache__":
            found.extend(_find_runs(child))
    return found


def _row(run: _Run) -> dict[str, Any]:
    row: dict[str, Any] = {"path": str(run.path), "job": run.job}
    config = flatten(run.config) if run.config else {}
    row["name"] = config.pop("name", None) or run.metrics.get("name")
    row["overrides"] = " ".join(run.overrides)
    for key, value in config.items():
        row[key] = value
    row["status"] = run.status
    for key, value in run.metrics.items():
        if key in ("status", "error", "name"):
            continue
        key = METRIC_RENAMES.get(key, key)
        if key in config or key in row:
            continue  # seed: the config already says it
        row[key] = _fmt_value(value) if isinstance(value, list | dict) else value
    row["error"] = "; ".join(run.errors) or None
    return row


def _frame(runs: list[_Run]) -> pd.DataFrame:
    rows = [_row(r) for r in runs]
    # A key is a config key when any run's config has it (seed also sits in metrics.json).
    flat_keys = dict.fromkeys(k for r in runs if r.config for k in flatten(r.config))
    everything = dict.fromkeys(k for row in rows for k in row if k not in META and k != "name")
    config_keys = [k for k in everything if k in flat_keys]
    metric_keys = [k for k in everything if k not in flat_keys]
    metric_keys.sort(key=lambda k: METRIC_COLUMNS.index(k) if k in METRIC_COLUMNS else 99)
    columns = ["path", "job", "name", "overrides", *config_keys, "status", *metric_keys, "error"]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("job", "n_params", "epochs", "seed"):
        if col in df and df[col].map(lambda v: v is None or isinstance(v, int | float)).all():
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    for col in metric_keys:
        if col not in ("ran_on",):
            converted = pd.to_numeric(df[col], errors="coerce")
            if converted.notna().sum() == df[col].notna().sum():  # numbers only: keep them
                df[col] = converted
    df.attrs["config_keys"] = config_keys
    df.attrs["metric_keys"] = metric_keys
    return df


def collect(paths: list[Path]) -> pd.DataFrame:
    """One row per run found at or under each path (run, sweep or any parent folder).

    Columns: path, job, name, overrides, the flattened config keys (dotted), status,
    the metrics, error. `df.attrs` lists which columns are config keys and metrics.
    A path with no run under it becomes a row of status `unknown`.
    """
    runs: list[_Run] = []
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise UsageError(f"no such file or folder: {given}")
        if given.is_file() and given.name == METRICS:
            given = given.parent  # `compare run/metrics.json` means the run
        found = _find_runs(given) if given.is_dir() else []
        if not found:
            runs.append(_Run(path=given, errors=["no run found here"]))
        for path in found:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                runs.append(_read_run(path))
    return _frame(runs)


# ---------------------------------------------------------------------------- summary


def _override_key_value(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def write_summary(sweep_dir: Path) -> pd.DataFrame:
    """summary.csv and summary.md at the sweep root: one row per numbered job folder.

    Columns: job, name, one column per overridden key (a config group override such as
    `penalty=l2` shows the group's name as `penalty.name`), status, metrics (accuracy
    only when a job has it), error when a job has one. Works with failed or missing jobs.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise UsageError(f"not a sweep folder: {sweep_dir}")
    runs = [_read_run(d) for d in _job_dirs(sweep_dir)]
    runs.sort(key=lambda r: (r.job is None, r.job or 0, r.path.name))
    df = _frame(runs)

    # Columns from the overrides, in the order they were typed; values from the config.
    swept: dict[str, str] = {}  # override key -> column
    for run in runs:
        for key, _ in map(_override_key_value, run.overrides):
            if key in swept or key.startswith("hydra.") or not key:
                continue
            group = any(isinstance((r.config or {}).get(key), dict) for r in runs)
            swept[key] = f"{key}.name" if group else key
    table = pd.DataFrame({"job": df["job"], "name": df["name"]})
    for key, column in swept.items():
        if column in table:
            continue
        values = []
        for run, (_, row) in zip(runs, df.iterrows(), strict=True):
            typed = dict(map(_override_key_value, run.overrides)).get(key)
            value = row.get(column) if column in df else None
            values.append(typed if value is None or _isna(value) else value)
        table[column] = values
    table["status"] = df["status"]
    for col in SUMMARY_METRICS:
        optional = col.endswith("_accuracy")  # classification only
        if col in df and (not optional or df[col].notna().any()):
            table[col] = df[col]
        elif not optional:
            table[col] = float("nan")  # every job failed: keep the columns anyway
    if df["error"].notna().any():
        table["error"] = df["error"]

    write_atomic(sweep_dir / "summary.csv", table.to_csv(index=False, float_format="%.10g"))
    write_atomic(sweep_dir / "summary.md", _markdown(table) + "\n")
    return table


# ---------------------------------------------------------------------------- formatting


def _isna(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fmt(value: Any) -> str:
    """A cell as text: blanks for missing, integers without '.0', other floats to 4 digits."""
    if _isna(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e12:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def _markdown(table: pd.DataFrame) -> str:
    return table.map(fmt).to_markdown(index=False)


# ---------------------------------------------------------------------------- compare


def differing_keys(df: pd.DataFrame) -> list[str]:
    """Config keys whose values differ between the runs that have a config."""
    keys = df.attrs.get("config_keys", [])
    # Foreign folders and empty job folders have no config: they would make every key differ.
    has_config = df[keys].notna().any(axis=1) & (df["status"] != "unknown")
    sub = df.loc[has_config, keys].map(lambda v: None if _isna(v) else repr(v))
    return [k for k in keys if sub[k].nunique(dropna=False) > 1]


def _split_keys(text: str | None) -> list[str]:
    return [k.strip() for k in (text or "").split(",") if k.strip()]


def aggregate(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean and sample std (ddof=1) of each metric over the `ok` runs sharing `by`.

    Columns: the keys, n (ok runs), excluded (runs not ok: failed, diverged, incomplete,
    corrupt), then <metric>_mean and <metric>_std. Rows of foreign folders are dropped.
    """
    df = df[df["status"] != "unknown"].copy()
    metrics = [m for m in AGGREGATED if m in df and df[m].notna().any()]
    ok = df["status"] == "ok"
    df["_ok"] = ok.astype(int)
    df["_excluded"] = (~ok).astype(int)
    for m in metrics:
        df[m] = df[m].where(ok)  # not-ok runs count in `excluded`, not in the numbers
    if by:
        # Grouping on text keeps None/NaN keys as a group and mixed types comparable.
        keys = {k: df[k].map(fmt) for k in by}
        grouped = df.assign(**keys).groupby(by, sort=True, dropna=False)
    else:
        grouped = df.assign(_all="").groupby("_all")
    out = grouped.agg(
        n=("_ok", "sum"),
        excluded=("_excluded", "sum"),
        **{f"{m}_mean": (m, "mean") for m in metrics},
        **{f"{m}_std": (m, "std") for m in metrics},
    ).reset_index()
    if not by:
        out = out.drop(columns="_all")
    order = [*by, "n", "excluded"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std")]
    return out[order]


def _pm(mean: Any, std: Any) -> str:
    if _isna(mean):
        return ""
    return fmt(mean) if _isna(std) else f"{fmt(mean)} ± {fmt(std)}"


def _display_grouped(agg: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    shown = agg[[*by, "n", "excluded"]].map(fmt)
    for col in agg.columns:
        if col.endswith("_mean"):
            m = col[: -len("_mean")]
            shown[m] = [_pm(a, b) for a, b in zip(agg[col], agg[f"{m}_std"], strict=True)]
    return shown


def _short_paths(paths: pd.Series) -> tuple[pd.Series, str]:
    """Paths relative to the working folder, else to the runs' common folder (and a note)."""
    absolute = paths.map(os.path.abspath)
    cwd = os.getcwd()
    if all(os.path.commonpath([cwd, p]) == cwd for p in absolute):
        return absolute.map(os.path.relpath), ""
    if len(absolute) < 2:
        return paths, ""
    common = os.path.commonpath(list(absolute))
    return absolute.map(lambda p: os.path.relpath(p, common)), f"; paths under {common}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _plain_columns(df: pd.DataFrame, show_all: bool) -> list[str]:
    keys = df.attrs["config_keys"] if show_all else differing_keys(df)
    metrics = [m for m in df.attrs["metric_keys"] if df[m].notna().any()]
    if not show_all:
        metrics = [m for m in metrics if m in METRIC_COLUMNS]
    cols = ["path"] + (["job"] if df["job"].notna().any() else []) + ["name"]
    cols += [k for k in keys if k != "name"] + ["status"] + metrics
    return cols + (["error"] if df["error"].notna().any() else [])


def _sort(table: pd.DataFrame, spec: str | None, aliases: dict[str, str]) -> pd.DataFrame:
    if not spec:
        return table
    descending = spec.startswith("-")
    col = aliases.get(spec.lstrip("-"), spec.lstrip("-"))
    if col not in table:
        names = ", ".join(sorted(set(aliases) | set(table.columns)))
        raise UsageError(f"--sort: no column {col!r}; columns: {names}")
    order = dict(ascending=not descending, na_position="last", kind="stable")
    try:
        return table.sort_values(col, **order)
    except TypeError:  # numbers and text in one column (penalty.lam: 0.01 and "[0.01, 0]")
        return table.sort_values(col, key=lambda s: s.map(fmt), **order)


def _html_page(shown: pd.DataFrame, df: pd.DataFrame, caption: str) -> str:
    """One self-contained page: the table, then each run's plots as data: URIs."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>regexp compare</title>",
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
        "img{max-width:48%;margin:4px;border:1px solid #eee}</style></head><body>",
        f"<h1>regexp compare</h1><p>{html.escape(caption)}</p>",
        shown.to_html(index=False, escape=True, na_rep=""),
    ]
    for _, row in df.iterrows():
        pngs = sorted((Path(row["path"]) / "plots").glob("*.png"))
        if not pngs:
            continue
        title = " · ".join(fmt(v) for v in (row["path"], row["name"]) if fmt(v))
        parts.append(f"<h2>{html.escape(title)}</h2><div>")
        for png in pngs:
            try:
                data = base64.b64encode(png.read_bytes()).decode("ascii")
            except OSError:
                continue
            alt = html.escape(png.name)
            parts.append(f"<img alt='{alt}' title='{alt}' src='data:image/png;base64,{data}'>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _print(shown: pd.DataFrame, caption: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(120, 12 * len(shown.columns) + 40))  # don't squash pipes
    table = Table(title=caption, title_justify="left", header_style="bold")
    for col in shown.columns:
        numeric = pd.to_numeric(shown[col].replace("", None), errors="coerce").notna()
        right = col not in ("path", "name", "status") and numeric.sum() > 0
        right = right and numeric.sum() == (shown[col] != "").sum()
        table.add_column(col, justify="right" if right else "left", overflow="fold")
    colors = {"ok": "green", "diverged": "yellow", "failed": "red"}
    for _, row in shown.iterrows():
        # Text, not markup: a cell such as "[relu]" must print as it is.
        cells = [
            Text(v, style=colors.get(v, "magenta")) if col == "status" else Text(v)
            for col, v in row.items()
        ]
        table.add_row(*cells)
    console.print(table)


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="regexp compare",
        description="Compare run and sweep folders side by side.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="runs, sweeps, parents")
    p.add_argument("--all", action="store_true", help="show every config key, not only diffs")
    p.add_argument("--group-by", metavar="KEY[,KEY]", help="mean ± std per group of keys")
    p.add_argument("--over", metavar="KEY[,KEY]", help="aggregate over KEY (e.g. seed)")
    p.add_argument("--sort", metavar="COL", help="sort by COL ascending; -COL descending")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write .csv, .md or .html")
    return p


def _fix_sort_arg(argv: list[str]) -> list[str]:
    # argparse reads "--sort -val_mse" as a missing value followed by an unknown option.
    fixed, i = [], 0
    while i < len(argv):
        if argv[i] == "--sort" and i + 1 < len(argv):
            fixed.append(f"--sort={argv[i + 1]}")
            i += 2
        else:
            fixed.append(argv[i])
            i += 1
    return fixed


def _grouped_view(df: pd.DataFrame, args: argparse.Namespace) -> tuple:
    """(numeric table, shown table, caption) of mean ± std per group."""
    available = list(df.attrs["config_keys"]) + ["name", "status"]
    flag = "--group-by" if args.group_by else "--over"
    keys = _split_keys(args.group_by or args.over)
    for key in keys:
        if key not in available:
            raise UsageError(f"{flag}: no key {key!r}; keys: {', '.join(available)}")
    if args.group_by:
        by = keys
    else:  # --over seed: every key that differs, except seed (and the per-run name)
        by = [k for k in differing_keys(df) if k not in keys and k != "name"]
    agg = aggregate(df, by)
    aliases = {c[: -len("_mean")]: c for c in agg.columns if c.endswith("_mean")}
    agg = _sort(agg, args.sort, aliases)
    caption = (
        f"{_plural(len(df), 'run')} in {_plural(len(agg), 'group')}: mean ± std over ok runs "
        "(std: sample, ddof=1); n = ok runs, excluded = runs not ok"
    )
    return agg, _display_grouped(agg, by), caption


def _plain_view(df: pd.DataFrame, args: argparse.Namespace) -> tuple:
    """(numeric table, shown table, caption) with one row per run."""
    numeric = _sort(df, args.sort, {})[_plain_columns(df, args.all)]
    shown = numeric.map(fmt)
    shown["path"], where = _short_paths(numeric["path"])
    which = "all config keys" if args.all else "config keys that differ (--all for every key)"
    return numeric, shown, f"{_plural(len(df), 'run')}; {which}{where}"


def cli(argv: list[str]) -> int:
    """`regexp compare PATH… [--all] [--group-by K] [--over K] [--sort COL] [--out FILE]`."""
    try:
        args = _parser().parse_args(_fix_sort_arg(argv))
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    if args.out is not None and args.out.suffix.lower() not in OUT_EXTENSIONS:
        raise UsageError(f"--out: unsupported extension {args.out.suffix!r} (use .csv, .md, .html)")
    if args.group_by and args.over:
        raise UsageError("use either --group-by or --over, not both")
    df = collect(args.paths)
    if not (df["status"] != "unknown").any():
        raise UsageError("no run found in: " + ", ".join(str(p) for p in args.paths))

    view = _grouped_view if (args.group_by or args.over) else _plain_view
    numeric, shown, caption = view(df, args)
    _print(shown, caption)
    if args.out is not None:
        suffix = args.out.suffix.lower()
        if suffix == ".csv":
            write_atomic(args.out, numeric.to_csv(index=False))
        elif suffix == ".md":
            write_atomic(args.out, f"{caption}\n\n{shown.to_markdown(index=False)}\n")
        else:
            write_atomic(args.out, _html_page(shown, df, caption))
        print(f"wrote {args.out}")
    return 0
