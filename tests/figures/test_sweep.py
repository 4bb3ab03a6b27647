"""regexp.figures.sweep and a sweep's report.html, on hand-made sweep folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regexp.figures import draw as plots
from regexp.figures.sweep import plot_sweep, sweep_panels
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
    for i, lam in enumerate(LAMS):
        seeds = [s for s in SEEDS if (lam, 16, s) != (0.1, 16, 3)]  # the failed job is out
        vals = [_val(lam, 16, s) for s in seeds]
        assert line.n[i] == len(seeds)
        assert line.mean[i] == pytest.approx(np.mean(vals))
        assert line.std[i] == pytest.approx(np.std(vals, ddof=1))


def test_only_seeds_swept_is_one_panel_per_metric(sweep):
    df = collect([sweep / "0", sweep / "1", sweep / "2"])  # seeds 1, 2, 3 of one setting
    panels = sweep_panels(df, differing_keys(df))
    assert [(p.metric, p.key) for p in panels] == [("train_mse", ""), ("val_mse", "")]
    assert panels[1].lines[0].n.tolist() == [3]


def test_summary_png_and_report_of_a_sweep(sweep):
    written = write_pictures(sweep, read_sweep(sweep))
    assert [p.name for p in written] == ["summary.png", "report.html"]
    with Image.open(sweep / "summary.png") as img:
        panels = json.loads(img.text["Description"])
        assert img.size[0] >= 1000 and img.size[1] >= 600  # metric rows and the fits
    assert {p["key"] for p in panels} == {"hidden_units", "penalty.lam"}
    page = (sweep / "report.html").read_text()
    body = page.split("<tbody>")[1]
    assert body.count("<tr>") == len(LAMS) * len(WIDTHS) * len(SEEDS)  # a row per job
    assert page.count("data:image/png;base64,") == 1 + 18  # summary.png + a thumbnail per job
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
    assert panels[1].lines[0].mean.tolist() == pytest.approx([0.8, 0.81])


def test_a_lone_point_shows_its_std_as_a_bar():
    """A seeds-only sweep has one x position: the band has no width there, the bar shows it."""
    from matplotlib.container import ErrorbarContainer
    from matplotlib.figure import Figure

    from regexp.figures.sweep import Line, Panel, _draw_panel

    line = Line("", ["all runs"], np.array([0.04]), np.array([0.008]), np.array([128]))
    ax = Figure().subplots()
    _draw_panel(ax, Panel("", "val_mse", None, False, [line]))
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    (segment,) = bars[0].lines[2][0].get_segments()
    np.testing.assert_allclose(segment[:, 1], [0.032, 0.048], rtol=1e-9)


def test_a_narrow_log_range_still_gets_several_labelled_ticks():
    """MSE means within a factor of 4 (seeds of one setting): a log axis ticked at 1, 2, 5
    would label one value or none; the panel labels at least three."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from regexp.figures.sweep import Line, Panel, _draw_panel

    line = Line("", ["adam", "sgd"], np.array([0.0062, 0.016]), np.array([0.0008, 0.002]),
                np.array([3, 3]))  # fmt: skip
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    _draw_panel(ax, Panel("optimizer.name", "val_mse", None, False, [line]))
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    shown = [t for t in ax.get_yticklabels() if lo <= t.get_position()[1] <= hi]
    assert ax.get_yscale() == "log" and len([t for t in shown if t.get_text()]) >= 3
