"""regexp.read.collect and regexp.read.compare on hand-made run and sweep folders (no training)."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from regexp.config.errors import UsageError
from regexp.read.collect import collect
from regexp.read.compare import cli, differing_keys
from regexp.read.summary import summarize
from tests.fixtures_runs import make_run, make_sweep, metrics

FAILED = metrics(None, status="failed", error="RuntimeError: boom\nTraceback line")


def _hidden_job(units: list[int], val_mse: float | None = 0.03, **kw):
    text = "[" + ",".join(map(str, units)) + "]"
    result = metrics(val_mse) if val_mse is not None else FAILED
    return dict(
        config={"hidden_units": units}, overrides=[f"hidden_units={text}"], result=result, **kw
    )


def _seed_job(seed: int, letter: str, val_mse: float):
    name = f"model_2units_{letter}"
    return dict(
        config={"seed": seed, "name": name},
        overrides=[f"seed={seed}", f"name={name}"],
        result=metrics(val_mse, seed=seed, name=name),
    )


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """Two sweeps and a single run, as a user's outputs/ folder would hold them."""
    hidden = make_sweep(
        tmp_path / "multirun" / "hidden",
        [_hidden_job([2], 0.05, plot=True), _hidden_job([8], 0.04), _hidden_job([16, 16], None)],
    )
    seeds = make_sweep(
        tmp_path / "multirun" / "seeds",
        [_seed_job(1, "a", 0.02), _seed_job(2, "b", 0.03), _seed_job(3, "c", 0.04)],
    )
    single = make_run(
        tmp_path / "runs" / "l2",
        config={"hidden_units": [8], "penalty.name": "l2", "penalty.lam": 0.01, "name": "l2"},
        overrides=["hidden_units=[8]", "penalty=l2"],
        plot=True,
    )
    return {"root": tmp_path, "hidden": hidden, "seeds": seeds, "single": single}


def _csv(tmp_path: Path, *args: str) -> pd.DataFrame:
    out = tmp_path / "table.csv"
    assert cli([*args, "--out", str(out)]) == 0
    return pd.read_csv(out)


# ------------------------------------------------------------------------------- collect


def test_collect_finds_runs_under_any_parent(tree):
    df = collect([tree["root"]])
    assert len(df) == 7
    assert df["job"].tolist()[:3] == [0, 1, 2]
    assert set(df["status"]) == {"ok", "failed"}
    row = df[df["name"] == "l2"].iloc[0]
    assert row["hidden_units"] == "[8]"
    assert row["penalty.name"] == "l2" and row["penalty.lam"] == 0.01
    assert row["ran_on"] == "cpu" and row["device"] == "auto"  # where it ran vs asked
    failed = df[df["status"] == "failed"].iloc[0]
    assert failed["hidden_units"] == "[16, 16]"
    assert failed["error"] == "RuntimeError: boom"  # first line only
    assert pd.isna(failed["val_mse"])


def test_collect_same_run_twice_is_one_row(tree):
    assert len(collect([tree["seeds"], tree["seeds"] / "0"])) == 3


def test_broken_folders_are_rows_with_a_status(tmp_path: Path):
    make_run(tmp_path / "good")
    corrupt = make_run(tmp_path / "corrupt")
    (corrupt / "metrics.json").write_text("{not json")
    notobj = make_run(tmp_path / "notobj")
    (notobj / "metrics.json").write_text("[1, 2]")
    make_run(tmp_path / "killed", result=None)
    foreign = tmp_path / "other_tool"
    (foreign / ".hydra").mkdir(parents=True)
    (foreign / ".hydra" / "config.yaml").write_text("lr: 1\n")
    (tmp_path / "mlflow_like").mkdir()
    (tmp_path / "mlflow_like" / "metrics.json").write_text('{"accuracy": 0.9}')
    sweep = make_sweep(tmp_path / "sweep", [{}])
    (sweep / "1").mkdir()  # a job killed before Hydra wrote anything
    (tmp_path / "not_a_run").mkdir()  # a plain empty folder is skipped, not a row

    df = collect([tmp_path]).set_index("path")
    status = {Path(p).relative_to(tmp_path).as_posix(): s for p, s in df["status"].items()}
    assert status == {
        "corrupt": "corrupt",
        "good": "ok",
        "killed": "incomplete",
        "mlflow_like": "unknown",
        "notobj": "corrupt",
        "other_tool": "unknown",
        "sweep/0": "ok",
        "sweep/1": "incomplete",
    }
    errors = {Path(p).name: e for p, e in df["error"].items()}
    assert errors["corrupt"] == "unreadable metrics.json (JSONDecodeError)"
    assert errors["notobj"] == "metrics.json is not a JSON object"
    assert errors["1"] == "empty folder"
    assert errors["other_tool"].startswith("not a regexp run")
    assert errors["mlflow_like"] == "metrics.json has no regexp status"
    assert errors["killed"].startswith("no metrics.json")
    assert pd.isna(errors["good"])


