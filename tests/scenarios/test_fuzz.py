"""Property-based fuzzing of bad overrides: each kind of bad input, many values of it.

Every one must end in exactly one stderr line `regexp: error: KEY...` naming the key, exit
code 2, no traceback and no run folder. In process (fast); a few through a real process.
"""

from __future__ import annotations

import contextlib
import io
import os
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regexp.cli import main
from regexp.config.settings import ACTIVATIONS, LOGGERS

WORD = st.text(string.ascii_lowercase, min_size=3, max_size=8)
NEG_INT = st.integers(max_value=-1)
NON_POS = st.integers(max_value=0)
NEG_FLOAT = st.floats(max_value=-1e-6, min_value=-1e6, allow_nan=False)
AT_LEAST_ONE = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)
TEXT = WORD.filter(lambda w: w not in ("true", "false", "null", "inf", "nan", "none"))
NON_FINITE = st.sampled_from(["inf", "-inf", "nan", "+inf", "1e999"])


def ov(key: str, values: st.SearchStrategy, *extra: str, fmt: str = "{}") -> st.SearchStrategy:
    """[*extra, key=VALUE] for each generated value."""
    return values.map(lambda v: [*extra, f"{key}={fmt.format(v)}"])


def int_list(bad: st.SearchStrategy) -> st.SearchStrategy:
    """A list of positive ints with one bad entry somewhere."""
    good = st.lists(st.integers(1, 64), max_size=3)
    return st.tuples(good, bad, good).map(
        lambda t: "[" + ",".join(map(str, [*t[0], t[1], *t[2]])) + "]"
    )


CSV = ["data=csv", "data.path=d.csv", "data.features=[x]", "data.target=y"]
ABSENT_COLUMN = TEXT.filter(lambda w: w not in ("x", "y"))

