"""A sweep's summary: its job folders read once into one table, which becomes the printed
summary, summary.csv / summary.md, best.yaml, summary.png, curves.png, parallel.png and
report.html, at the end of the sweep's own process (regexp/cli.py)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console

from regexp.config.values import fmt
from regexp.figures.sweep import plot_sweep
from regexp.read.best import Objective, RepeatedBest, named_best, objective_of, repeated_best
from regexp.read.collect import read_sweep
from regexp.read.html_report import Highlight, write_report
from regexp.read.outcome import write_outcome
from regexp.read.report import print_summary, terminal
from regexp.read.sweep_figures import draw_curves, draw_parallel
from regexp.read.table import (
    SUMMARY_METRICS,
    plain_columns,
    study_frame,
    summary_table,
    with_missing_jobs,
    write_summary,
)
from regexp.runs.layout import DONE, RunDir
from regexp.system.pools import beside

# an Optuna search's own figures, drawn into the sweep folder by read/outcome.py
OPTUNA_FIGURES = ("optuna_history.png", "optuna_importance.png")


def write_pictures(sweep_dir: Path, df: pd.DataFrame) -> list[Path]:
    """summary.png, curves.png, parallel.png (two study keys or more) and report.html (the
    best run, the figures, the table, a thumbnail per run) of a sweep from read_sweep's
    table; the files written."""
    if not (df["status"] != "unknown").any():
        return []
    frame, keys = study_frame(df)
    objective = objective_of(df)
    png, page = sweep_dir / "summary.png", sweep_dir / "report.html"
    summary_drawn = beside(functools.partial(plot_sweep, png, frame, keys, _fit_file))
    try:  # summary.png in a forked copy, where that gains, while this process goes on
        drawn = [draw_curves(sweep_dir, frame, keys, objective)]
        drawn.append(draw_parallel(sweep_dir, frame, keys, objective))
    finally:
        summary_drawn()
    figures = [p for p in [png, *drawn] if p is not None]
    theirs = [sweep_dir / name for name in OPTUNA_FIGURES if (sweep_dir / name).is_file()]
    numeric = df.sort_values("job", kind="stable")[plain_columns(df, False)]
    shown = numeric.map(fmt)
    shown["path"] = [os.path.relpath(p, sweep_dir) for p in numeric["path"]]
    runs = "1 run" if len(df) == 1 else f"{len(df)} runs"
    caption = f"{runs} of sweep {sweep_dir}; config keys that differ"
    repeated = repeated_best(frame, objective)
    best = (highlight(frame, keys, objective, named_best(sweep_dir, frame)) if repeated is None
            else configuration_highlight(repeated, keys))  # fmt: skip
    write_report(page, shown, caption, list(numeric["path"]), figures + theirs,
                 f"sweep {sweep_dir.name}", best)  # fmt: skip
    return [*figures, page]


def _fit_file(run: str | Path) -> Path:
    return RunDir(run).fit_file


def highlight(
    df: pd.DataFrame, keys: list[str], objective: Objective, row: pd.Series | None
) -> Highlight | None:
    """The report's best-run section for a row of the table (None: no section)."""
    if row is None:
        return None
    job = row.get("job")
    name = f"job {int(job)}" if job is not None and not pd.isna(job) else Path(row["path"]).name
    value = fmt(row.get(objective.metric))
    title = f"best run: {name}, {objective.metric} {value} ({objective.direction}d)"
    facts = [(k, fmt(row.get(k))) for k in keys]
    if "seed" in row and not pd.isna(row["seed"]):
        facts.append(("seed", fmt(row["seed"])))
    facts += [(m, fmt(row[m])) for m in SUMMARY_METRICS if m in row and not pd.isna(row[m])]
    folder = RunDir(row["path"])
    return Highlight(title, folder.path, facts, folder.main_figure())


