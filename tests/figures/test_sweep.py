"""regexp.figures.sweep and a sweep's report.html, on hand-made sweep folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from regexp.figures import draw as plots
from regexp.figures.sweep import band_note, plot_sweep, spread, sweep_panels
from regexp.read.collect import collect, read_sweep
from regexp.read.summary import write_pictures
from regexp.read.table import differing_keys
from regexp.runs.layout import RunDir
from tests.fixtures_runs import make_sweep, metrics

LAMS, WIDTHS, SEEDS = (0.001, 0.01, 0.1), (8, 16), (1, 2, 3)


def _val(lam: float, width: int, seed: int) -> float:
    return lam + width / 1000 + seed / 10_000


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """penalty.lam x hidden_units x seed, one failed job, each job with its fit saved."""
    jobs = []
    x = np.linspace(-1, 1, 20)
    for lam in LAMS:
        for width in WIDTHS:
            for seed in SEEDS:
                failed = (lam, width, seed) == (0.1, 16, 3)
                result = metrics(None if failed else _val(lam, width, seed), seed=seed)
                if failed:
                    result["status"] = "failed"
                jobs.append(
                    dict(
                        config={"penalty.lam": lam, "hidden_units": [width], "seed": seed},
                        overrides=[f"penalty.lam={lam}", f"hidden_units=[{width}]", f"seed={seed}"],
                        result=result,
                        plot=True,
                    )
                )
    root = make_sweep(tmp_path / "sweep", jobs)
    for i in range(len(jobs)):
        plots.save_fit(RunDir(root / str(i)).fit_file, x_grid=x, y_grid=x * i / 10, x_train=x,
                       y_train=x, x_val=x, y_val=x)  # fmt: skip
    return root


def test_one_panel_per_swept_key_and_metric_with_mean_and_std(sweep):
    df = collect([sweep])
    panels = sweep_panels(df, differing_keys(df))
    assert [(p.metric, p.key, p.by) for p in panels] == [
        ("train_mse", "hidden_units", "penalty.lam"),
        ("train_mse", "penalty.lam", "hidden_units"),
        ("val_mse", "hidden_units", "penalty.lam"),
        ("val_mse", "penalty.lam", "hidden_units"),
    ]
    by_lam = panels[3]
    assert by_lam.log_x and not panels[2].log_x
    line = by_lam.lines[1]  # hidden_units=[16]
    assert line.label == "hidden_units=[16]" and line.x == ["0.001", "0.01", "0.1"]
    assert by_lam.log_y and not by_lam.scatter  # MSE: a geometric spread
    for i, lam in enumerate(LAMS):
        seeds = [s for s in SEEDS if (lam, 16, s) != (0.1, 16, 3)]  # the failed job is out
        vals = np.array([_val(lam, 16, s) for s in seeds])
        centre, factor = np.exp(np.log(vals).mean()), np.exp(np.log(vals).std(ddof=1))
        assert line.n[i] == len(seeds)
        assert line.centre[i] == pytest.approx(centre)
        assert line.lo[i] == pytest.approx(max(centre / factor, vals.min()))
        assert line.hi[i] == pytest.approx(min(centre * factor, vals.max()))


def test_on_a_log_axis_the_spread_never_leaves_the_runs_range():
    """Seeds of a [2]-unit model: one run far above the others makes std exceed the mean, so
    mean - std is below zero; the band stays within the runs' own min and max."""
    vals = np.array([0.04, 0.045, 0.05, 0.6])
    assert vals.mean() - vals.std(ddof=1) < 0
    centre, lo, hi = spread(vals, log=True)
    assert centre == pytest.approx(np.exp(np.log(vals).mean()))
    assert vals.min() <= lo < centre < hi <= vals.max()
    assert lo == pytest.approx(0.04)  # the geometric band would reach below: clipped
    assert spread(vals, log=False) == pytest.approx(
        (vals.mean(), vals.mean() - vals.std(ddof=1), vals.mean() + vals.std(ddof=1))
    )
    centre, lo, hi = spread(np.array([0.3]), log=True)  # a lone run: no band
    assert centre == 0.3 and np.isnan(lo) and np.isnan(hi)


