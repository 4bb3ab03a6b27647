"""The notebook's experiment configs, and `regexp notebook` on hand-made reproduce folders:
what it prints, writes, and refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from regexp.cli import main
from regexp.config.compose import compose
from regexp.config.errors import UsageError
from regexp.read import notebook
from regexp.read.notebook_lessons import LESSONS, MODELS, SHIPPED_SEED
from tests.read.reproduce_folders import published_runs, scaled, write_runs

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

CONF = Path(__file__).resolve().parents[2] / "conf" / "experiment"


def test_every_notebook_model_has_a_config_and_a_report_row():
    names = [m[0] for m in NOTEBOOK_MODELS]
    aliases = ["somany"]  # design.md's short name for model_somany
    assert sorted(p.stem for p in CONF.glob("*.yaml")) == sorted(names + aliases)
    assert list(MODELS) == names


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


def _lines(out: str, start: str) -> list[str]:
    return [line.strip("│ ") for line in out.splitlines() if line.strip("│ ").startswith(start)]


def test_one_draw_reads_every_lesson_but_decides_none(tmp_path, capsys):
    """The notebook's own numbers as our runs: one draw holds every lesson the notebook
    printed, and one draw cannot give an interval, so every verdict is undecided."""
    root = write_runs(tmp_path / "reproduce", published_runs())
    assert notebook.cli([str(root)]) == 0
    out = capsys.readouterr().out
    assert "0.0444" in out and "[310]" in out
    assert len(_lines(out, "undecided")) == len(LESSONS)
    assert "held on" in out and "1 of 1 draws [0.21, 1.00]" in out
    assert "l1_0p001_lowers_val: somany_l1_0p001 0.02528 / somany 0.02966 = 0.853x < 1" in out
    assert "4.45x" in out and "4.83x" in out  # the spreads, ours equal to the notebook's here
    written = json.loads((root / "notebook.json").read_text())
    assert written["draws"] == 1 and written["data_seeds"] == [None]
    assert [o["holds"] for o in written["orderings"]] == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    assert {o["verdict"] for o in written["orderings"]} == {"undecided"}
    spread = written["spreads"]["units_8_to_1024_train_mse"]
    assert spread["median"] == spread["min"] == spread["max"] == pytest.approx(4.4537, abs=1e-4)
    assert written["accuracy"]["model_classification_l2_0p01"] == [0.9029]
    with Image.open(root / "notebook.png") as png:
        assert png.size == (1300, 1410)


def test_our_numbers_beside_the_notebooks_and_their_ratio(tmp_path, capsys):
    runs = published_runs()
    runs["model_classification"]["val_accuracy"] = 0.836  # 0.836 / 0.88 = 0.95
    runs["model_8units"]["train_mse"] = 0.0855638  # twice the notebook's 0.0427819
    root = write_runs(tmp_path / "reproduce", runs)
    assert notebook.cli([str(root)]) == 0
    rows = {line.split("│")[2].strip(): line for line in capsys.readouterr().out.splitlines()
            if line.count("│") > 10}  # fmt: skip
    cells = [c.strip() for c in rows["classification"].split("│")]
    assert cells[-5:-2] == ["0.836", "0.88", "0.95"]
    cells = [c.strip() for c in rows["8units"].split("│")]
    assert cells[4:7] == ["0.08556", "0.04278", "2.00"]


def _draws(root: Path, n: int) -> Path:
    """n draws of the published runs, their MSEs scaled, L1 0.001 worse than somany on the
    second draw, classification's order as the notebook's."""
    for d in range(n):
        runs = scaled(published_runs(), 1 + d / 7, (0.86 + d / 1000, 0.872, 0.90 + d / 500))
        if d == 1:
            runs["model_somany_l1_0p001"]["val_mse"] = runs["model_somany"]["val_mse"] * 1.1
        write_runs(root, runs, draw=SHIPPED_SEED if d == 0 else d)
    return root


def test_a_folder_of_draws_states_each_lesson_with_its_verdict(tmp_path, capsys):
    root = _draws(tmp_path / "reproduce", 5)
    assert notebook.cli([str(root)]) == 0
    out = capsys.readouterr().out
    assert "5 data draws, mean ± std" in out and "95 % t-interval (5 draws)" in out
    verdicts = {line.split()[0] for line in _lines(out, "holds") + _lines(out, "undecided")}
    assert verdicts == {"holds", "undecided"}
    assert _lines(out, "l1_0p001_lowers_val fails on") == [
        "l1_0p001_lowers_val fails on data.seed=1: somany_l1_0p001 0.03728 / somany 0.03389 "
        "= 1.1x >= 1"
    ]
    written = json.loads((root / "notebook.json").read_text())
    by_key = {o["key"]: o for o in written["orderings"]}
    assert by_key["l1_0p001_lowers_val"]["holds"] == 4
    assert by_key["l1_0p001_lowers_val"]["verdict"] == "undecided"
    assert by_key["classification_l2_0p01_beats_unpenalized"]["verdict"] == "holds"
    assert written["draws_max"] == 5 and written["method"]["looks"] == [5]


def test_decide_prints_the_draws_the_plan_needs_next_and_writes_nothing(tmp_path, capsys):
    root = _draws(tmp_path / "reproduce", 5)
    assert notebook.cli([str(root), "--draws-max", "20", "--decide"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "10 penalties-none penalties-l1-0p001\n"  # the sweeps L1's lesson reads
    assert "undecided: " in captured.err and "l1_0p001_lowers_val" in captured.err
    assert not (root / "notebook.json").exists() and not (root / "notebook.png").exists()
    assert notebook.cli([str(root), "--draws-max", "5", "--decide"]) == 0  # the last look
    assert capsys.readouterr().out == "0\n"
    assert notebook.cli([str(root), "--draws-max", "20"]) == 0
    assert "decided at" in capsys.readouterr().out
    written = json.loads((root / "notebook.json").read_text())
    assert written["method"]["looks"] == [5, 10, 15, 20] and written["next_draws"] == 10


def test_auto_draws_added_only_where_a_lesson_was_undecided_make_a_whole_report(tmp_path, capsys):
    """Five draws of every model, then five more of the two sweeps the undecided L1 lesson
    reads (penalties-none, penalties-l1-0p001): over the plan the report is whole, every model
    covering the draws its lessons needed; a model missing a draw it needed is still named; read as
    one look at every draw (no plan) the other models lack draws."""
    root = _draws(tmp_path / "reproduce", 5)
    for d in range(5, 10):
        runs = scaled(published_runs(), 1 + d / 7, (0.86, 0.872, 0.90))
        runs["model_somany_l1_0p001"]["val_mse"] = runs["model_somany"]["val_mse"] * (
            1.1 if d % 2 else 0.9
        )  # L1 against somany wanders: still undecided at 10
        more = {m: runs[m] for m in ("model_somany", "model_somany_l2_0p01",
                                     "model_somany_l2_0p001", "model_somany_l1_0p001")}  # fmt: skip
        write_runs(root, more, draw=d)
    plan = ["--draws-max", "20"]
    assert notebook.cli([str(root), *plan, "--decide"]) == 0
    assert capsys.readouterr().out == "15 penalties-none penalties-l1-0p001\n"
    assert notebook.cli([str(root), *plan]) == 0 and (root / "notebook.json").is_file()
    written = json.loads((root / "notebook.json").read_text())
    assert written["draws"] == 10
    capsys.readouterr()
    (root / "notebook.json").unlink()
    (root / "notebook.png").unlink()
    with pytest.raises(UsageError, match=r"model_1layer on data.seed=5, data.seed=6, "):
        notebook.cli([str(root)])  # one look at all 10 draws: layers' runs lack 5 of them
    shutil.rmtree(root / "penalties" / "7-0")  # somany on data.seed=7, which L1 still reads
    with pytest.raises(UsageError, match=r"model_somany on data.seed=7"):
        notebook.cli([str(root), *plan])
    assert not (root / "notebook.json").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--decide"], "notebook: --decide: give the plan's --draws-max (and --first, --batch)"),
        (["--draws-max", "4"], "notebook: --draws-max: must be at least --first (5), got 4"),
        (["--draws-max", "x"], "notebook: argument --draws-max: must be an integer >= 2, got 'x'"),
        (["--batch", "0"], "notebook: argument --batch: must be an integer >= 1, got 0"),
        (["--bogus"], "notebook: unrecognized arguments: --bogus"),
        (
            ["--draws-for", "ours"],
            "notebook: argument --draws-for: invalid choice: 'ours' "
            "(choose from 'published', 'all')",
        ),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    root = _draws(tmp_path / "reproduce", 1)
    assert main(["notebook", str(root), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"regexp: error: {message}\n"
    assert sorted(p.name for p in root.iterdir()) == sorted(notebook_targets())


def notebook_targets() -> list[str]:
    return ["units", "layers", "penalties", "classification"]


def test_missing_runs_exit_2_and_leave_the_folder_as_it_was(tmp_path, capsys):
    runs = published_runs()
    del runs["model_somany"]
    runs["model_4layers"]["status"] = "diverged"
    root = write_runs(tmp_path / "reproduce", runs)
    (root / "notebook.json").write_bytes(b"an earlier report")
    assert main(["notebook", str(root)]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith(f"regexp: error: {root}: 1 of 18 models lack runs: model_somany")
    assert "runs not ok: model_4layers (diverged)" in line
    assert line.endswith("notebook.json and notebook.png not written")
    assert (root / "notebook.json").read_bytes() == b"an earlier report"  # left as it was
    assert not (root / "notebook.png").exists()
    assert "n/a on the shipped draw: no train_mse for somany" in captured.out
    assert main(["notebook", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder; run `make reproduce` first" in capsys.readouterr().err


def test_a_folder_without_runs_is_one_error_and_stays_empty(tmp_path, capsys):
    root = tmp_path / "empty"
    root.mkdir()
    assert main(["notebook", str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"regexp: error: {root}: 18 of 18 models lack runs:")
    assert list(root.iterdir()) == []
