"""regexp.read.report: what run and sweep print at their end: a run's folder and metrics
(exit code 0 only for ok), a sweep's table of the columns that tell its jobs apart, cells
printed as text (never rich markup), and the console's settings off a terminal."""

from __future__ import annotations

import json
import math
import sys
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from regexp.read.report import console_settings, print_run, print_summary
from tests.conftest import settings
from tests.fixtures_runs import metrics


@pytest.fixture(scope="module")
def run_settings():
    return settings("name=mine", "hidden_units=[3,2]")


def _run_folder(tmp_path: Path, **changes) -> Path:
    m = metrics(0.0312345, device="cpu")
    m.update(changes)
    (tmp_path / "metrics.json").write_text(json.dumps(m))
    return tmp_path


def _rows(out: str) -> dict[str, str]:
    """The run table's rows as {metric: value}."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()]
    return {c[0]: c[1] for c in cells if len(c) == 2}


def test_an_ok_run_prints_its_metrics_and_folder_and_exits_0(tmp_path, run_settings, capsys):
    assert print_run(_run_folder(tmp_path), run_settings) == 0
    out = capsys.readouterr().out
    assert "mine: hidden_units=[3, 2]" in " ".join(out.split())  # rich wraps the title
    rows = _rows(out)
    assert rows["status"] == "ok" and rows["val_mse"] == "0.03123" and rows["n_params"] == "7"
    assert rows["device"] == "cpu" and "seed" not in rows  # the contract's columns only
    assert out.rstrip().endswith(f"run folder: {tmp_path}")


def test_a_diverged_run_prints_its_error_and_exits_1(tmp_path, run_settings, capsys):
    folder = _run_folder(tmp_path, status="diverged", val_mse=None, error="loss is nan")
    assert print_run(folder, run_settings) == 1
    out = capsys.readouterr().out
    assert _rows(out)["val_mse"] == "—" and _rows(out)["status"] == "diverged"
    assert "error: loss is nan" in out


def test_a_run_without_readable_metrics_says_so_on_stderr(tmp_path, run_settings, capsys):
    assert print_run(tmp_path, run_settings) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"regexp: run folder {tmp_path} has no readable metrics.json (")
    (tmp_path / "metrics.json").write_text("{broken")
    assert print_run(tmp_path, run_settings) == 1
    assert "has no readable metrics.json" in capsys.readouterr().err


def test_off_a_terminal_the_console_is_wide_and_plain(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert console_settings() == {"force_terminal": False, "width": 160, "color_system": None}
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert console_settings()["force_terminal"] is True


def _summary(table: pd.DataFrame, expected: int = 3) -> str:
    buf = StringIO()
    print_summary(Console(file=buf, width=200, color_system=None), table, Path("S"), expected)
    return buf.getvalue()


def _header(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if "┃" in line)
    return [c.strip() for c in line.split("┃")[1:-1]]


def test_the_sweep_table_shows_what_tells_jobs_apart(capsys):
    table = pd.DataFrame(
        {
            "job": [0, 1], "name": ["run", "run"], "seed": [1, 2], "status": ["ok", "ok"],
            "train_mse": [0.5, 0.5], "val_mse": [0.25, 0.125], "train_loss": [0.5, 0.5],
            "val_loss": [0.25, 0.125], "penalty": [0.0, 0.0], "n_params": [7, 7],
            "seconds": [1.0, 2.0],
        }
    )  # fmt: skip
    out = _summary(table)
    # always: job, status, train/val mse, seconds; else only what varies; no penalty: no loss
    assert _header(out) == ["job", "seed", "status", "train_mse", "val_mse", "seconds"]
    assert "sweep S (2 of 3 jobs)" in out
    assert out.rstrip().endswith("summary: S/summary.csv and summary.md")
    table["penalty"] = [0.0, 0.01]
    assert _header(_summary(table)) == [
        "job", "seed", "status", "train_mse", "val_mse", "val_loss", "penalty", "seconds"
    ]  # fmt: skip


def test_sweep_cells_are_text_not_markup_and_missing_numbers_read_so():
    table = pd.DataFrame(
        {"job": [0, 1], "name": ["[red]x[/red]", "[bold]y"], "status": ["ok", "failed"],
         "train_mse": [1 / 3, math.nan], "val_mse": [math.inf, None], "seconds": [1.0, 2.0]}
    )  # fmt: skip
    out = _summary(table)
    assert "[red]x[/red]" in out and "[bold]y" in out
    row0, row1 = (line for line in out.splitlines() if line.startswith("│"))
    assert [c.strip() for c in row0.split("│")[1:-1]] == ["0", "[red]x[/red]", "ok", "0.3333",
                                                           "inf", "1"]  # fmt: skip
    assert [c.strip() for c in row1.split("│")[1:-1]][3:5] == ["—", "—"]  # not "nan" or "<NA>"
