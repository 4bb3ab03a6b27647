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
from regexp.config.values import isna
from regexp.runs.layout import METRIC_COLUMNS, REUSED, read_metrics

if TYPE_CHECKING:  # pandas is imported where a sweep is summarized, not at start-up
    import pandas as pd

SHOWN = (*METRIC_COLUMNS, "device")


ALWAYS = ("job", "status", "train_mse", "val_mse", "val_accuracy", "seconds")


def _fmt(value: object) -> str:
    if isna(value):
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def console_settings() -> dict[str, Any]:
    """What a Console printing to stdout is like: terminal or not, width, colours. Off a
    terminal (logs, CI) rich would wrap tables at 80 columns: 160 there."""
    if not sys.stdout.isatty():
        return {"force_terminal": False, "width": 160, "color_system": None}
    console = Console()
    return {"force_terminal": True, "width": console.width, "color_system": console.color_system}


def terminal() -> Console:
    return Console(**console_settings())


def print_run(out: Path, settings: Settings) -> int:
    """Print the run folder and its metrics; exit code 0 only for status ok."""
    console = Console(**console_settings())
    try:
        metrics = read_metrics(out)
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
    if REUSED in metrics:
        console.print(f"reused: trained earlier in {metrics[REUSED]}", markup=False)
    console.print(f"run folder: {out}")
    return 0 if status == "ok" else 1


def reused_line(origins: list[str], jobs: int) -> str:
    """`reused 3 of 5 jobs (trained earlier in FOLDER)`: the jobs filled from the store of
    finished jobs and the folders (sweeps, runs) they were first trained in."""
    places = sorted({str(Path(p).parent) if Path(p).name.isdigit() else p for p in origins})
    where = ", ".join(places[:2]) + (f" and {len(places) - 2} more" if len(places) > 2 else "")
    return f"reused {len(origins)} of {jobs} jobs (trained earlier in {where})"


def print_summary(
    console: Console, table: pd.DataFrame, sweep_dir: Path, expected: int, written: bool = True
) -> None:
    """A sweep's summary table as the terminal shows it: the columns that tell jobs apart
    (summary.csv and summary.md keep every column)."""
    shown = Table(title=f"sweep {sweep_dir} ({len(table)} of {expected} jobs)")
    keep = [
        c for c in table.columns if c in ALWAYS or table[c].astype(str).nunique(dropna=False) > 1
    ]
    if "penalty" in table and not table["penalty"].fillna(0).astype(float).any():
        keep = [c for c in keep if c not in ("train_loss", "val_loss", "penalty")]
    origins = [p for p in table.get(REUSED, []) if not isna(p)]
    table = table[keep]
    if REUSED in table:  # which jobs; where they were trained: the line below
        table = table.assign(**{REUSED: table[REUSED].map(lambda p: "" if isna(p) else "yes")})
        table = table.rename(columns={REUSED: "reused"})
    for col in table.columns:
        shown.add_column(str(col), justify="right" if table[col].dtype.kind in "if" else "left")
    for row in table.itertuples(index=False):  # Text: a cell is never read as markup
        shown.add_row(*(Text(_fmt(v)) for v in row))
    console.print(shown)
    if origins:
        console.print(reused_line(origins, len(table)), markup=False)
    if written:  # summary.csv and summary.md, written before
        console.print(f"summary: {sweep_dir / 'summary.csv'} and summary.md")