# kind -> (the key the message must name, overrides)
KINDS: dict[str, tuple[str, st.SearchStrategy]] = {
    "hidden_units text": ("hidden_units", ov("hidden_units", TEXT)),
    "hidden_units bare int": ("hidden_units", ov("hidden_units", st.integers(1, 999))),
    "hidden_units non-positive entry": ("hidden_units", ov("hidden_units", int_list(NON_POS))),
    "hidden_units float entry": (
        "hidden_units",
        ov("hidden_units", int_list(st.floats(0.1, 99).filter(lambda f: not f.is_integer()))),
    ),
    "hidden_units text entry": ("hidden_units", ov("hidden_units", int_list(TEXT))),
    "hidden_units nested list": (
        "hidden_units",
        ov("hidden_units", st.integers(1, 9), fmt="[[{}]]"),
    ),
    "hidden_units null": ("hidden_units", st.just(["hidden_units=null"])),
    "seed negative": ("seed", ov("seed", NEG_INT)),
    "seed too large": ("seed", ov("seed", st.integers(2**32, 2**62))),
    "seed float": ("seed", ov("seed", st.floats(0.1, 1e6).filter(lambda f: not f.is_integer()))),
    "activation unknown": (
        "activation",
        ov("activation", TEXT.filter(lambda w: w not in ACTIVATIONS)),
    ),
    "device unknown": (
        "device",
        ov("device", TEXT.filter(lambda w: w not in ("auto", "cpu", "cuda"))),
    ),
    "train.epochs non-positive": ("train.epochs", ov("train.epochs", NON_POS)),
    "train.epochs text": ("train.epochs", ov("train.epochs", TEXT)),
    "train.batch_size non-positive": ("train.batch_size", ov("train.batch_size", NON_POS)),
    "train.eval_every non-positive": ("train.eval_every", ov("train.eval_every", NON_POS)),
    "train.compile not a bool": ("train.compile", ov("train.compile", st.integers(2, 99))),
    "optimizer.lr non-positive": ("optimizer.lr", ov("optimizer.lr", st.floats(-1e6, 0))),
    "optimizer.lr text": ("optimizer.lr", ov("optimizer.lr", TEXT)),
    "optimizer.lr not finite": (
        "optimizer.lr",
        ov("optimizer.lr", st.sampled_from(["inf", "nan", "-inf"])),
    ),
    "optimizer.beta1 out of [0,1)": ("optimizer.beta1", ov("optimizer.beta1", AT_LEAST_ONE)),
    "optimizer.beta2 negative": ("optimizer.beta2", ov("optimizer.beta2", NEG_FLOAT)),
    "optimizer.eps non-positive": ("optimizer.eps", ov("optimizer.eps", st.floats(-1, 0))),
    "penalty.lam negative": ("penalty.lam", ov("penalty.lam", NEG_FLOAT, "penalty=l2")),
    "penalty.lam wrong list length": (
        "penalty.lam",
        ov(
            "penalty.lam",
            st.lists(st.floats(0, 1), min_size=3, max_size=6).map(
                lambda xs: "[" + ",".join(f"{x:g}" for x in xs) + "]"
            ),
            "penalty=l1",
        ),
    ),
    "penalty.lam text": ("penalty.lam", ov("penalty.lam", TEXT, "penalty=l2")),
    "penalty.l1_lam negative entry": (
        "penalty.l1_lam",
        ov("penalty.l1_lam", NEG_FLOAT, "penalty=l1_l2", fmt="[0.1,{}]"),
    ),
    "penalty.biases not a bool": ("penalty.biases", ov("penalty.biases", TEXT, "penalty=l2")),
    "unknown top-level key": ("zz", ov("zz", st.integers(), fmt="{}")),
    "unknown nested key": ("train.zz", ov("train.zz", st.integers())),
    "unknown penalty": ("penalty", ov("penalty", TEXT.filter(lambda w: not w.startswith("l")))),
    "unknown optimizer": (
        "optimizer",
        ov("optimizer", TEXT.filter(lambda w: w not in ("sgd", "adam"))),
    ),
    "unknown data set": ("data", ov("data", TEXT.filter(lambda w: w != "csv"))),
    "unknown experiment": ("experiment", ov("+experiment", TEXT)),
    "group set as a value": ("penalty", ov("penalty.name", TEXT.filter(lambda w: w != "none"))),
    "malformed: unclosed list": ("hidden_units", ov("hidden_units", st.integers(1, 9), fmt="[{}")),
    "malformed: stray bracket": (
        "hidden_units",
        ov("hidden_units", st.integers(1, 9), fmt="[{}]]"),
    ),
    "malformed: no key": ("override", ov("", st.integers())),
    "comma sweep in run": (
        "seed",
        st.tuples(st.integers(0, 9), st.integers(0, 9)).map(lambda t: [f"seed={t[0]},{t[1]}"]),
    ),
    "data.n_train below 2": ("data.n_train", ov("data.n_train", st.integers(-9, 1))),
    "data.noise negative": ("data.noise", ov("data.noise", NEG_FLOAT)),
    "data.x_max below x_min": ("data.x_max", ov("data.x_max", st.floats(-1e6, -1))),
    "data.label_noise >= 0.5": (
        "data.label_noise",
        ov("data.label_noise", st.floats(0.5, 1e3), "data=classification"),
    ),
    "csv missing file": ("data.path", ov("data.path", TEXT, *CSV[:1], *CSV[2:], fmt="{}.csv")),
    "csv missing feature column": (
        "data.features",
        ov("data.features", ABSENT_COLUMN, *CSV[:2], CSV[3], fmt="[x,{}]"),
    ),
    "csv missing target column": ("data.target", ov("data.target", ABSENT_COLUMN, *CSV[:3])),
    "csv val_fraction >= 1": ("data.val_fraction", ov("data.val_fraction", AT_LEAST_ONE, *CSV)),
    "plots.smoothing >= 1": ("plots.smoothing", ov("plots.smoothing", AT_LEAST_ONE)),
    "plots.max_units non-positive": ("plots.max_units", ov("plots.max_units", NON_POS)),
    "init.stddev non-positive": ("init.stddev", ov("init.stddev", st.floats(-1e3, 0))),
    "init.strategy unknown": (
        "init.strategy",
        ov("init.strategy", TEXT.filter(lambda w: w not in ("default", "search", "grid"))),
    ),
    "block set to a number": ("train", ov("train", st.integers())),
    "block set to text": ("plots", ov("plots", TEXT)),
    "group set to a list or number": ("optimizer", ov("optimizer", st.integers(), fmt="[{}]")),
    "unresolvable interpolation": (
        "hidden_units",
        ov("hidden_units", TEXT, fmt="${{oc.env:NO_{}}}"),
    ),
    "self-referencing interpolation": ("seed", st.just(["seed=${seed}"])),
    "append to an existing key": ("seed", ov("+seed", st.integers(0, 9))),
    "character outside the grammar": ("activation", ov("activation", TEXT, fmt="{}ŕ")),
    "logger unknown": ("logger", ov("logger", TEXT.filter(lambda w: w not in LOGGERS))),
    # non-finite numbers, wherever a number is read
    "penalty.lam not finite": (
        "penalty.lam",
        st.tuples(st.sampled_from(["l1", "l2", "l1_l2"]), NON_FINITE).map(
            lambda t: [f"penalty={t[0]}", f"penalty.lam={t[1]}"]
        ),
    ),
    "penalty.lam list with a non-finite entry": (
        "penalty.lam",
        ov("penalty.lam", NON_FINITE, "penalty=l2", fmt="[0.1,{}]"),
    ),
    "penalty.l1_lam not finite": (
        "penalty.l1_lam",
        ov("penalty.l1_lam", NON_FINITE, "penalty=l1_l2"),
    ),
    "data.noise not finite": ("data.noise", ov("data.noise", NON_FINITE)),
    "data.x_min not finite": ("data.x_min", ov("data.x_min", NON_FINITE)),
    "init.mean not finite": ("init.mean", ov("init.mean", NON_FINITE)),
    "init.stddev not finite": ("init.stddev", ov("init.stddev", NON_FINITE)),
    "plots.smoothing not finite": ("plots.smoothing", ov("plots.smoothing", NON_FINITE)),
    "optimizer.eps not finite": ("optimizer.eps", ov("optimizer.eps", NON_FINITE)),
    "data.label_noise not finite": (
        "data.label_noise",
        ov("data.label_noise", NON_FINITE, "data=classification"),
    ),
    # a CSV file's values and columns
    "csv non-finite value": (
        "data.path",
        st.sampled_from(["inf", "-inf", "Infinity", "nan", "", "x1"]).map(
            lambda v: [*CSV[:1], "data.path=bad.csv", *CSV[2:], f"+fuzz_value={v or 'blank'}"]
        ),
    ),
    "csv target among the features": (
        "data.target",
        st.sampled_from(["[y]", "[x,y]", "[y,x]"]).map(
            lambda f: [*CSV[:2], f"data.features={f}", CSV[3]]
        ),
    ),
    "csv feature list empty": ("data.features", st.just([*CSV[:2], "data.features=[]", CSV[3]])),
    # integers too big for 64 bits, for this machine's memory, or long without --yes
    "integer of more than 18 digits": (
        "train.epochs",
        ov("train.epochs", st.integers(10**18, 10**40)),
    ),
    "hidden_units entry of more than 18 digits": (
        "hidden_units",
        ov("hidden_units", int_list(st.integers(10**18, 10**40))),
    ),
    "hidden_units too wide for memory": (
        "hidden_units",
        ov("hidden_units", int_list(st.integers(10**9, 10**17))),
    ),
    "train.epochs long": ("train.epochs", ov("train.epochs", st.integers(10**6 + 1, 10**17))),
    "data.n_train long": ("data.n_train", ov("data.n_train", st.integers(10**6 + 1, 10**17))),
    "data.n_val long": ("data.n_val", ov("data.n_val", st.integers(10**6 + 1, 10**17))),
    "init.candidates too many for memory": (
        "init.candidates",
        ov("init.candidates", st.integers(10**11, 10**17), "init.strategy=search"),
    ),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "d.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    return d


def _bad_csv(folder: Path, overrides: list[str]) -> list[str]:
    """The fuzz_value the "csv non-finite value" kind asks for, written into bad.csv."""
    value = next((o.split("=", 1)[1] for o in overrides if o.startswith("+fuzz_value=")), None)
    if value is None:
        return overrides
    cell = "" if value == "blank" else value
    rows = "".join(f"{i},{i % 2}\n" for i in range(20))
    (folder / "bad.csv").write_text(f"x,y\n{rows}{cell},1\n")
    return [o for o in overrides if not o.startswith("+fuzz_value=")]


@contextlib.contextmanager
def _inside(folder: Path):
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _run(overrides: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", *overrides])
    return code, err.getvalue()


@pytest.mark.parametrize("kind", list(KINDS))
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_bad_override_gets_one_line_naming_its_key(kind, data, workdir):
    key, strategy = KINDS[kind]
    overrides = _bad_csv(workdir, data.draw(strategy))
    with _inside(workdir):
        code, err = _run(overrides)
    assert code == 2, (overrides, err)
    assert err.startswith("regexp: error: ") and err.count("\n") == 1, (overrides, err)
    assert key in err and "Traceback" not in err, (overrides, err)
    assert not (workdir / "outputs").exists(), overrides


SUBPROCESS_EXAMPLES = {
    "hidden_units text entry": ["hidden_units=[4,x]"],
    "malformed: stray bracket": ["hidden_units=[4]]"],
    "csv missing target column": [*CSV[:3], "data.target=zz"],
    "unknown experiment": ["+experiment=nope"],
}


@pytest.mark.parametrize(
    "kind",
    [
        "hidden_units text entry",
        "malformed: stray bracket",
        "csv missing target column",
        "unknown experiment",
    ],
)
def test_bad_override_in_a_real_process(kind, workdir):
    key, strategy = KINDS[kind]
    overrides = SUBPROCESS_EXAMPLES[kind]
    proc = subprocess.run(
        [sys.executable, "-m", "regexp.cli", "run", *overrides],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("regexp: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert key in proc.stderr and "Traceback" not in proc.stderr
