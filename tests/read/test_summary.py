"""regexp.read.summary: a sweep's ending from its folders (hand-made, no training): summary.csv
and summary.md, the printed table, summary.png and report.html, and the exit code (0 only
when every expected job is ok; a figure that fails costs no job its result)."""

from __future__ import annotations

import io
import re

import pandas as pd
import yaml
from PIL import Image
from rich.console import Console

from regexp.read import summary
from regexp.read.collect import read_sweep
from regexp.read.summary import end_sweep, summarize, write_pictures
from tests.fixtures_runs import make_sweep, metrics


def test_summary_with_a_failed_job(tree):
    table, _ = summarize(tree["hidden"])
    expected = [
        "job", "name", "hidden_units", "status", "train_mse", "val_mse", "train_loss",
        "val_loss", "penalty", "n_params", "seconds", "error",
    ]  # fmt: skip
    assert list(table.columns) == expected
    csv = pd.read_csv(tree["hidden"] / "summary.csv")
    assert list(csv.columns) == expected
    assert csv["job"].tolist() == [0, 1, 2]
    assert csv["hidden_units"].tolist() == ["[2]", "[8]", "[16, 16]"]
    assert csv["status"].tolist() == ["ok", "ok", "failed"]
    assert csv["val_mse"].tolist()[:2] == [0.05, 0.04] and pd.isna(csv["val_mse"][2])
    md = (tree["hidden"] / "summary.md").read_text()
    assert md.count("\n") == 5 and "RuntimeError: boom" in md


def test_summary_group_overrides_and_missing_metrics(tmp_path):
    sweep = make_sweep(
        tmp_path / "s",
        [
            dict(
                config={"penalty.name": "l2", "penalty.lam": 0.01},
                overrides=["penalty=l2", "+experiment=somany", "hydra.launcher.n_jobs=2"],
                result=metrics(0.02, train_accuracy=0.9, val_accuracy=0.88),
            ),
            dict(config={"penalty.name": "l1"}, overrides=["penalty=l1"], result=None),
        ],
    )
    (sweep / "2").mkdir()
    table, _ = summarize(sweep)
    assert table.columns.tolist()[:5] == ["job", "name", "penalty.name", "experiment", "status"]
    assert table["penalty.name"].tolist()[:2] == ["l2", "l1"]
    assert table["experiment"].tolist()[0] == "somany"
    assert table["status"].tolist() == ["ok", "incomplete", "incomplete"]
    assert {"train_accuracy", "val_accuracy"} <= set(table.columns)
    assert "hydra.launcher.n_jobs" not in table.columns


def test_summary_of_an_empty_sweep(tmp_path):
    (tmp_path / "s").mkdir()
    table, _ = summarize(tmp_path / "s")
    assert table.empty and (tmp_path / "s" / "summary.csv").exists()


def _seeds(tmp_path, n=3, failed=()):
    jobs = []
    for i in range(n):
        result = (
            metrics(None, status="failed", error="RuntimeError: boom")
            if i in failed
            else metrics(0.1 * (i + 1), seed=i)
        )
        jobs.append(dict(config={"seed": i}, overrides=[f"seed={i}"], result=result))
    return make_sweep(tmp_path / "s", jobs)


def _ending(sweep, expected):
    buf = io.StringIO()
    code = end_sweep(sweep, expected, Console(file=buf, width=160, color_system=None))
    return code, " ".join(buf.getvalue().split())  # rich wraps a title wider than its table


def test_a_sweep_whose_jobs_are_all_ok_ends_with_0_and_its_files(tmp_path):
    sweep = _seeds(tmp_path)
    code, out = _ending(sweep, 3)
    assert code == 0
    assert f"sweep {sweep} (3 of 3 jobs)" in out
    assert f"summary: {sweep / 'summary.csv'} and summary.md" in out
    assert f"figures: summary.png and report.html in {sweep}" in out
    assert "not ok" not in out
    csv = pd.read_csv(sweep / "summary.csv")
    assert csv["seed"].tolist() == [0, 1, 2] and csv["val_mse"].tolist() == [0.1, 0.2, 0.3]
    with Image.open(sweep / "summary.png") as img:
        assert img.text["Title"] == "sweep summary: all runs"  # seeds collapse into one
    assert "<table class='runs'>" in (sweep / "report.html").read_text()


def test_a_failed_or_missing_job_ends_with_1_and_says_how_many(tmp_path):
    sweep = _seeds(tmp_path, failed=(1,))
    code, out = _ending(sweep, 3)
    assert code == 1 and "1 job(s) not ok, 0 missing" in out
    code, out = _ending(sweep, 4)  # a job that never wrote its folder
    assert code == 1 and "1 job(s) not ok, 1 missing" in out and "(3 of 4 jobs)" in out


