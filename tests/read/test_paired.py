"""regexp.read.paired through `regexp compare --paired KEY=A,B --over PAIR`: the effect of B
against A over the pairs, its interval, k of n, the probability of improvement, a verdict."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regexp.config.errors import UsageError
from regexp.read.compare import cli
from tests.fixtures_runs import make_sweep, metrics
from tests.read.conftest import DRAW_VALUES


def _csv(tmp_path: Path, *args: str) -> pd.DataFrame:
    out = tmp_path / "table.csv"
    assert cli([*args, "--out", str(out)]) == 0
    return pd.read_csv(out)


def test_paired_compares_two_penalties_over_the_draws_both_have(draws, tmp_path, capsys):
    out = tmp_path / "paired.csv"
    args = [str(draws), "--paired", "penalty.lam=0.01,0.001", "--over", "data.seed"]
    assert cli([*args, "--out", str(out)]) == 0
    (row,) = pd.read_csv(out).to_dict("records")
    a, b = DRAW_VALUES[0.01][:4], DRAW_VALUES[0.001][:4]  # draw 5 of 0.001 failed: 4 pairs
    logs = np.log(np.array(b) / np.array(a))
    assert (row["pairs"], row["a"], row["b"], row["effect"]) == (
        4,
        "penalty.lam=0.01",
        "penalty.lam=0.001",
        "b / a",
    )
    assert row["effect_estimate"] == pytest.approx(np.exp(logs.mean()))
    half = 3.182446 * logs.std(ddof=1) / 2  # t(0.975, 3)
    assert row["effect_ci95_low"] == pytest.approx(np.exp(logs.mean() - half), rel=1e-5)
    assert row["effect_ci95_high"] == pytest.approx(np.exp(logs.mean() + half), rel=1e-5)
    assert row["b_better"] == 0 and row["verdict"] == "penalty.lam=0.01 better"
    assert row["p_b_better"] < 0.05
    shown = capsys.readouterr().out
    assert "b / a = 1.209 [1.107, 1.32]" in shown and "0 of 4 [0.00, 0.49]" in shown
    assert "95 % t-interval" in shown


def test_paired_accuracy_is_a_difference_and_higher_is_better(tmp_path):
    jobs = [dict(config={"penalty.lam": lam, "data.seed": s, "data.task": "classification"},
                 result=metrics(0.1, val_accuracy=acc))
            for lam, accs in ((0.0, [0.86, 0.85, 0.87]), (0.01, [0.90, 0.88, 0.91]))
            for s, acc in enumerate(accs)]  # fmt: skip
    sweep = make_sweep(tmp_path / "acc", jobs)
    table = _csv(tmp_path, str(sweep), "--paired", "penalty.lam=0,0.01", "--over", "data.seed")
    row = table.iloc[0]
    assert row["metric"] == "val_accuracy" and row["effect"] == "b - a"
    assert row["effect_estimate"] == pytest.approx(0.0366667, abs=1e-6)
    assert row["b_better"] == 3 and row["verdict"] == "penalty.lam=0.01 better"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--paired", "penalty.lam=0.01"], "--paired: give KEY=A,B (two values of one key)"),
        (["--paired", "nope=1,2", "--over", "data.seed"], "--paired: no key 'nope'"),
        (["--paired", "penalty.lam=0.01,0.001"], "--paired: give the one key runs are paired on"),
        (["--paired", "penalty.lam=0.01,0.5", "--over", "data.seed"],
         "--paired: no ok run with penalty.lam=0.5; values: 0.001, 0.01"),
        (["--metric", "val_mse"], "--metric: goes with --paired"),
    ],
)  # fmt: skip
def test_paired_usage_errors(draws, args, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        cli([str(draws), *args])


def test_no_pair_is_one_line(tmp_path):
    jobs = [dict(config={"penalty.lam": lam, "data.seed": seed}, result=metrics(0.02))
            for lam, seeds in ((0.01, (1, 2)), (0.001, (3, 4))) for seed in seeds]  # fmt: skip
    sweep = make_sweep(tmp_path / "apart", jobs)
    message = (
        "--paired: no data.seed value has ok runs of both penalty.lam=0.01 and penalty.lam=0.001"
    )
    with pytest.raises(UsageError, match=re.escape(message)):
        cli([str(sweep), "--paired", "penalty.lam=0.01,0.001", "--over", "data.seed"])
