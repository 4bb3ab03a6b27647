"""The notebook's experiment configs, its published figures, and the reproduce report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from regexp.config.compose import compose
from regexp.read import notebook
from regexp.read.notebook_checks import run_checks

# (name, hidden_units, seed, penalty, lam, data) as the notebook's cells set them
NOTEBOOK_MODELS = [
    ("model_2units_a", [2], 87462, "none", None, "regression"),
    ("model_2units_b", [2], 874625, "none", None, "regression"),
    ("model_2units_c", [2], 8746257, "none", None, "regression"),
    ("model_8units", [8], 8746, "none", None, "regression"),
    ("model_128units", [128], 8746, "none", None, "regression"),
    ("model_1024units", [1024], 8746, "none", None, "regression"),
    ("model_8192units", [8192], 8746, "none", None, "regression"),
    ("model_1layer", [16], 8746, "none", None, "regression"),
    ("model_2layers", [16] * 2, 8746, "none", None, "regression"),
    ("model_3layers", [16] * 3, 8746, "none", None, "regression"),
    ("model_4layers", [16] * 4, 8746, "none", None, "regression"),
    ("model_somany", [1024] * 5, 8746, "none", None, "regression"),
    ("model_somany_l2_0p01", [1024] * 5, 8746, "l2", 0.01, "regression"),
    ("model_somany_l2_0p001", [1024] * 5, 8746, "l2", 0.001, "regression"),
    ("model_somany_l1_0p001", [1024] * 5, 8746, "l1", 0.001, "regression"),
    ("model_classification", [1024] * 5, 8746, "none", None, "classification"),
    ("model_classification_l2_0p001", [1024] * 5, 8746, "l2", 0.001, "classification"),
    ("model_classification_l2_0p01", [1024] * 5, 8746, "l2", 0.01, "classification"),
]

# Cell [310] of the notebook, as printed.
TABLE_310 = """\
model_2units_c	0.0444497	0.0575317
model_8units	0.0427819	0.0535399
model_128units	0.033027	0.0429847
model_1024units	0.00960591	0.0246087
model_8192units	0.00923209	0.0246102
model_1layer	0.0421595	0.0513442
model_2layers	0.0310402	0.0433764
model_3layers	0.0239409	0.0433056
model_4layers	0.0110532	0.0273052
model_somany	0.00613459	0.0296568"""

CONF = Path(__file__).resolve().parents[2] / "conf" / "experiment"


def test_every_notebook_model_has_a_config_and_a_report_row():
    names = [m[0] for m in NOTEBOOK_MODELS]
    aliases = ["somany"]  # design.md's short name for model_somany
    assert sorted(p.stem for p in CONF.glob("*.yaml")) == sorted(names + aliases)
    assert list(notebook.MODELS) == names


def test_somany_alias_is_model_somany():
    assert compose(["+experiment=somany"]) == compose(["+experiment=model_somany"])


@pytest.mark.parametrize("name,units,seed,penalty,lam,data", NOTEBOOK_MODELS)
def test_experiment_composes_as_in_the_notebook(name, units, seed, penalty, lam, data):
    cfg = compose([f"+experiment={name}"])
    assert cfg.name == name
    assert list(cfg.hidden_units) == units
    assert cfg.seed == seed
    assert cfg.penalty.name == penalty
    if lam is not None:
        assert cfg.penalty.lam == pytest.approx(lam)
    assert cfg.data.name == data
    # a command-line override still wins over the experiment file
    assert compose([f"+experiment={name}", "seed=1"]).seed == 1


def test_unknown_experiment_is_one_line_error():
    from regexp.config.errors import UsageError

    with pytest.raises(UsageError, match=r"experiment: unknown option 'model_nope'.*model_somany"):
        compose(["+experiment=model_nope"])


def test_published_figures_match_cell_310():
    figures = notebook.load_figures()
    for line in TABLE_310.splitlines():
        model, train, val = line.split("\t")
        row = figures.loc[model]
        assert row["train_mse"] == float(train)
        assert row["val_mse"] == float(val)
        assert row["source_cell"] == "[310]"
    assert figures.loc["model_somany_l2_0p001", "val_mse"] == pytest.approx(0.0256242055)
    assert figures.loc["model_somany_l1_0p001", "val_mse"] == pytest.approx(0.0252837427)
    assert pd.isna(figures.loc["model_somany_l2_0p01", "val_mse"])  # not printed in [28]
    assert figures.loc["model_classification", "val_accuracy"] == 0.88
    assert figures.loc["model_classification_l2_0p001", "val_accuracy"] == 0.8801
    assert figures.loc["model_classification_l2_0p01", "val_accuracy"] == 0.9029
    assert set(figures.index) <= set(notebook.MODELS)


def test_published_figures_satisfy_the_orderings_they_state():
    checks = run_checks(notebook.as_metrics(notebook.load_figures()))
    by_label = {c.label: c.passed for c in checks}
    assert by_label["L2 0.01 lowers somany's validation MSE"] is None  # not printed
    assert all(p for label, p in by_label.items() if "L2 0.01 lowers" not in label)


def _published_runs() -> dict[str, dict]:
    """Every model with the notebook's numbers (L2 0.01 filled in), as run metrics."""
    figures = notebook.load_figures()
    runs = {}
    for model in notebook.MODELS:
        metrics = {"name": model, "status": "ok"}
        if model in figures.index:
            for key in notebook.METRICS:
                if pd.notna(figures.loc[model, key]):
                    metrics[key] = float(figures.loc[model, key])
        runs[model] = metrics
    runs["model_somany_l2_0p01"].update(train_mse=0.02, val_mse=0.026)
    runs["model_2units_a"].update(train_mse=0.5, val_mse=0.5)
    return runs