def configuration_highlight(found: RepeatedBest, keys: list[str]) -> Highlight:
    """The report's best section for a sweep with repeats: the configuration with the best
    mean, its interval, its runner-up and whether they are told apart; its run nearest the
    mean as the folder and figure shown."""
    metric, row, best = found.objective.metric, found.run, found.best
    params = ", ".join(f"{k}={fmt(v)}" for k, v in best.params.items()) or "the one setting"
    low, high = best.mean.low, best.mean.high
    interval = "" if pd.isna(low) else f" [{fmt(low)}, {fmt(high)}]"
    title = (f"best configuration: {params}, {metric} mean {fmt(best.mean.estimate)}{interval} "
             f"over {best.mean.n} runs ({found.objective.direction}d)")  # fmt: skip
    facts = [(k, fmt(row.get(k))) for k in keys if k not in found.over]
    facts.append(("repeats", f"{best.mean.n} ({', '.join(found.over)})"))
    std = best.runs[metric].std(ddof=1)
    facts.append((f"{metric} mean ± std", f"{fmt(best.mean.estimate)} ± {fmt(std)}"))
    facts.append(("95 % t-interval of the mean", interval.strip() or "n/a"))
    if found.runner_up is not None and found.difference is not None:
        others = ", ".join(f"{k}={fmt(v)}" for k, v in found.runner_up.params.items())
        words = {True: "distinguishable", False: "not distinguishable", None: "too few runs"}
        method = f"paired over {', '.join(found.over)}" if found.paired else "Welch"
        d = found.difference
        facts.append(("runner-up", f"{others}: {fmt(found.runner_up.mean.estimate)}"))
        facts.append(("runner-up minus best", f"{fmt(d.estimate)} [{fmt(d.low)}, {fmt(d.high)}] "
                      f"({method}): {words[found.distinguishable]}"))  # fmt: skip
    job = row.get("job")
    name = f"job {int(job)}" if job is not None and not pd.isna(job) else Path(row["path"]).name
    facts.append(("run shown", f"{name}, the one nearest the mean"))
    facts += [(m, fmt(row[m])) for m in SUMMARY_METRICS if m in row and not pd.isna(row[m])]
    folder = RunDir(row["path"])
    return Highlight(title, folder.path, facts, folder.main_figure())


def summarize(
    sweep_dir: Path, jobs: list[list[str]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the sweep's summary table, read_sweep's table it comes from); writes summary.csv and
    summary.md."""
    table, df = tables(sweep_dir, jobs)
    write_summary(sweep_dir, table)
    return table, df


def tables(
    sweep_dir: Path, jobs: list[list[str]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the sweep's summary table, read_sweep's table it comes from). jobs: every job's
    overrides, when known, so jobs never started are listed."""
    df = read_sweep(sweep_dir)
    return summary_table(with_missing_jobs(df, jobs) if jobs else df), df


def write_ending(
    sweep_dir: Path,
    expected: int,
    console: Console | None = None,
    jobs: list[list[str]] | None = None,
    searching: bool = False,
) -> tuple[int, pd.DataFrame]:
    """The sweep's result: its folders read once, its summary written and printed, best.yaml
    (and an Optuna search's figures). (0 only when every expected job is ok or pruned, the
    table read, for draw_ending.) searching: an optimizing sweeper's search, whose trials not
    asked yet have no row; its pruned trials are not failures."""
    console = console or terminal()
    table, df = tables(sweep_dir, jobs)
    try:
        write_summary(sweep_dir, table)
    except OSError as err:  # a full disk: the table printed is all there is
        print_summary(console, table, sweep_dir, expected, written=False)
        print(f"regexp: error: {sweep_dir}: summary.csv and summary.md cannot be written "
              f"({err.strerror or err}); the table above is the sweep's summary",
              file=sys.stderr)  # fmt: skip
        return 1, df
    print_summary(console, table, sweep_dir, expected)
    try:
        write_outcome(sweep_dir, df, console)  # best.yaml, an Optuna study's figures
    except OSError as err:
        print(f"regexp: error: {sweep_dir}: best.yaml cannot be written ({err.strerror or err})",
              file=sys.stderr)  # fmt: skip
        return 1, df
    never = table["status"] == "missing"
    bad = int((~never & ~table["status"].isin(DONE)).sum())
    pruned = int((table["status"] == "pruned").sum())
    if pruned:
        console.print(f"{pruned} of {len(table)} trials pruned (stopped early by the pruner, "
                      "not failures; never the best)", markup=False)  # fmt: skip
    unasked = max(expected - len(table), 0)
    missing = int(never.sum()) + (0 if searching else unasked)
    if bad or missing:
        console.print(f"[red]{bad} job(s) not ok, {missing} missing[/red]")
    if searching and unasked:
        console.print(f"[red]{unasked} of {expected} trials not run: the search stopped "
                      f"(regexp sweep --resume {sweep_dir} runs them)[/red]")  # fmt: skip
    return int(bool(bad or missing or (searching and unasked))), df


def draw_ending(sweep_dir: Path, df: pd.DataFrame, console: Console | None = None) -> None:
    """The sweep's pictures and report.html from write_ending's table; a failure is a line
    (the table is the sweep's result, a figure is not worth a failure)."""
    console = console or terminal()
    try:
        written = write_pictures(sweep_dir, df)
    except Exception as err:
        console.print(f"[yellow]sweep figures not drawn: {type(err).__name__}: {err}[/yellow]")
    else:
        if written:
            console.print("figures: " + " and ".join(p.name for p in written) + f" in {sweep_dir}")


def end_sweep(
    sweep_dir: Path,
    expected: int,
    console: Console | None = None,
    jobs: list[list[str]] | None = None,
    searching: bool = False,
) -> int:
    """write_ending, then draw_ending: 0 only when every expected job is ok (or pruned)."""
    console = console or terminal()
    code, df = write_ending(sweep_dir, expected, console, jobs, searching)
    draw_ending(sweep_dir, df, console)
    return code
