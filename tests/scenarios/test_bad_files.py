"""Bad files and places, each kind in a few variants: output folders that hold results or
cannot be made, users' config files with unknown keys, wrong types or broken YAML, corrupt
run folders and sweep files, verbs' number flags that are not finite. Each gets exactly one
stderr line naming the key, file or flag, exit code 2, no traceback, and nothing already
written is changed (the working folder's bytes are compared before and after)."""

from __future__ import annotations

import contextlib
import io
import os
import socket
from pathlib import Path

import pytest

from regexp.cli import main

LONG = "a" * 300  # a folder name over 255 bytes


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder under root (folders as None)."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        out[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A finished run, a finished sweep, a user's config folder and a few odd files."""
    root = tmp_path_factory.mktemp("bad")
    before = os.getcwd()
    os.chdir(root)
    try:
        fast = ["train.epochs=3", "plots.enabled=false", "hidden_units=[3]"]
        assert main(["run", *fast, "hydra.run.dir=run"]) == 0
        assert main(["sweep", *fast, "seed=1,2", "hydra.sweep.dir=sweep"]) == 0
    finally:
        os.chdir(before)
    conf = root / "conf" / "experiment"
    conf.mkdir(parents=True)
    (root / "conf" / "data").mkdir()
    files = {
        "experiment/topkey.yaml": "# @package _global_\nzz: 1\n",
        "experiment/typo.yaml": "# @package _global_\ntrain:\n  epoch: 5\n",
        "experiment/type.yaml": "# @package _global_\nhidden_units: 3\n",
        "experiment/lam.yaml": "# @package _global_\npenalty:\n  lam: .inf\n",
        "experiment/broken.yaml": "# @package _global_\ntrain:\n  epochs: 5\n   bad: [\n",
        "experiment/binary.yaml": "\xff\xfe\x00 garbage",
        "data/mine.yaml": "name: regression\ntask: regression\nn_train: 50\nn_val: 100\n"
        "noise: loud\nx_min: -1\nx_max: 1\nseed: 3\n",
        "data/extra.yaml": "name: regression\ntask: regression\nn_train: 50\nn_val: 100\n"
        "noise: 0.1\nx_min: -1\nx_max: 1\nseed: 3\nlabel_noise: 0.1\n",
        "experiment/empty.yaml": "",
        "experiment/list.yaml": "- hidden_units: [4]\n",
        "experiment/nopkg.yaml": "train:\n  epochs: 3\n",
        "experiment/word.yaml": "hello\n",
        "data/empty.yaml": "# nothing yet\n",
        "data/list.yaml": "- 1\n- 2\n",
        "data/short.yaml": "name: regression\ntask: regression\nn_train: 50\nseed: 3\n",
    }
    for name, text in files.items():
        (root / "conf" / name).write_bytes(text.encode("latin-1"))
    primary = root / "primary"
    primary.mkdir()
    (primary / "mine.yaml").write_text("defaults:\n  - config\n  - _self_\nhiden_units: [4]\n")
    (primary / "list.yaml").write_text("- config\n")
    (primary / "bare.yaml").write_text("hidden_units: [3]\n")
    (primary / "empty.yaml").write_text("")
    rows = "".join(f"{i},{2 * i},{i % 3}\n" for i in range(20))
    (root / "dup.csv").write_text("x1,x1,y\n" + rows)
    (root / "ok.csv").write_text("x1,x2,y\n" + rows)
    (root / "empty.csv").write_text("")
    (root / "afile").write_text("not a folder\n")
    (root / "note.txt").write_text("someone's notes\n")
    (root / "dir.csv").mkdir()
    (root / "holds").mkdir()
    (root / "holds" / "keep.txt").write_text("keep me\n")
    # corrupt copies of the finished run
    for name, weights in (("garbage", b"\x00garbage" * 10), ("empty", b"")):
        copy = root / f"run_{name}"
        _copy(root / "run", copy)
        (copy / "weights.safetensors").write_bytes(weights)
    other = root / "run_shape"
    _copy(root / "run", other)
    os.chdir(root)
    try:
        assert main(["run", "train.epochs=1", "plots.enabled=false", "hidden_units=[7]",
                     "hydra.run.dir=run_other"]) == 0  # fmt: skip
    finally:
        os.chdir(before)
    (other / "weights.safetensors").write_bytes(
        (root / "run_other" / "weights.safetensors").read_bytes()
    )
    broken_cfg = root / "run_config"
    _copy(root / "run", broken_cfg)
    (broken_cfg / ".hydra" / "config.yaml").write_text("hidden_units: [\n")
    for name, text in (("binary", b"\xff\xfe\x00\x01"), ("empty", b""), ("list", b"- 1\n- 2\n")):
        sweep = root / f"sweep_{name}"
        _copy(root / "sweep", sweep)
        (sweep / "multirun.yaml").write_bytes(text)
    return root