def _write_runs(root: Path, runs: dict[str, dict], draw: int | None = None) -> Path:
    """Laid out as the Makefile's sweeps: root/<target>/<job>/, with metrics.json, and with
    .hydra/config.yaml naming the data.seed when a draw is given."""
    for target, models in notebook.TARGETS.items():
        for job, model in enumerate(models):
            if model in runs:
                folder = root / target / (str(job) if draw is None else f"{draw}-{job}")
                folder.mkdir(parents=True)
                (folder / "metrics.json").write_text(json.dumps(runs[model]))
                if draw is not None:
                    (folder / ".hydra").mkdir()
                    (folder / ".hydra" / "config.yaml").write_text(
                        f"name: {model}\ndata:\n  seed: {draw}\n"
                    )
    return root


def _lines(out: str, start: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith(start)]


def test_report_passes_on_the_published_numbers(tmp_path, capsys):
    root = _write_runs(tmp_path / "reproduce", _published_runs())
    assert notebook.cli([str(root)]) == 0
    out = capsys.readouterr().out
    assert len(_lines(out, "holds on 1 of 1")) == len(run_checks({})) == 6
    assert "0.0444" in out and "[310]" in out
    assert "somany 0.006135 > L2 0.01" not in out and "4layers 0.01105 > somany 0.006135" in out
    assert "4.45x" in out and "4.83x" in out  # the spreads, ours equal to the notebook's here
    written = json.loads((root / "notebook.json").read_text())
    assert written["draws"] == 1 and written["data_seeds"] == [None]
    assert [o["holds"] for o in written["orderings"]] == [1] * 6
    spread = written["spreads"]["units_8_to_1024_train_mse"]
    assert spread["median"] == spread["min"] == spread["max"] == pytest.approx(4.4537, abs=1e-4)
    assert spread["notebook"] == pytest.approx(0.0427819 / 0.00960591)
    assert written["accuracy"]["model_classification_l2_0p01"] == [0.9029]
    with Image.open(root / "notebook.png") as png:
        assert png.size == (1100, 840)