def test_collect_missing_config_file(tmp_path: Path):
    run = make_run(tmp_path / "r")
    (run / ".hydra" / "config.yaml").write_text("key: [unclosed\n")
    row = collect([run]).iloc[0]
    assert row["status"] == "ok"
    assert row["error"] == "unreadable .hydra/config.yaml (ParserError)"


# ------------------------------------------------------------------------ diff and groups


def test_diff_only_columns(tree, tmp_path):
    table = _csv(tmp_path, str(tree["seeds"]))
    assert list(table.columns) == [
        "path", "job", "name", "seed", "status",
        "train_mse", "val_mse", "train_loss", "val_loss", "penalty", "n_params", "epochs",
        "seconds",
    ]  # fmt: skip
    table = _csv(tmp_path, str(tree["hidden"]), str(tree["single"]))
    keys = [c for c in table.columns if c in differing_keys(collect([tree["root"]]))]
    assert keys == ["hidden_units", "penalty.name", "penalty.lam"]
    assert table["error"].notna().sum() == 1


def test_all_shows_every_key(tree, tmp_path):
    table = _csv(tmp_path, str(tree["seeds"]), "--all")
    assert {"activation", "optimizer.lr", "data.n_train", "train.epochs"} <= set(table.columns)
    assert "name" in table.columns and table.columns.tolist().count("name") == 1


def test_over_seed_gives_mean_and_sample_std(tree, tmp_path, capsys):
    table = _csv(tmp_path, str(tree["seeds"]), "--over", "seed")
    assert len(table) == 1
    row = table.iloc[0]
    assert row["n"] == 3 and row["excluded"] == 0
    assert row["val_mse_mean"] == pytest.approx(0.03)
    assert row["val_mse_std"] == pytest.approx(0.01)  # ddof=1
    out = capsys.readouterr().out
    assert "0.03 ± 0.01" in out and "ddof=1" in out


def test_group_by_counts_failed_runs_apart(tree, tmp_path):
    md = tmp_path / "t.md"
    cli([str(tree["hidden"]), "--group-by", "hidden_units", "--out", str(md)])
    text = md.read_text()
    assert "ddof=1" in text.splitlines()[0]
    table = _csv(tmp_path, str(tree["hidden"]), "--group-by", "hidden_units")
    assert table["hidden_units"].tolist() == ["[16, 16]", "[2]", "[8]"]
    assert table["n"].tolist() == [0, 1, 1]
    assert table["excluded"].tolist() == [1, 0, 0]
    assert pd.isna(table["val_mse_mean"][0]) and table["val_mse_mean"][2] == pytest.approx(0.04)


def test_over_merges_all_but_the_key(tree, tmp_path):
    # hidden sweep + single run differ in hidden_units and penalty; --over penalty.lam
    # still keeps penalty.name and hidden_units apart.
    table = _csv(tmp_path, str(tree["hidden"]), str(tree["single"]), "--over", "penalty.lam")
    assert list(table.columns[:4]) == ["hidden_units", "penalty.name", "n", "excluded"]
    assert len(table) == 4


def test_sort(tree, tmp_path):
    table = _csv(tmp_path, str(tree["seeds"]), "--sort", "-val_mse")
    assert table["val_mse"].tolist() == [0.04, 0.03, 0.02]
    table = _csv(tmp_path, str(tree["seeds"]), "--sort", "name")
    assert table["name"].tolist() == ["model_2units_a", "model_2units_b", "model_2units_c"]
    with pytest.raises(UsageError, match="--sort: no column 'nope'"):
        cli([str(tree["seeds"]), "--sort", "nope"])


def test_sort_a_column_of_numbers_and_lists(tree, tmp_path):
    make_run(tmp_path / "lams", config={"penalty.name": "l2", "penalty.lam": [0.1, 0.2]})
    table = _csv(tmp_path, str(tree["single"]), str(tmp_path / "lams"), "--sort", "penalty.lam")
    assert table["penalty.lam"].tolist() == ["0.01", "[0.1, 0.2]"]


# ------------------------------------------------------------------------------- outputs


def test_markdown_and_html(tree, tmp_path):
    md = tmp_path / "t.md"
    cli([str(tree["hidden"]), "--out", str(md)])
    text = md.read_text()
    assert "| hidden_units" in text and "| [16, 16]" in text and "failed" in text

    page = tmp_path / "t.html"
    cli([str(tree["hidden"]), str(tree["single"]), "--out", str(page)])
    text = page.read_text()
    # A thumbnail for hidden/0 and the single run, each linked to its full image
    assert text.count("data:image/png;base64,") == 2
    assert "<table" in text and "[16, 16]" in text
    assert text.count("<tr>") == 1 + 4  # the header, then one row per run
    links = {(page.parent / h).resolve() for h in re.findall(r"href='([^']+)'", text)}
    runs = (tree["single"], tree["hidden"] / "0")
    assert links == {(run / "plots" / "layers.png").resolve() for run in runs}


