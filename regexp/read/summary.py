"""A sweep's summary: its job folders read once into one table, which becomes the printed
summary, summary.csv / summary.md, summary.png and report.html (regexp.read.ending says
which process does it)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from rich.console import Console

from regexp.config.values import fmt
from regexp.figures.sweep import plot_sweep
from regexp.read.collect import read_sweep
from regexp.read.html_report import write_report
from regexp.read.outcome import write_outcome
from regexp.read.report import print_summary, terminal
from regexp.read.table import (
    differing_keys,
    plain_columns,
    summary_table,
    with_missing_jobs,
    write_summary,
)
from regexp.runs.layout import RunDir


def write_pictures(sweep_dir: Path, df: pd.DataFrame) -> list[Path]:
    """summary.png and report.html (the figure, the table, a thumbnail per run) of a sweep
    from read_sweep's table; the files written."""
    if not (df["status"] != "unknown").any():
        return []
    png, page = sweep_dir / "summary.png", sweep_dir / "report.html"
    plot_sweep(png, df, differing_keys(df), lambda run: RunDir(run).fit_file)
    numeric = df.sort_values("job", kind="stable")[plain_columns(df, False)]
    shown = numeric.map(fmt)
    shown["path"] = [os.path.relpath(p, sweep_dir) for p in numeric["path"]]
    runs = "1 run" if len(df) == 1 else f"{len(df)} runs"
    caption = f"{runs} of sweep {sweep_dir}; config keys that differ"
    write_report(page, shown, caption, list(numeric["path"]), [png], f"sweep {sweep_dir.name}")
    return [png, page]


def summarize(
    sweep_dir: Path, jobs: list[list[str]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the sweep's summary table, read_sweep's table it comes from); writes summary.csv and
    summary.md. jobs: every job's overrides, when known, so jobs never started are listed."""
    df = read_sweep(sweep_dir)
    table = summary_table(with_missing_jobs(df, jobs) if jobs else df)
    write_summary(sweep_dir, table)
    return table, df


def end_sweep(
    sweep_dir: Path,
    expected: int,
    console: Console | None = None,
    jobs: list[list[str]] | None = None,
) -> int:
    """Read the sweep's folders, write and print its summary, draw its pictures; 0 only
    when every expected job is ok."""
    console = console or terminal()
    table, df = summarize(sweep_dir, jobs)
    print_summary(console, table, sweep_dir, expected)
    write_outcome(sweep_dir, df, console)
    try:  # the table is the sweep's result; a figure is not worth a failure
        written = write_pictures(sweep_dir, df)
    except Exception as err:
        console.print(f"[yellow]sweep figures not drawn: {type(err).__name__}: {err}[/yellow]")
    else:
        if written:
            console.print("figures: " + " and ".join(p.name for p in written) + f" in {sweep_dir}")
    never = table["status"] == "missing"
    bad = int((~never & (table["status"] != "ok")).sum())
    missing = int(never.sum()) + max(expected - len(table), 0)
    if bad or missing:
        console.print(f"[red]{bad} job(s) not ok, {missing} missing[/red]")
        return 1
    return 0