def test_report_shows_ours_published_and_their_ratio(tmp_path, capsys):
    runs = _published_runs()
    runs["model_classification"]["val_accuracy"] = 0.836  # 0.836 / 0.88 = 0.95
    runs["model_8units"]["train_mse"] = 0.0855638  # twice the notebook's 0.0427819
    root = _write_runs(tmp_path / "reproduce", runs)
    assert notebook.cli([str(root)]) == 0
    rows = {line.split("│")[2].strip(): line for line in capsys.readouterr().out.splitlines()
            if line.count("│") > 5}  # fmt: skip
    cells = [c.strip() for c in rows["classification"].split("│")]
    assert cells[-5:-2] == ["0.836", "0.88", "0.95"]
    cells = [c.strip() for c in rows["8units"].split("│")]
    assert cells[4:7] == ["0.08556", "0.04278", "2.00"]
    assert notebook.ratio(0.5, 0.0) is None and notebook.ratio(float("nan"), 1.0) is None
    assert notebook.ratio(None, 2.0) is None and notebook.ratio(1.0, 4.0) == 0.25


def test_report_fails_orderings_but_exits_0(tmp_path, capsys):
    runs = _published_runs()
    runs["model_8192units"]["train_mse"] = 0.05  # wider no longer lower
    runs["model_somany"].update(train_mse=0.02, val_mse=0.025)  # no overfitting, L2 worse
    runs["model_classification_l2_0p01"]["val_accuracy"] = 0.87
    root = _write_runs(tmp_path / "reproduce", runs)
    assert notebook.cli([str(root)]) == 0
    out = capsys.readouterr().out
    assert len(_lines(out, "holds on 0 of 1")) == 6 and not _lines(out, "holds on 1")
    assert "fails on the shipped draw: unpenalized 0.8800 < L2 0.001 0.8801 > L2 0.01 0.8700" in out
    assert "1024units 0.009606 <= 8192units 0.05" in out


def _draw(runs: dict[str, dict], scale: float, accuracies: tuple) -> dict[str, dict]:
    """The published runs with every MSE times scale (orderings and spreads unchanged) and
    the classifiers' accuracies given."""
    out = {m: dict(r) for m, r in runs.items()}
    for metrics in out.values():
        for key in ("train_mse", "val_mse"):
            if key in metrics:
                metrics[key] *= scale
    for model, accuracy in zip(notebook.CLASSIFIERS, accuracies):
        out[model]["val_accuracy"] = accuracy
    return out


def test_a_folder_of_draws_counts_where_each_ordering_holds(tmp_path, capsys):
    """Three draws, the shipped one written last: orderings counted over draws, the failing
    draw's numbers printed, spreads as median [min–max], metrics as mean ± std."""
    root = tmp_path / "reproduce"
    runs = _published_runs()
    _write_runs(root, _draw(runs, 2.0, (0.85, 0.87, 0.88)), draw=1)
    second = _draw(runs, 1.0, (0.86, 0.85, 0.87))  # classification fails here
    second["model_1024units"]["train_mse"] = 0.0427819 / 2  # a 2x drop on this draw
    _write_runs(root, second, draw=2)
    _write_runs(root, _draw(runs, 1.0, (0.88, 0.8801, 0.9029)), draw=notebook.SHIPPED_SEED)
    assert notebook.cli([str(root)]) == 0
    out = capsys.readouterr().out
    assert "3 data draws, mean ± std" in out
    assert len(_lines(out, "holds on 3 of 3")) == 5
    assert _lines(out, "holds on 2 of 3") == [
        "holds on 2 of 3  classification: unpenalized < L2 0.001 <= L2 0.01 in accuracy  "
        "(notebook: holds)"
    ]
    assert _lines(out, "fails on") == [
        "fails on data.seed=2: unpenalized 0.8600 >= L2 0.001 0.8500 <= L2 0.01 0.8700"
    ]
    assert "training MSE, 8 units / 1024 units: median 4.45x [2.00–4.45]" in out
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.count("│") > 5}
    cells = [c.strip() for c in rows["8units"].split("│")]
    assert cells[3:7] == ["3/3 ok", "0.05704 ± 0.025", "0.04278", "1.33"]  # mean 4/3 x theirs
    written = json.loads((root / "notebook.json").read_text())
    assert written["draws"] == 3 and written["data_seeds"] == [notebook.SHIPPED_SEED, 1, 2]
    by_name = {o["name"]: o for o in written["orderings"]}
    classification = by_name["classification: unpenalized < L2 0.001 <= L2 0.01 in accuracy"]
    assert (classification["holds"], classification["draws"]) == (2, 3)
    assert [f["data_seed"] for f in classification["failing"]] == [2]
    spread = written["spreads"]["units_8_to_1024_train_mse"]
    assert (spread["median"], spread["min"]) == (pytest.approx(4.4537, abs=1e-4), 2.0)
    assert written["accuracy"]["model_classification"] == [0.88, 0.85, 0.86]