def _copy(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst)


def CSV_AT(path: str, features: str = "[x1]") -> list[str]:  # noqa: N802 (reads as data)
    return ["data=csv", f"data.path={path}", f"data.features={features}", "data.target=y"]


# (argv, what the one line must contain)
CASES: dict[str, list[tuple[list[str], str]]] = {
    "a fixed run folder that holds results": [
        (["run", "hydra.run.dir=run"], "hydra.run.dir: run already holds results; give a fresh"),
        (["run", "hydra.run.dir=holds"], "hydra.run.dir: holds already holds results"),
        (["run", "hydra.run.dir=."], "hydra.run.dir: . already holds results"),
    ],
    "a fixed sweep folder that holds results": [
        (["sweep", "seed=7", "hydra.sweep.dir=sweep"], "regexp sweep --resume sweep"),
        (["sweep", "seed=1,2", "hydra.sweep.dir=run"], "hydra.sweep.dir: run already holds"),
    ],
    "an output folder that cannot be made": [
        (["run", "hydra.run.dir=afile"], "hydra.run.dir: afile is a file, not a folder"),
        (["run", "hydra.run.dir=afile/sub"], "hydra.run.dir: cannot create afile/sub"),
        (["run", f"hydra.run.dir={LONG}"], "File name too long"),
        (["sweep", "seed=1,2", "hydra.sweep.dir=/proc/regexp"], "hydra.sweep.dir: cannot create"),
    ],
    "a verb's output that cannot be written": [
        (["compare", "run", "--out", "afile/x.csv"], "--out: cannot write afile/x.csv"),
        (["compare", "run", "--out", "dir.csv"], "--out: dir.csv is a folder"),
        (["compare", "run", "--plot", "afile/x.png"], "--plot: cannot write afile/x.png"),
        (["ewma", "--out", "afile/sub"], "--out: cannot create a folder in afile/sub"),
        (["landscape", "--out", "afile"], "--out: cannot create a folder in afile"),
    ],
    "an unknown key in a user's config file": [
        (["run", "-cd", "conf", "+experiment=topkey"], "experiment/topkey.yaml: zz: unknown key"),
        (["run", "-cd", "conf", "+experiment=typo"], "experiment/typo.yaml: train.epoch: unknown"),
        (["run", "-cd", "conf", "data=extra"], "data/extra.yaml: data.label_noise: unknown key"),
        (["sweep", "-cd", "conf", "+experiment=typo", "seed=1,2"], "train.epoch: unknown key"),
        (["run", "-cd", "primary", "-cn", "mine"], "primary/mine.yaml: hiden_units: unknown key"),
    ],
    "a wrong type in a user's config file": [
        (["run", "-cd", "conf", "+experiment=type"], "experiment/type.yaml: hidden_units: must"),
        (["run", "-cd", "conf", "data=mine"], "data/mine.yaml: data.noise: must be a number"),
        (["run", "-cd", "conf", "+experiment=lam", "penalty=l2"], "lam.yaml: penalty.lam: must"),
    ],
    "a user's config file that is not YAML": [
        (["run", "-cd", "conf", "+experiment=broken"], "broken.yaml:4: not valid YAML"),
        (["sweep", "-cd", "conf", "+experiment=broken", "seed=1,2"], "broken.yaml:4: not valid"),
        (["run", "-cd", "conf", "+experiment=binary"], "experiment/binary.yaml: not UTF-8 text"),
    ],
    "a run folder whose weights are not its model's": [
        (["landscape", "run_garbage"], "weights.safetensors: not this run's weights"),
        (["landscape", "run_empty"], "weights.safetensors: not this run's weights"),
        (["landscape", "run_shape"], "weights.safetensors: not this run's weights"),
        (["fix", "run_garbage", "interval=[0.3,1.0]"], "not this run's weights"),
        (["fix", "run_shape", "interval=[0.3,1.0]"], "not this run's weights"),
    ],
    "a run folder whose config is broken": [
        (["landscape", "run_config"], "config.yaml: unreadable"),
        (["fix", "run_config"], "config.yaml: unreadable"),
    ],
    "a sweep whose multirun.yaml is unreadable": [
        (["sweep", "--resume", "sweep_binary"], "--resume: unreadable sweep_binary/multirun.yaml"),
        (["sweep", "--resume", "sweep_empty"], "--resume: unreadable sweep_empty/multirun.yaml"),
        (["sweep", "--resume", "sweep_list"], "--resume: unreadable sweep_list/multirun.yaml"),
    ],
    "a verb's number that is not finite or out of range": [
        (["fix", "run", "interval=[0.3,1.0]", "scale=nan"], "must be finite numbers"),
        (["fix", "run", "interval=[nan,1.0]"], "interval='[nan,1.0]' is not valid"),
        (["fix", "run", "scale=inf"], "must be finite numbers"),
        (["ewma", "--noise", "nan"], "ewma: argument --noise: must be a finite number >= 0"),
        (["ewma", "--noise", "-1"], "argument --noise: must be a finite number >= 0"),
        (["ewma", "--days", "0"], "argument --days: must be an integer >= 1"),
        (["landscape", "run", "--steps", "100000"], "argument --steps: must be an integer"),
        (["landscape", "run", "--span", "nan"], "argument --span: must be a finite number > 0"),
        (["landscape", "run", "--span", "-1"], "argument --span: must be a finite number > 0"),
    ],
    "a flag that does not apply": [
        (["landscape", "--steps", "11"], "--steps: only for a run's plane (give a RUN_DIR)"),
        (["landscape", "--span", "2", "--split", "val"], "--span, --split: only for a run's"),
    ],
    "a user's config file that is not a config": [
        (["run", "-cd", "conf", "+experiment=empty"], "experiment/empty.yaml: is empty: a config"),
        (["run", "-cd", "conf", "+experiment=list"], "experiment/list.yaml: holds a list, not"),
        (["run", "-cd", "conf", "+experiment=word"], "experiment/word.yaml: holds a string"),
        (["run", "-cd", "conf", "+experiment=nopkg"], "nopkg.yaml: its keys land under `experi"),
        (["sweep", "-cd", "conf", "+experiment=nopkg", "seed=1,2"], "start it with the line `#"),
        (["run", "-cd", "conf", "data=empty"], "conf/data/empty.yaml: is empty: a config file"),
        (["sweep", "-cd", "conf", "data=list", "seed=1,2"], "conf/data/list.yaml: holds a list"),
        (["run", "-cp", "primary", "-cn", "list"], "primary/list.yaml: holds a list, not KEY"),
        (["run", "-cd", "primary", "-cn", "list"], "primary/list.yaml: holds a list, not KEY"),
    ],
    "a key a user's file (or regexp's) leaves unset": [
        (["run", "-cd", "conf", "data=short"], "conf/data/short.yaml: data.n_val: is missing"),
        (["run", "-cp", "primary", "-cn", "bare"], "primary/bare.yaml: seed is not in it: a prim"),
        (["run", "-cd", "primary", "-cn", "empty"], "empty.yaml: hidden_units is not in it: a pri"),
        (
            ["run", "-cd", "primary", "-cn", "bare", "train.epochs=5"],
            "bare.yaml: train.epochs is"
            " not in it: a primary config of yours builds on regexp's; start it with `defaults: "
            "[config, _self_]`",
        ),
        (["run", "data=csv"], "data.path: must be set: the config leaves it ???; add data.path"),
        (["run", "data=csv", "data.path=ok.csv"], "data.features: must be set: the config leaves"),
    ],
    "a data file that is not a CSV file": [
        (["run", *CSV_AT("dir.csv")], "data.path: dir.csv is a folder; give a CSV file"),
        (["run", *CSV_AT("/dev/null")], "data.path: /dev/null is not a regular file"),
        (["run", *CSV_AT("empty.csv")], "could not read empty.csv as CSV (No columns to parse"),
        (["run", *CSV_AT("dup.csv")], "data.path: dup.csv's header names column 'x1' twice"),
        (["sweep", *CSV_AT("dup.csv"), "seed=1,2"], "dup.csv's header names column 'x1' twice"),
        (["run", *CSV_AT("ok.csv", "[x1,x1]")], "data.features: lists 'x1' twice; name each"),
    ],
    "a sweep with no jobs": [
        (["sweep", "seed=range(0,0)"], "the sweep has no jobs: seed=range(0,0)"),
        (["sweep", "seed=range(5,5)", "hidden_units=[2],[4]"], "the sweep has no jobs"),
    ],
}
FLAT = [(kind, argv, message) for kind, cases in CASES.items() for argv, message in cases]