def test_a_search_with_pruned_trials_ends_with_0_and_says_how_many(tmp_path):
    """Pruned trials are not failures: exit 0, a line saying so, their stopped epochs in the
    summary; a failed trial beside them still ends with 1."""
    jobs = [dict(config={"seed": i}, overrides=[f"seed={i}"],
                 result=metrics(0.1 * (i + 1), status=status, seed=i,
                                stopped_epoch=20 if status == "pruned" else None))
            for i, status in enumerate(("ok", "pruned", "pruned", "ok"))]  # fmt: skip
    sweep = make_sweep(tmp_path / "s", jobs)
    code, out = _ending(sweep, 4)
    assert code == 0 and "not ok" not in out
    assert "2 of 4 trials pruned (stopped early by the pruner, not failures; never the best)" in out
    csv = pd.read_csv(sweep / "summary.csv")
    assert csv["status"].tolist() == ["ok", "pruned", "pruned", "ok"]
    assert csv["stopped_epoch"].tolist()[1:3] == [20, 20] and csv["stopped_epoch"].isna()[0]
    assert yaml.safe_load((sweep / "best.yaml").read_text())["job"] == 0
    jobs[3]["result"] = metrics(None, status="failed", error="RuntimeError: boom")
    failed = make_sweep(tmp_path / "f", jobs)
    code, out = _ending(failed, 4)
    assert code == 1 and "1 job(s) not ok, 0 missing" in out


def test_a_figure_that_fails_is_reported_and_the_sweep_keeps_its_result(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(summary, "plot_sweep", broken)
    sweep = _seeds(tmp_path)
    code, out = _ending(sweep, 3)
    assert code == 0
    assert "sweep figures not drawn: RuntimeError: no fonts" in out
    assert (sweep / "summary.csv").is_file() and not (sweep / "report.html").exists()


def test_the_report_shows_paths_relative_to_the_sweep_and_says_what_it_is(tmp_path):
    sweep = _seeds(tmp_path, n=2)
    written = write_pictures(sweep, read_sweep(sweep))
    assert written == [sweep / "summary.png", sweep / "report.html"]
    page = (sweep / "report.html").read_text()
    assert "<title>sweep s</title>" in page
    assert f"2 runs of sweep {sweep}; config keys that differ" in page
    runs = page.split("<table class='runs'>")[1]  # past the best run's facts
    header = re.findall(r"<th>([^<]*)</th>", runs)
    assert header[:3] == ["figure", "path", "job"]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in runs.split("<tr>")[2:]]
    assert [row[1] for row in rows] == ["0", "1"]  # the path column: relative to the sweep
    assert str(sweep) not in "".join(row[1] for row in rows)


def test_a_sweep_without_runs_gets_no_pictures(tmp_path):
    (tmp_path / "s").mkdir()
    assert write_pictures(tmp_path / "s", read_sweep(tmp_path / "s")) == []
    assert list((tmp_path / "s").iterdir()) == []


def test_an_experiment_sweeps_best_run_is_named_by_its_experiment(tmp_path):
    jobs = [
        dict(
            config={"name": name, "hidden_units": [w], "train.epochs": 100 * w},
            overrides=[f"+experiment={name}"],
            result=metrics(0.1 / w, name=name),
        )
        for name, w in (("model_2units_a", 2), ("model_8units", 8))
    ]
    sweep = make_sweep(tmp_path / "s", jobs)
    written = write_pictures(sweep, read_sweep(sweep))
    assert [p.name for p in written] == ["summary.png", "report.html"]  # one key: no parallel
    page = (sweep / "report.html").read_text()
    assert "<h2>best run: job 1, val_mse 0.0125 (minimized)</h2>" in page
    assert "<tr><th>experiment</th><td>model_8units</td></tr>" in page
    with Image.open(sweep / "summary.png") as img:
        assert img.text["Title"] == "sweep summary: experiment"  # not train.epochs


def test_with_repeats_the_report_opens_with_the_best_configuration(tmp_path):
    """Two penalties over three seeds: the report names λ 0.01 by its mean and interval, says
    its runner-up is told apart, and shows the run nearest the mean, not the luckiest seed."""
    values = {0.01: (0.020, 0.024, 0.022), 0.001: (0.025, 0.027, 0.028)}
    jobs = [
        dict(config={"penalty.lam": lam, "seed": s}, overrides=[f"penalty.lam={lam}", f"seed={s}"],
             result=metrics(v, seed=s))
        for lam, vs in values.items() for s, v in enumerate(vs, start=1)
    ]  # fmt: skip
    sweep = make_sweep(tmp_path / "s", jobs)
    code, out = _ending(sweep, len(jobs))
    assert code == 0
    assert "best: penalty.lam=0.01, val_mse mean 0.022 [0.01703, 0.02697] over 3 runs" in out
    page = (sweep / "report.html").read_text()
    assert ("<h2>best configuration: penalty.lam=0.01, val_mse mean 0.022 [0.01703, 0.02697] "
            "over 3 runs (minimized)</h2>") in page  # fmt: skip
    assert "<tr><th>run shown</th><td>job 2, the one nearest the mean</td></tr>" in page
    assert "(paired over seed): distinguishable</td>" in page