def test_a_key_of_many_values_is_a_point_per_run(tmp_path):
    """A search's λ (12 values, 2 seeds each, another key varying too): points, no line."""
    lams = np.geomspace(1e-6, 0.1, 12)
    jobs = [
        dict(
            config={"penalty.lam": float(lam), "optimizer.lr": lr, "seed": seed},
            overrides=[f"penalty.lam={lam}", f"optimizer.lr={lr}", f"seed={seed}"],
            result=metrics(0.03 + lam, seed=seed),
        )
        for i, lam in enumerate(lams)
        for seed, lr in ((1, 0.01), (2, 0.003 if i % 2 else 0.03))
    ]
    df = collect([make_sweep(tmp_path / "s", jobs)])
    panels = sweep_panels(df, ["penalty.lam", "optimizer.lr"])
    lam_panel = next(p for p in panels if p.key == "penalty.lam" and p.metric == "val_mse")
    assert lam_panel.scatter and lam_panel.log_x and lam_panel.by == "optimizer.lr"
    assert sum(len(line.x) for line in lam_panel.lines) == len(jobs)  # every run a point
    assert all(np.isnan(line.lo).all() for line in lam_panel.lines)
    lr_panel = next(p for p in panels if p.key == "optimizer.lr" and p.metric == "val_mse")
    assert not lr_panel.scatter and lr_panel.lines[0].x == ["0.003", "0.01", "0.03"]


def test_a_few_values_a_sampler_drew_are_points_without_a_legend_of_them(tmp_path):
    """An Optuna search's six completed trials: λ and lr drawn (many digits), so each panel
    is a point per run, and neither key is made a line per value of the other."""
    rng = np.random.default_rng(0)
    draws = [(float(10 ** rng.uniform(-6, -2)), float(10 ** rng.uniform(-3, -1))) for _ in range(6)]
    jobs = [
        dict(
            config={"penalty.lam": lam, "optimizer.lr": lr},
            overrides=[f"penalty.lam={lam}", f"optimizer.lr={lr}"],
            result=metrics(0.03 + lam),
        )
        for lam, lr in draws
    ]
    df = collect([make_sweep(tmp_path / "s", jobs)])
    panels = sweep_panels(df, ["penalty.lam", "optimizer.lr"])
    assert panels and all(p.scatter and p.by is None and p.log_x for p in panels)
    assert all(len(p.lines) == 1 and len(p.lines[0].x) == 6 for p in panels)
    typed = collect([make_sweep(tmp_path / "t", [
        dict(config={"penalty.lam": lam}, overrides=[f"penalty.lam={lam}"],
             result=metrics(0.03 + lam)) for lam in (0.0125, 0.001, 3e-05)])])  # fmt: skip
    assert not any(p.scatter for p in sweep_panels(typed, ["penalty.lam"]))  # typed: a line


def test_only_seeds_swept_is_one_panel_per_metric(sweep):
    df = collect([sweep / "0", sweep / "1", sweep / "2"])  # seeds 1, 2, 3 of one setting
    panels = sweep_panels(df, differing_keys(df))
    assert [(p.metric, p.key) for p in panels] == [("train_mse", ""), ("val_mse", "")]
    assert panels[1].lines[0].n.tolist() == [3]


def test_summary_png_and_report_of_a_sweep(sweep):
    written = write_pictures(sweep, read_sweep(sweep))
    # two study keys: parallel.png too (no curves: these histories have no val_mse)
    assert [p.name for p in written] == ["summary.png", "parallel.png", "report.html"]
    with Image.open(sweep / "summary.png") as img:
        panels = json.loads(img.text["Description"])
        assert img.size[0] >= 1000 and img.size[1] >= 600  # metric rows and the fits
        assert img.text["Comment"].startswith("bands and bars: the spread of the ok runs")
    assert {p["key"] for p in panels} == {"hidden_units", "penalty.lam"}
    page = (sweep / "report.html").read_text()
    body = page.split("<tbody>")[1]
    assert body.count("<tr>") == len(LAMS) * len(WIDTHS) * len(SEEDS)  # a row per job
    # summary.png, parallel.png, the best run's figure, and a thumbnail per job
    assert page.count("data:image/png;base64,") == 3 + 18
    assert set(re.findall(r"href='(\d+)/plots/layers.png'", page)) == {str(i) for i in range(18)}


def test_plot_sweep_of_classification_uses_accuracy(tmp_path):
    jobs = [
        dict(
            config={"penalty.lam": lam},
            overrides=[f"penalty.lam={lam}"],
            result=metrics(0.1, train_accuracy=0.9, val_accuracy=0.8 + lam),
        )
        for lam in (0.0, 0.01)
    ]
    df = collect([make_sweep(tmp_path / "c", jobs)])
    panels = plot_sweep(tmp_path / "c.png", df, differing_keys(df))
    assert [p.metric for p in panels] == ["train_accuracy", "val_accuracy"]
    assert panels[1].lines[0].centre.tolist() == pytest.approx([0.8, 0.81])
    assert not panels[1].log_y


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _longest(mask: np.ndarray) -> int:
    return max((stop - start for start, stop in _runs(mask)), default=0)


