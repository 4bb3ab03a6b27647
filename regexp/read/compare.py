"""`regexp compare`: one table of run, sweep or parent folders, mean ± std per group with the
mean's 95 % t-interval, or a paired comparison of two groups (regexp.read.paired).

The folders are read by regexp.read.collect (one row per run, broken folders as rows with a
status); this module picks the columns that tell runs apart, aggregates, sorts, prints,
and writes .csv, .md or .html. No torch here: compare must start fast.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from regexp.config.errors import UsageError
from regexp.config.output import LOCK
from regexp.config.values import fmt, isna
from regexp.figures.sweep import plot_sweep
from regexp.read.best import objective_of
from regexp.read.collect import collect
from regexp.read.html_report import write_report
from regexp.read.paired import paired_table, parse_paired, shown_paired
from regexp.read.statistics import t_bounds
from regexp.read.table import differing_keys, plain_columns, study_frame, support
from regexp.runs.layout import RunDir, SweepDir, write_atomic
from regexp.system.flags import ArgumentParser

AGGREGATED = ("train_mse", "val_mse", "train_loss", "val_loss", "penalty")
AGGREGATED += ("train_accuracy", "val_accuracy", "seconds")
OUT_EXTENSIONS = (".csv", ".md", ".html")


# ---------------------------------------------------------------------------- compare


def _split_keys(text: str | None) -> list[str]:
    return [k.strip() for k in (text or "").split(",") if k.strip()]


def aggregate(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean and sample std (ddof=1) of each metric over the `ok` runs sharing `by`, and the
    mean's 95 % t-interval.

    Columns: the keys, n (ok runs), excluded (runs not ok: pruned, failed, diverged,
    incomplete, corrupt), then <metric>_mean, <metric>_std, <metric>_ci95_low and
    <metric>_ci95_high.
    Rows of foreign folders are dropped.
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
        **{f"{m}_count": (m, "count") for m in metrics},
    ).reset_index()
    if not by:
        out = out.drop(columns="_all")
    out = with_intervals(out, metrics)
    stats = ("mean", "std", "ci95_low", "ci95_high")
    order = [*by, "n", "excluded"] + [f"{m}_{s}" for m in metrics for s in stats]
    return out[order]


# ------------------------------------------------------------ intervals (issue 34)


def with_intervals(agg: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """<metric>_ci95_low and _high: the 95 % t-interval of each group's mean, from its mean,
    std and count of values (<metric>_count, dropped here); NaN under two values."""
    agg = agg.copy()
    for m in metrics:
        count = agg.pop(f"{m}_count")
        agg[f"{m}_ci95_low"], agg[f"{m}_ci95_high"] = t_bounds(
            agg[f"{m}_mean"], agg[f"{m}_std"], count, support=support(m)
        )
    return agg


def _pm(mean: Any, std: Any, low: Any = None, high: Any = None) -> str:
    """mean ± std [low, high]: what a grouped cell shows."""
    if isna(mean):
        return ""
    text = fmt(mean) if isna(std) else f"{fmt(mean)} ± {fmt(std)}"
    return text if isna(low) or isna(high) else f"{text} [{fmt(low)}, {fmt(high)}]"


def _display_grouped(agg: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    shown = agg[[*by, "n", "excluded"]].map(fmt)
    for col in agg.columns:
        if col.endswith("_mean"):
            m = col[: -len("_mean")]
            columns = [agg[f"{m}_{s}"] for s in ("mean", "std", "ci95_low", "ci95_high")]
            shown[m] = [_pm(*cells) for cells in zip(*columns, strict=True)]
    return shown


def _paired_view(df: pd.DataFrame, args: argparse.Namespace) -> tuple:
    """(numeric table, shown table, caption) of --paired KEY=A,B --over PAIR."""
    spec = parse_paired(args.paired, args.over, list(df.attrs["config_keys"]))
    objective = objective_of(df)
    metric = args.metric or objective.metric
    lower = (objective.direction == "minimize") if metric == objective.metric else (
        not metric.endswith("accuracy"))  # fmt: skip
    table = paired_table(df, spec, metric, lower)
    shown, caption = shown_paired(table, spec)
    return table, shown, caption


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


def _print(shown: pd.DataFrame, caption: str) -> None:

    console = Console()
    if not console.is_terminal:
        # don't squash pipes: as wide as the longest cell of each column needs
        widest = [max([len(str(c)), *shown[c].astype(str).str.len()]) for c in shown.columns]
        console = Console(width=max(120, sum(widest) + 3 * len(widest) + 4))
    table = Table(title=caption, title_justify="left", header_style="bold")
    for col in shown.columns:
        numeric = pd.to_numeric(shown[col].replace("", None), errors="coerce").notna()
        right = col not in ("path", "name", "status") and numeric.sum() > 0
        right = right and numeric.sum() == (shown[col] != "").sum()
        table.add_column(col, justify="right" if right else "left", overflow="fold")
    colors = {"ok": "green", "pruned": "cyan", "diverged": "yellow", "failed": "red"}
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
    p.add_argument("--plot", type=Path, metavar="FILE", help="also draw the sweep figure (.png)")
    p.add_argument("--paired", metavar="KEY=A,B", help="B against A where runs pair on --over's "
                   "key (e.g. --paired penalty.lam=0.01,0.001 --over data.seed)")  # fmt: skip
    p.add_argument("--metric", metavar="M", help="--paired's metric (default: the objective)")
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
        f"{_plural(len(df), 'run')} in {_plural(len(agg), 'group')}: mean ± std [95 % "
        "t-interval of the mean] over ok runs (std: sample, ddof=1); n = ok runs, excluded = "
        "runs not ok"
    )
    return agg, _display_grouped(agg, by), caption


def _plain_view(df: pd.DataFrame, args: argparse.Namespace) -> tuple:
    """(numeric table, shown table, caption) with one row per run."""
    numeric = _sort(df, args.sort, {})[plain_columns(df, args.all)]
    shown = numeric.map(fmt)
    shown["path"], where = _short_paths(numeric["path"])
    which = "all config keys" if args.all else "config keys that differ (--all for every key)"
    return numeric, shown, f"{_plural(len(df), 'run')}; {which}{where}"


def _check_writable(flag: str, path: Path) -> None:
    """UsageError unless a file can be written at path (checked before any work)."""
    if path.is_dir():
        raise UsageError(f"{flag}: {path} is a folder; give a file name")
    folder = path.absolute().parent  # made when missing: its first existing ancestor counts
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{flag}: cannot write {path}: {folder} is a file")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{flag}: cannot write {path}: permission denied")


def _check_not_owned(flag: str, path: Path) -> None:
    """UsageError when path lies in a run's or sweep's folder (or one being claimed): every
    file there is regexp's (summary.csv, metrics.json, ...), and a folder that holds
    results is never written into; a table or figure of compare goes elsewhere."""
    for folder in path.resolve().parents:
        if (
            (folder / LOCK).exists()
            or RunDir(folder).looks_like_run()
            or SweepDir(folder).is_sweep()
        ):
            raise UsageError(
                f"{flag}: {path} is inside the run or sweep folder {folder}, whose files are "
                "regexp's; write it outside that folder"
            )


def _check_drawable(df: pd.DataFrame, paths: list[Path]) -> None:
    """--plot draws finished runs: UsageError when none is ok (incomplete, corrupt, failed)."""
    if not (df["status"] == "ok").any():
        found = ", ".join(f"{n} {s}" for s, n in df["status"].value_counts().items())
        where = ", ".join(map(str, paths))
        raise UsageError(f"--plot: no finished ok run to draw in {where} ({found})")


def _write(args: argparse.Namespace, df: pd.DataFrame, numeric: pd.DataFrame,
           shown: pd.DataFrame, caption: str) -> None:  # fmt: skip
    """--plot's figure and --out's file."""
    figures = []
    if args.plot is not None:
        frame, keys = study_frame(df)
        plot_sweep(args.plot, frame, keys, lambda run: RunDir(run).fit_file)
        print(f"wrote {args.plot}")
        figures.append(args.plot)
    if args.out is None:
        return
    suffix = args.out.suffix.lower()
    if suffix == ".csv":
        write_atomic(args.out, numeric.to_csv(index=False))
    elif suffix == ".md":
        write_atomic(args.out, f"{caption}\n\n{shown.to_markdown(index=False)}\n")
    else:
        grouped = bool(args.group_by or args.over or args.paired)
        run_dirs = None if grouped else list(df.loc[numeric.index, "path"])
        size = write_report(args.out, shown, caption, run_dirs, figures, "regexp compare")
        print(f"wrote {args.out} ({size / 1e6:.2f} MB)")
        return
    print(f"wrote {args.out}")


def cli(argv: list[str]) -> int:
    """`regexp compare PATH… [--all] [--group-by K] [--over K] [--sort COL] [--out FILE]
    [--plot FILE.png] [--paired KEY=A,B --over PAIR [--metric M]]`."""
    try:
        args = _parser().parse_args(_fix_sort_arg(argv))
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    if args.out is not None and args.out.suffix.lower() not in OUT_EXTENSIONS:
        raise UsageError(f"--out: unsupported extension {args.out.suffix!r} (use .csv, .md, .html)")
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise UsageError(f"--plot: unsupported extension {args.plot.suffix!r} (use .png)")
    if args.group_by and args.over:
        raise UsageError("use either --group-by or --over, not both")
    if args.metric and not args.paired:
        raise UsageError("--metric: goes with --paired")
    for flag, path in (("--out", args.out), ("--plot", args.plot)):
        if path is not None:
            _check_not_owned(flag, path)
            _check_writable(flag, path)
    df = collect(args.paths)
    if not (df["status"] != "unknown").any():
        raise UsageError("no run found in: " + ", ".join(str(p) for p in args.paths))
    if args.plot is not None:
        _check_drawable(df, args.paths)

    view = _grouped_view if (args.group_by or args.over) else _plain_view
    view = _paired_view if args.paired else view
    numeric, shown, caption = view(df, args)
    _print(shown, caption)
    try:
        _write(args, df, numeric, shown, caption)
    except OSError as err:
        raise UsageError(f"cannot write {err.filename}: {err.strerror}") from None
    return 0
