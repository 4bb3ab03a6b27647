"""regexp.read.compare on hand-made run and sweep folders (no training): the views, groups,
sorting and outputs of `regexp compare` (the folders: tests/read/conftest.py's tree)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from regexp.config.errors import UsageError
from regexp.read.collect import collect
from regexp.read.compare import cli, differing_keys
from tests.fixtures_runs import make_run, metrics
from tests.read.conftest import DRAW_VALUES


def _csv(tmp_path: Path, *args: str) -> pd.DataFrame:
    out = tmp_path / "table.csv"
    assert cli([*args, "--out", str(out)]) == 0
    return pd.read_csv(out)


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


def test_out_and_plot_never_write_into_a_run_or_sweep_folder(tree, tmp_path, capsys):
    """--out and --plot refuse any path inside a run's or sweep's folder (its own files are
    regexp's: summary.csv, metrics.json, ...) or one being claimed (its lock file only);
    the files there stay as they were. A folder above them, such as outputs/, is the user's."""
    (tree["hidden"] / "summary.csv").write_text("job,status\n0,ok\n")
    claimed = tmp_path / "claimed"
    claimed.mkdir()
    (claimed / ".regexp.lock").write_text("")
    inside = {
        "--out": [tree["hidden"] / "summary.csv", tree["hidden"] / "0" / "table.md",
                  tree["single"] / "plots" / "t.html", claimed / "t.csv"],
        "--plot": [tree["hidden"] / "summary.png", tree["seeds"] / "1" / "s.png"],
    }  # fmt: skip
    for flag, paths in inside.items():
        for path in paths:
            with pytest.raises(UsageError) as err:
                cli([str(tree["hidden"]), flag, str(path)])
            assert str(err.value).startswith(f"{flag}: {path} is inside the run or sweep folder")
            assert not path.exists() or path.read_text() == "job,status\n0,ok\n"
    assert cli([str(tree["hidden"]), "--out", str(tmp_path / "multirun" / "all.csv")]) == 0
    assert (tmp_path / "multirun" / "all.csv").is_file()


@pytest.mark.parametrize("broken", ["incomplete", "corrupt", "failed"])
def test_plot_over_runs_none_of_which_is_ok_is_refused(tmp_path, broken):
    result = {"incomplete": None, "corrupt": "{bad", "failed": metrics(None, status="failed")}
    run = make_run(tmp_path / "r", result=None)
    if result[broken] is not None:
        text = result[broken] if isinstance(result[broken], str) else json.dumps(result[broken])
        (run / "metrics.json").write_text(text)
    want = rf"^--plot: no finished ok run to draw in .*r \(1 {broken}\)"
    with pytest.raises(UsageError, match=want):
        cli([str(run), "--plot", str(tmp_path / "p.png")])
    assert not (tmp_path / "p.png").exists()


# ------------------------------------------------------------- intervals and pairs (issue 34)


def test_over_gives_each_mean_its_95_percent_t_interval(draws, tmp_path, capsys):
    table = _csv(tmp_path, str(draws), "--over", "data.seed").set_index("penalty.lam")
    assert list(table.columns[2:6]) == ["train_mse_mean", "train_mse_std", "train_mse_ci95_low",
                                        "train_mse_ci95_high"]  # fmt: skip
    row = table.loc[0.01]
    values = DRAW_VALUES[0.01]  # mean 0.023, s = 0.0022361, t(0.975, 4) = 2.7764
    assert row["val_mse_mean"] == pytest.approx(0.023)
    assert row["val_mse_ci95_high"] - row["val_mse_mean"] == pytest.approx(
        2.776445 * pd.Series(values).std() / 5**0.5, rel=1e-5
    )
    assert (table["val_mse_ci95_low"] <= table["val_mse_mean"]).all()
    assert (table["val_mse_mean"] <= table["val_mse_ci95_high"]).all()
    assert table.loc[0.001, "n"] == 4  # the failed run is not one of the values
    out = capsys.readouterr().out
    assert "0.023 ± 0.002236 [0.02022, 0.02578]" in out and "95 % t-interval of the mean" in out


def test_an_mse_interval_stops_at_0_and_an_accuracy_interval_at_1(tmp_path):
    """Two seeds far apart: the t-interval (t(0.975, 1) = 12.71) would reach below 0 for the
    MSE and beyond 1 for the accuracy; each stops where the metric does."""
    for seed, (mse, acc) in enumerate([(0.01, 0.80), (0.30, 0.99)], start=1):
        make_run(tmp_path / "s" / str(seed), config={"seed": seed}, overrides=[f"seed={seed}"],
                 result=metrics(mse, seed=seed, val_accuracy=acc))  # fmt: skip
    (row,) = _csv(tmp_path, str(tmp_path / "s"), "--over", "seed").to_dict("records")
    assert row["val_mse_ci95_low"] == 0.0 and row["val_mse_ci95_high"] > 1
    assert (row["val_accuracy_ci95_low"], row["val_accuracy_ci95_high"]) == (0.0, 1.0)


def test_a_group_of_one_run_has_no_interval(tree, tmp_path):
    table = _csv(tmp_path, str(tree["hidden"]), "--group-by", "hidden_units")
    assert table["val_mse_ci95_low"].isna().all()  # one ok run a group
