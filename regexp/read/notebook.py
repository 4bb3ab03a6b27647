"""`regexp notebook [FOLDER]`: the reproduced notebook table beside its published figures.

Reads every run's metrics.json under FOLDER (default outputs/reproduce, where `make
reproduce` puts its sweeps), matches runs to the notebook's models by `name`, prints one
table with our numbers next to the notebook's (regexp/read/notebook_figures.csv, with the cell
each figure comes from) and their ratio, one line per published ordering (PASS or FAIL with
the numbers) and the two spreads the notebook shows (how far training MSE falls from 8 to 1024
units; how far somany's validation MSE lies above its training MSE), ours beside its.
A failed ordering is a finding, not an error: the exit code is 0. Missing runs exit with 2.
No torch here, so the report starts fast.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from regexp.read.collect import collect

FIGURES = Path(__file__).with_name("notebook_figures.csv")
DEFAULT_ROOT = Path("outputs/reproduce")
METRICS = ("train_mse", "val_mse", "val_accuracy")
LABELS = {"train_mse": "train MSE", "val_mse": "val MSE", "val_accuracy": "val acc"}

# Every model of `make reproduce`, by Makefile target, in the notebook's order.
TARGETS: dict[str, tuple[str, ...]] = {
    "units": (
        "model_2units_a",
        "model_2units_b",
        "model_2units_c",
        "model_8units",
        "model_128units",
        "model_1024units",
        "model_8192units",
    ),
    "layers": ("model_1layer", "model_2layers", "model_3layers", "model_4layers"),
    "penalties": (
        "model_somany",
        "model_somany_l2_0p01",
        "model_somany_l2_0p001",
        "model_somany_l1_0p001",
    ),
    "classification": (
        "model_classification",
        "model_classification_l2_0p001",
        "model_classification_l2_0p01",
    ),
}
MODELS: tuple[str, ...] = tuple(m for models in TARGETS.values() for m in models)

# The published orderings. The width chain starts at model_2units_c: the table in cell [310]
# lists that seed only (the notebook shows the other two seeds to make the point that a
# 2-unit fit depends on its initial values).
WIDER = ("model_2units_c", "model_8units", "model_128units", "model_1024units", "model_8192units")
DEEPER = ("model_1layer", "model_2layers", "model_3layers", "model_4layers", "model_somany")
CLASSIFIERS = TARGETS["classification"]  # unpenalized, L2 0.001, L2 0.01
OVERFIT_RATIO = 2.0  # "well above": the notebook's somany has val/train = 4.8


@dataclass(frozen=True)
class Check:
    """One published ordering evaluated on one set of numbers; passed is None if it lacks any."""

    label: str
    passed: bool | None
    detail: str


Metrics = Mapping[str, Mapping[str, float]]  # model name -> {"train_mse": ..., ...}


def _value(metrics: Metrics, model: str, key: str) -> float | None:
    value = metrics.get(model, {}).get(key)
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _short(model: str) -> str:
    return model.removeprefix("model_")


def _decreasing(metrics: Metrics, models: Sequence[str], key: str) -> tuple[bool | None, str]:
    values = [_value(metrics, m, key) for m in models]
    if any(v is None for v in values):
        missing = [_short(m) for m, v in zip(models, values) if v is None]
        return None, f"no {key} for {', '.join(missing)}"
    # Strict: each model must beat the one before it, as in the published table.
    ok = all(b < a for a, b in zip(values, values[1:]))
    parts = [f"{_short(models[0])} {values[0]:.4g}"]
    for m, a, b in zip(models[1:], values, values[1:]):
        parts.append(f"{'>' if b < a else '<='} {_short(m)} {b:.4g}")
    return ok, " ".join(parts)


def _wider(metrics: Metrics) -> tuple[bool | None, str]:
    return _decreasing(metrics, WIDER, "train_mse")


def _deeper(metrics: Metrics) -> tuple[bool | None, str]:
    return _decreasing(metrics, DEEPER, "train_mse")


def _overfits(metrics: Metrics) -> tuple[bool | None, str]:
    train = _value(metrics, "model_somany", "train_mse")
    val = _value(metrics, "model_somany", "val_mse")
    if train is None or val is None:
        return None, "no train/val MSE for somany"
    ratio = val / train
    return ratio >= OVERFIT_RATIO, f"val {val:.4g} / train {train:.4g} = {ratio:.2f}x"


def _lowers_val(model: str) -> Callable[[Metrics], tuple[bool | None, str]]:
    def check(metrics: Metrics) -> tuple[bool | None, str]:
        base = _value(metrics, "model_somany", "val_mse")
        pen = _value(metrics, model, "val_mse")
        if base is None or pen is None:
            return None, f"no val MSE for {'somany' if base is None else _short(model)}"
        sign = "<" if pen < base else ">="
        return pen < base, f"{_short(model)} {pen:.4g} {sign} somany {base:.4g}"

    return check


def _penalties_help(metrics: Metrics) -> tuple[bool | None, str]:
    """unpenalized < L2 0.001 <= L2 0.01 in validation accuracy (the notebook: 0.88 < 0.8801
    <= 0.9029): a penalty helps, the stronger one at least as much."""
    names = ("unpenalized", "L2 0.001", "L2 0.01")
    values = [_value(metrics, m, "val_accuracy") for m in CLASSIFIERS]
    if any(v is None for v in values):
        missing = [n for n, v in zip(names, values) if v is None]
        return None, f"no val accuracy for {', '.join(missing)}"
    low, mid, high = values
    first, second = low < mid, mid <= high
    detail = (
        f"unpenalized {low:.4f} {'<' if first else '>='} L2 0.001 {mid:.4f} "
        f"{'<=' if second else '>'} L2 0.01 {high:.4f}"
    )
    return first and second, detail


CHECKS: tuple[tuple[str, Callable[[Metrics], tuple[bool | None, str]]], ...] = (
    ("wider models reach lower training MSE", _wider),
    ("deeper models reach lower training MSE", _deeper),
    (f"somany overfits (val MSE >= {OVERFIT_RATIO:g} x train MSE)", _overfits),
    ("L2 0.01 lowers somany's validation MSE", _lowers_val("model_somany_l2_0p01")),
    ("L2 0.001 lowers somany's validation MSE", _lowers_val("model_somany_l2_0p001")),
    ("classification: unpenalized < L2 0.001 <= L2 0.01 in accuracy", _penalties_help),
)


@dataclass(frozen=True)
class Spread:
    """A ratio the notebook shows between two of its figures, on one set of numbers."""

    label: str
    value: float | None
    detail: str


def _ratio(metrics: Metrics, top: tuple[str, str], bottom: tuple[str, str]) -> tuple:
    a, b = _value(metrics, *top), _value(metrics, *bottom)
    if a is None or b is None or b == 0:
        return None, "n/a"
    return a / b, f"{a:.4g} / {b:.4g} = {a / b:.2f}x"


# (label, numerator (model, metric), denominator): the targets are >= 3.5 and >= 3.
SPREADS = (
    (
        "training MSE, 8 units / 1024 units",
        ("model_8units", "train_mse"),
        ("model_1024units", "train_mse"),
    ),
    (
        "somany, validation MSE / training MSE",
        ("model_somany", "val_mse"),
        ("model_somany", "train_mse"),
    ),
)


def spreads(metrics: Metrics) -> list[Spread]:
    """The notebook's spreads on these numbers (ours or the notebook's)."""
    return [Spread(label, *_ratio(metrics, top, bottom)) for label, top, bottom in SPREADS]


def run_checks(metrics: Metrics) -> list[Check]:
    """Every published ordering on these numbers (ours or the notebook's)."""
    return [Check(label, *fn(metrics)) for label, fn in CHECKS]


def load_figures(path: Path | str = FIGURES) -> pd.DataFrame:
    """The notebook's published figures, indexed by model (empty cells are NaN)."""
    frame = pd.read_csv(path, dtype={"source_cell": str})
    return frame.set_index("model")


def load_runs(root: Path | str) -> pd.DataFrame:
    """One row per run under root (regexp.read.collect): name, status, path and our metrics.

    Where one name has several runs (a re-run into the same tree), the newest one counts;
    folders that are not runs, or have no name, are left out.
    """

    table = collect([Path(root)])
    table = table[table["name"].notna() & (table["status"] != "unknown")].copy()
    for key in METRICS:
        if key not in table:
            table[key] = float("nan")
    table[list(METRICS)] = table[list(METRICS)].apply(pd.to_numeric, errors="coerce")
    table["mtime"] = [Path(p).stat().st_mtime for p in table["path"]]
    table = table.sort_values("mtime").drop_duplicates("name", keep="last")
    table = table.rename(columns={"name": "model"})[["model", "status", "path", *METRICS]]
    return table.set_index("model")


def _as_metrics(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {
        str(model): {k: row[k] for k in METRICS if k in row and pd.notna(row[k])}
        for model, row in frame.iterrows()
    }


def ratio(ours: object, published: object) -> float | None:
    """ours / published where both are finite numbers and published is not 0."""
    numbers = [v for v in (ours, published) if isinstance(v, int | float) and math.isfinite(v)]
    if len(numbers) < 2 or published == 0:
        return None
    return float(ours) / float(published)  # type: ignore[arg-type]


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _print_report(ours: pd.DataFrame, published: pd.DataFrame, root: Path) -> list[Check]:

    console = Console()
    if not console.is_terminal:  # piped or under make: do not squeeze the table into 80 columns
        console = Console(width=180)
    table = Table(title=f"The notebook reproduced ({root}) beside its published figures")
    table.add_column("target")
    table.add_column("model")
    table.add_column("status")
    for key in METRICS:
        label = LABELS[key]
        table.add_column(f"{label}\nours", justify="right")
        table.add_column(f"{label}\nnotebook", justify="right", style="dim")
        table.add_column(f"{label}\nours/nb", justify="right")
    table.add_column("cell", style="dim")
    for target, models in TARGETS.items():
        for i, model in enumerate(models):
            mine = ours.loc[model] if model in ours.index else None
            pub = published.loc[model] if model in published.index else None
            cells = [target if i == 0 else "", _short(model)]
            cells.append("missing" if mine is None else str(mine["status"]))
            for key in METRICS:
                ours_value = None if mine is None else mine[key]
                pub_value = None if pub is None else pub[key]
                cells.append(_fmt(ours_value))
                cells.append(_fmt(pub_value))
                r = ratio(ours_value, pub_value)
                cells.append("" if r is None else f"{r:.2f}")
            cells.append("" if pub is None else _fmt(pub["source_cell"]))
            table.add_row(*cells, end_section=i == len(models) - 1)
    console.print(table)

    ours_checks = run_checks(_as_metrics(ours))
    published_checks = run_checks(_as_metrics(published))
    console.print("Published orderings, on our runs (and on the notebook's own figures):")
    for mine, pub in zip(ours_checks, published_checks):
        verdict = {True: "[green]PASS[/green]", False: "[red]FAIL[/red]", None: "[yellow]n/a [/]"}
        note = {True: "holds", False: "fails", None: "not printed"}[pub.passed]
        console.print(
            f"{verdict[mine.passed]}  {mine.label}: {mine.detail}  [dim](notebook: {note})[/dim]",
            highlight=False,
        )
    console.print("Spreads, ours beside the notebook's:")
    for mine, pub in zip(spreads(_as_metrics(ours)), spreads(_as_metrics(published))):
        console.print(f"      {mine.label}: {mine.detail}  [dim](notebook: {pub.detail})[/dim]")
    return ours_checks


def cli(argv: list[str]) -> int:
    """`regexp notebook [FOLDER]`: 0 when the report is complete, 2 when runs are missing."""
    if argv[:1] in (["-h"], ["--help"]):
        print("usage: regexp notebook [FOLDER]  (default: outputs/reproduce, see `make reproduce`)")
        return 0
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("regexp notebook: error: give at most one FOLDER (no options)", file=sys.stderr)
        return 2
    root = Path(argv[0]) if argv else DEFAULT_ROOT
    if not root.is_dir():
        print(
            f"regexp notebook: error: no folder {root}; run `make reproduce` first",
            file=sys.stderr,
        )
        return 2
    ours = load_runs(root)
    published = load_figures()
    _print_report(ours, published, root)
    missing = [m for m in MODELS if m not in ours.index]
    not_ok = [
        f"{m} ({ours.loc[m, 'status']})"
        for m in MODELS
        if m in ours.index and ours.loc[m, "status"] != "ok"
    ]
    if missing or not_ok:
        if missing:
            print(
                f"regexp notebook: error: {len(missing)} of {len(MODELS)} runs missing under "
                f"{root}: {', '.join(missing)} (run `make reproduce`)",
                file=sys.stderr,
            )
        if not_ok:
            print(f"regexp notebook: error: runs not ok: {', '.join(not_ok)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
