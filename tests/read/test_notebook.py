"""The notebook's experiment configs, its published figures, and the reproduce report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from regexp.config.compose import compose
from regexp.read import notebook

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
    checks = notebook.run_checks(notebook._as_metrics(notebook.load_figures()))
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


def _write_runs(root: Path, runs: dict[str, dict]) -> Path:
    # Laid out as the Makefile's sweeps: root/<target>/<job>/metrics.json
    for target, models in notebook.TARGETS.items():
        for job, model in enumerate(models):
            if model in runs:
                folder = root / target / str(job)
                folder.mkdir(parents=True)
                (folder / "metrics.json").write_text(json.dumps(runs[model]))
    return root


def test_report_passes_on_the_published_numbers(tmp_path, capsys):
    root = _write_runs(tmp_path / "reproduce", _published_runs())
    assert notebook.cli([str(root)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert out.count("PASS") == len(notebook.CHECKS)
    assert "0.0444" in out and "[310]" in out
    assert "4.45x" in out and "4.83x" in out  # the spreads, ours equal to the notebook's here


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


@pytest.mark.parametrize(
    "unpenalized,l2_0p001,l2_0p01,passed,detail",
    [
        (0.88, 0.8801, 0.9029, True, "unpenalized 0.8800 < L2 0.001 0.8801 <= L2 0.01 0.9029"),
        (0.87, 0.88, 0.88, True, "unpenalized 0.8700 < L2 0.001 0.8800 <= L2 0.01 0.8800"),
        (0.88, 0.88, 0.90, False, "unpenalized 0.8800 >= L2 0.001 0.8800 <= L2 0.01 0.9000"),
        (0.86, 0.89, 0.87, False, "unpenalized 0.8600 < L2 0.001 0.8900 > L2 0.01 0.8700"),
        (0.781, 0.836, 0.819, False, "unpenalized 0.7810 < L2 0.001 0.8360 > L2 0.01 0.8190"),
    ],
)
def test_classification_ordering(unpenalized, l2_0p001, l2_0p01, passed, detail):
    values = dict(zip(notebook.CLASSIFIERS, (unpenalized, l2_0p001, l2_0p01)))
    metrics = {model: {"val_accuracy": v} for model, v in values.items()}
    (check,) = [c for c in notebook.run_checks(metrics) if c.label.startswith("classification")]
    assert (check.passed, check.detail) == (passed, detail)
    del metrics["model_classification_l2_0p001"]
    (check,) = [c for c in notebook.run_checks(metrics) if c.label.startswith("classification")]
    assert (check.passed, check.detail) == (None, "no val accuracy for L2 0.001")


def test_spreads_on_the_published_figures():
    found = notebook.spreads(notebook._as_metrics(notebook.load_figures()))
    assert [s.value for s in found] == [
        pytest.approx(0.0427819 / 0.00960591),
        pytest.approx(0.0296568 / 0.00613459),
    ]
    assert found[0].detail == "0.04278 / 0.009606 = 4.45x"
    assert notebook.spreads({})[1] == notebook.Spread(
        "somany, validation MSE / training MSE", None, "n/a"
    )


def test_report_fails_orderings_but_exits_0(tmp_path, capsys):
    runs = _published_runs()
    runs["model_8192units"]["train_mse"] = 0.05  # wider no longer lower
    runs["model_somany"].update(train_mse=0.02, val_mse=0.025)  # no overfitting, L2 worse
    runs["model_classification_l2_0p01"]["val_accuracy"] = 0.87
    root = _write_runs(tmp_path / "reproduce", runs)
    assert notebook.cli([str(root)]) == 0
    out = capsys.readouterr().out
    checks = {c.label: c for c in notebook.run_checks(runs)}
    assert checks["wider models reach lower training MSE"].passed is False
    assert (
        "1024units 0.009606 <= 8192units 0.05"
        in checks["wider models reach lower training MSE"].detail
    )
    assert checks["deeper models reach lower training MSE"].passed is False
    assert [c.passed for label, c in checks.items() if "somany" in label] == [False] * 3
    ordering = checks["classification: unpenalized < L2 0.001 <= L2 0.01 in accuracy"]
    assert ordering.passed is False
    assert ordering.detail == "unpenalized 0.8800 < L2 0.001 0.8801 > L2 0.01 0.8700"
    assert out.count("FAIL") == 6 and out.count("PASS") == 0


def test_report_newest_run_of_a_name_counts(tmp_path):
    root = _write_runs(tmp_path / "reproduce", _published_runs())
    rerun = root / "again" / "0"
    rerun.mkdir(parents=True)
    (rerun / "metrics.json").write_text(
        json.dumps({"name": "model_8units", "status": "ok", "train_mse": 0.1, "val_mse": 0.2})
    )
    assert notebook.load_runs(root).loc["model_8units", "train_mse"] == 0.1


def test_report_missing_runs_exit_2(tmp_path, capsys):
    runs = _published_runs()
    del runs["model_somany"]
    runs["model_4layers"]["status"] = "diverged"
    root = _write_runs(tmp_path / "reproduce", runs)
    assert notebook.cli([str(root)]) == 2
    captured = capsys.readouterr()
    assert "1 of 18 runs missing" in captured.err and "model_somany" in captured.err
    assert "model_4layers (diverged)" in captured.err
    assert "n/a" in captured.out  # checks that need somany cannot be decided
    assert notebook.cli([str(tmp_path / "nowhere")]) == 2
    assert "make reproduce" in capsys.readouterr().err