def _panels_in(path: Path) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A PNG's RGB pixels and its panels' frames (top, bottom, left, right), found as the
    black lines of 100 pixels or more (the spines), left to right."""
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    dark = rgb.max(axis=2) < 60
    long_cols = [_longest(dark[:, c]) >= 100 for c in range(rgb.shape[1])]
    long_rows = [_longest(dark[r]) >= 200 for r in range(rgb.shape[0])]
    (top, _), (bottom, _) = _runs(np.array(long_rows))[:2]
    sides = [start for start, _ in _runs(np.array(long_cols))]
    return rgb, [(top, bottom, left, right) for left, right in zip(sides[::2], sides[1::2])]


def _seeds(tmp_path: Path, vals: dict[str, tuple[float, ...]]) -> pd.DataFrame:
    """The runs of a sweep over seeds 1, 2, ... of each optimizer named in vals (an empty
    name: only seeds swept), the val_mse of each run given."""
    jobs = [
        dict(
            config={"seed": seed, **({"optimizer.name": opt} if opt else {})},
            overrides=[f"seed={seed}", *([f"optimizer={opt}"] if opt else [])],
            result=metrics(val, seed=seed),
        )
        for opt, runs in vals.items()
        for seed, val in enumerate(runs, start=1)
    ]
    return collect([make_sweep(tmp_path / "sweep", jobs)])


def test_a_lone_point_shows_its_std_as_a_bar(tmp_path):
    """A seeds-only sweep has one x position: the band has no width there, a bar in the
    line's colour shows the spread, over the height of the axes (fit to the spread)."""
    df = _seeds(tmp_path, {"": (0.032, 0.04, 0.048)})
    plot_sweep(tmp_path / "summary.png", df, differing_keys(df))
    rgb, panels = _panels_in(tmp_path / "summary.png")
    line = np.abs(rgb - [31, 119, 180]).max(axis=2) < 40  # matplotlib's first colour, C0
    assert len(panels) == 2  # train and val MSE
    for top, bottom, left, right in panels:
        tallest = max(_longest(line[top:bottom, c]) for c in range(left + 2, right - 1))
        assert tallest >= 0.8 * (bottom - top), (tallest, bottom - top)


def test_a_narrow_log_range_still_gets_several_labelled_ticks(tmp_path):
    """MSE means within a factor of 4 (seeds of one setting): a log axis ticked at 1, 2, 5
    would label one value or none; the panel labels at least three."""
    df = _seeds(tmp_path, {"adam": (0.0054, 0.0062, 0.007), "sgd": (0.014, 0.016, 0.018)})
    plot_sweep(tmp_path / "summary.png", df, differing_keys(df))
    rgb, panels = _panels_in(tmp_path / "summary.png")
    dark = rgb.max(axis=2) < 60
    assert len(panels) == 2
    for top, bottom, left, _ in panels:
        ticks = [top - 1 + a for a, _ in _runs(dark[top - 1 : bottom + 2, left - 3])]
        # a tick mark out of the left spine, and left of it a line of text through its row
        # (not the axis label: a column of text along the axis)
        texts = _runs(dark[:, left - 60 : left - 8].any(axis=1))
        labelled = [r for r in ticks if any(a <= r < b and b - a < 16 for a, b in texts)]
        assert len(labelled) >= 3, ticks


def test_the_bands_say_what_they_are(sweep, tmp_path):
    """A band of seeds is a spread of runs: the panels' titles and a caption say so; runs
    without repeats have no band and no caption."""
    df = collect([sweep])
    panels = sweep_panels(df, ["penalty.lam", "hidden_units"])
    assert "not an interval of their mean" in band_note(panels)
    lone = collect([sweep / "0", sweep / "3"])  # one run a point
    assert band_note(sweep_panels(lone, differing_keys(lone))) == ""
    plot_sweep(tmp_path / "lone.png", lone, differing_keys(lone))
    with Image.open(tmp_path / "lone.png") as img:
        assert "Comment" not in img.text


def test_a_sweep_whose_jobs_never_finished_draws_empty_panels(tmp_path):
    """Every job stopped before its metrics.json (an interrupted sweep): summary.png is still
    drawn, each panel empty, never an error."""
    jobs = [dict(config={"seed": s}, overrides=[f"seed={s}"], result=None) for s in (1, 2)]
    root = make_sweep(tmp_path / "sweep", jobs)
    df = read_sweep(root)
    assert set(df["status"]) == {"incomplete"} and "val_mse" not in df
    panels = plot_sweep(tmp_path / "summary.png", df, [])
    assert len(panels) == 2 and (tmp_path / "summary.png").stat().st_size > 1000