def test_notebook_png_has_a_point_per_draw(tmp_path):
    """The figure's panels carry every draw's value and the published one, as drawn."""
    root = tmp_path / "reproduce"
    runs = _published_runs()
    for draw, scale in ((1, 1.5), (2, 0.5)):
        _write_runs(root, _draw(runs, scale, (0.85, 0.87, 0.88)), draw=draw)
    report = notebook.report_of(notebook.load_runs(root), notebook.load_figures())
    panels = {p.title: p for p in notebook.panels(report, notebook.load_figures())}
    assert list(panels) == ["units", "layers", "penalties", "classification"]
    units = panels["units"]
    assert units.metric == "train_mse" and units.models[3] == "model_8units"
    assert units.values[3] == pytest.approx([0.0427819 * 1.5, 0.0427819 * 0.5])
    assert units.published[3] == 0.0427819 and units.published[0] is None  # 2units_a: none
    assert panels["layers"].models[-1] == "model_somany"  # the depth ordering's last
    assert panels["penalties"].metric == "val_mse"
    assert panels["classification"].values[2] == [0.88, 0.88]


def test_report_newest_run_of_a_model_on_a_draw_counts(tmp_path):
    root = _write_runs(tmp_path / "reproduce", _published_runs())
    rerun = root / "again" / "0"
    rerun.mkdir(parents=True)
    (rerun / "metrics.json").write_text(
        json.dumps({"name": "model_8units", "status": "ok", "train_mse": 0.1, "val_mse": 0.2})
    )
    runs = notebook.load_runs(root).set_index("model")
    assert runs.loc["model_8units", "train_mse"] == 0.1


def test_report_missing_runs_exit_2(tmp_path, capsys):
    runs = _published_runs()
    del runs["model_somany"]
    runs["model_4layers"]["status"] = "diverged"
    root = _write_runs(tmp_path / "reproduce", runs)
    (root / "notebook.json").write_bytes(b"an earlier report")
    assert notebook.cli([str(root)]) == 2
    captured = capsys.readouterr()
    assert "1 of 18 models lack runs" in captured.err and "model_somany" in captured.err
    assert "notebook.json and notebook.png not written" in captured.err
    assert (root / "notebook.json").read_bytes() == b"an earlier report"  # left as it was
    assert not (root / "notebook.png").exists()
    assert "model_4layers (diverged)" in captured.err
    assert "n/a on the shipped draw: no train_mse for somany" in captured.out
    assert "holds on 0 of 1, n/a on 1  somany overfits" in captured.out
    assert notebook.cli([str(tmp_path / "nowhere")]) == 2
    assert "make reproduce" in capsys.readouterr().err


def test_a_model_missing_on_one_draw_is_named_with_that_draw(tmp_path, capsys):
    root = tmp_path / "reproduce"
    runs = _published_runs()
    _write_runs(root, runs, draw=notebook.SHIPPED_SEED)
    del runs["model_8units"]
    _write_runs(root, runs, draw=3)
    assert notebook.cli([str(root)]) == 2
    assert "model_8units on data.seed=3" in capsys.readouterr().err


def test_a_folder_without_runs_is_one_error_and_stays_empty(tmp_path, capsys):
    root = tmp_path / "empty"
    root.mkdir()
    assert notebook.cli([str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("regexp notebook: error: 18 of 18 models lack runs under")
    assert list(root.iterdir()) == []


def test_the_shipped_seed_is_the_data_configs_seed():
    for data in ("regression", "classification"):
        assert compose([f"data={data}"]).data.seed == notebook.SHIPPED_SEED