def _main_in(work: Path, argv: list[str]) -> tuple[int, str]:
    """regexp's exit code and stderr for argv, run from the folder work."""
    err = io.StringIO()
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(cwd)
    return code, err.getvalue()


@pytest.mark.parametrize(("kind", "argv", "message"), FLAT, ids=[" ".join(c[1]) for c in FLAT])
def test_bad_file_or_place_gets_one_line_and_changes_nothing(kind, argv, message, work):
    before = _snapshot(work)
    code, text = _main_in(work, argv)
    assert code == 2, (kind, argv, text)
    assert text.startswith("regexp: error: ") and text.count("\n") == 1, (kind, argv, text)
    assert message in text and "Traceback" not in text, (kind, argv, text)
    assert _snapshot(work) == before, (kind, argv)


def test_every_kind_has_variants():
    """The count the issue's note reports: kinds tried, each with several variants."""
    assert len(CASES) >= 13 and all(len(cases) >= 2 for cases in CASES.values())


@pytest.mark.parametrize(
    ("folder", "argv", "key"),
    [
        ("sweep", ["sweep", "--resume", "sweep"], "--resume"),
        ("busy_run", ["run", "hydra.run.dir=busy_run"], "hydra.run.dir"),
        ("busy_sweep", ["sweep", "seed=1,2", "hydra.sweep.dir=busy_sweep"], "hydra.sweep.dir"),
    ],
)
def test_a_folder_another_regexp_is_writing_is_refused(folder, argv, key, work):
    """While another process holds a folder's claim (here: this test), a run, a sweep or a
    `--resume` into it gets one line naming the holder, and nothing there changes."""
    from regexp.config.output import claim_named

    with claim_named(work / folder, "k", resume=True):
        before = _snapshot(work)
        code, text = _main_in(work, argv)
        assert code == 2, text
        assert text == (
            f"regexp: error: {key}: {folder} is being written by pid {os.getpid()} on "
            f"{socket.gethostname()}; wait for it to end, or give another folder\n"
        )
        assert _snapshot(work) == before
