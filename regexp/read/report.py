"""What run and sweep print at the end: the folder and a small rich table of its metrics."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from regexp.config.settings import Settings
from regexp.runs import layout as runs

if TYPE_CHECKING:  # pandas is imported where a sweep is summarized, not at start-up
    import pandas as pd

SHOWN = (*runs.METRIC_COLUMNS, "device")


ALWAYS = ("job", "status", "train_mse", "val_mse", "val_accuracy", "seconds")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return "—" if value is None else str(value)


def console_settings() -> dict[str, Any]:
    """What a Console printing to stdout is like: terminal or not, width, colours. Off a
    terminal (logs, CI) rich would wrap tables at 80 columns: 160 there."""
    if not sys.stdout.isatty():
        return {"force_terminal": False, "width": 160, "color_system": None}
    console = Console()
    return {"force_terminal": True, "width": console.width, "color_system": console.color_system}


def _console() -> Console:
    return Console(**console_settings())


def print_run(out: Path, settings: Settings) -> int:
    """Print the run folder and its metrics; exit code 0 only for status ok."""
    console = _console()
    try:
        metrics = runs.read_metrics(out)
    except (OSError, ValueError) as err:
        print(f"regexp: run folder {out} has no readable metrics.json ({err})", file=sys.stderr)
        return 1
    status = metrics.get("status", "?")
    table = Table(title=f"{settings.name}: hidden_units={list(settings.hidden_units)}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("status", status)
    for key in SHOWN:
        if key in metrics:
            table.add_row(key, _fmt(metrics[key]))
    console.print(table)
    if "error" in metrics:
        console.print(f"[red]error:[/red] {metrics['error']}")
    console.print(f"run folder: {out}")
    return 0 if status == "ok" else 1


def _sweep_pictures(console: Console, sweep_dir: Path, jobs: pd.DataFrame) -> None:
    from regexp.read.compare import write_sweep_pictures

    # the table above is the sweep's result; a figure is not worth a failure
    try:
        written = write_sweep_pictures(sweep_dir, jobs)
    except Exception as err:
        console.print(f"[yellow]sweep figures not drawn: {type(err).__name__}: {err}[/yellow]")
        return
    if written:
        console.print("figures: " + " and ".join(p.name for p in written) + f" in {sweep_dir}")


def import_ending() -> None:
    """Import what a sweep's ending uses (pandas, the summary's and figures' modules): a
    helper process or the figure pool does it while the sweep starts, not at its end."""
    import tabulate  # noqa: F401  (pandas' to_markdown imports it at first use, ~40 ms)

    import regexp.read.compare  # noqa: F401


def print_sweep(sweep_dir: Path, expected: int, console: Console | None = None) -> int:
    """Write summary.csv/.md from the job folders, print it, then draw the sweep's
    summary.png and report.html; 0 only if every job is ok."""
    from regexp.read.collect import summarize

    console = console or _console()
    table, jobs = summarize(sweep_dir)
    shown = Table(title=f"sweep {sweep_dir} ({len(table)} of {expected} jobs)")
    # The terminal gets what tells the jobs apart; summary.csv/.md keep every column.
    keep = [
        c for c in table.columns if c in ALWAYS or table[c].astype(str).nunique(dropna=False) > 1
    ]
    if "penalty" in table and not table["penalty"].fillna(0).astype(float).any():
        keep = [c for c in keep if c not in ("train_loss", "val_loss", "penalty")]
    table = table[keep]
    for col in table.columns:
        shown.add_column(str(col), justify="right" if table[col].dtype.kind in "if" else "left")
    for row in table.itertuples(index=False):  # Text: a cell is never read as markup
        shown.add_row(*(Text(_fmt(v)) for v in row))
    console.print(shown)
    console.print(f"summary: {sweep_dir / 'summary.csv'} and summary.md")
    _sweep_pictures(console, sweep_dir, jobs)
    bad = int((table["status"] != "ok").sum()) if "status" in table else len(table)
    missing = expected - len(table)
    if bad or missing:
        console.print(f"[red]{bad} job(s) not ok, {max(missing, 0)} missing[/red]")
        return 1
    return 0