def test_html_thumbnails_are_small_and_link_the_full_image(tree, tmp_path):
    big = np.random.default_rng(0).random((600, 800, 3))  # noise: a PNG that compresses badly
    matplotlib.image.imsave(tree["hidden"] / "0" / "plots" / "layers.png", big)
    page = tmp_path / "sub" / "t.html"
    cli([str(tree["hidden"]), "--out", str(page)])
    text = page.read_text()
    (uri,) = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    thumb = base64.b64decode(uri)
    assert len(thumb) < 60_000 < (tree["hidden"] / "0" / "plots" / "layers.png").stat().st_size
    with Image.open(io.BytesIO(thumb)) as img:
        assert max(img.size) <= 200
    (href,) = re.findall(r"href='([^']+)'", text)
    assert href == "../multirun/hidden/0/plots/layers.png"


def test_many_thumbnails_sit_in_their_runs_rows(tmp_path):
    """From 8 runs on, thumbnails are made in threads: each still lands in its run's row."""
    jobs = [{"config": {"seed": i}, "overrides": [f"seed={i}"], "plot": True} for i in range(12)]
    sweep = make_sweep(tmp_path / "s", jobs)
    for i in range(12):  # a picture per run: one grey level each
        img = np.full((60, 80, 3), i / 12)
        matplotlib.image.imsave(sweep / str(i) / "plots" / "layers.png", img)
    page = tmp_path / "t.html"
    assert cli([str(sweep), "--sort", "seed", "--out", str(page)]) == 0
    cell = r"<tr>\n<td data-v='layers.png'><a href='s/(\d+)/plots/layers.png'>"
    rows = re.findall(cell + r"<img [^>]*src='data:image/png;base64,([^']+)'>", page.read_text())
    assert [int(job) for job, _ in rows] == list(range(12))
    for job, uri in rows:
        with Image.open(io.BytesIO(base64.b64decode(uri))) as img:
            level = np.asarray(img.convert("L"), dtype=float).mean()
        assert abs(level - 255 * int(job) / 12) < 3


def test_plot_draws_the_sweep_figure(tree, tmp_path):
    png = tmp_path / "s.png"
    assert cli([str(tree["hidden"]), "--plot", str(png)]) == 0
    with Image.open(png) as img:
        assert img.text["Title"] == "sweep summary: hidden_units"
        panels = json.loads(img.text["Description"])
    assert panels == [
        {"key": "hidden_units", "metric": m, "by": None} for m in ("train_mse", "val_mse")
    ]
    with pytest.raises(UsageError, match=r"--plot: unsupported extension '.jpg'"):
        cli([str(tree["hidden"]), "--plot", str(tmp_path / "s.jpg")])


def test_usage_errors(tree, tmp_path):
    with pytest.raises(UsageError, match="no such file or folder: .*missing"):
        cli([str(tmp_path / "missing")])
    with pytest.raises(UsageError, match=r"unsupported extension '\.txt'"):
        cli([str(tree["seeds"]), "--out", str(tmp_path / "t.txt")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no run found in: .*empty"):
        cli([str(tmp_path / "empty")])
    with pytest.raises(UsageError, match="--group-by: no key 'nope'"):
        cli([str(tree["seeds"]), "--group-by", "nope"])
    with pytest.raises(UsageError, match="compare: "):
        cli(["--bogus-flag", str(tree["seeds"])])


# ------------------------------------------------------------------------------- summary


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


def test_metrics_json_nulls_are_nan(tmp_path):
    run = make_run(tmp_path / "r", result=metrics(0.02, status="diverged"))
    data = json.loads((run / "metrics.json").read_text())
    data["train_loss"] = None
    (run / "metrics.json").write_text(json.dumps(data))
    row = collect([run]).iloc[0]
    assert row["status"] == "diverged" and pd.isna(row["train_loss"])


def test_named_job_folders_take_hydra_job_num(tmp_path):
    sweep = make_sweep(tmp_path / "s", [_hidden_job([2])])
    named = make_run(sweep / "hidden_units=[8]", **_hidden_job([8]))
    (named / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    num: 1\n")
    table, _ = summarize(sweep)
    assert table["job"].tolist() == [0, 1]
    assert table["hidden_units"].tolist() == ["[2]", "[8]"]
    assert collect([named / "metrics.json"])["job"].tolist() == [1]


def test_seed_is_a_config_key_even_after_a_foreign_row(tmp_path):
    (tmp_path / "a_foreign").mkdir()
    (tmp_path / "a_foreign" / "metrics.json").write_text('{"seed": 5}')
    make_run(tmp_path / "b", config={"seed": 1})
    make_run(tmp_path / "c", config={"seed": 2})
    df = collect([tmp_path])
    assert "seed" in df.attrs["config_keys"] and differing_keys(df) == ["seed"]
