"""regexp.tools.ewma against a direct evaluation of v_t = β v_{t-1} + (1 − β) θ_t."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from regexp.config.errors import UsageError
from regexp.tools.ewma import ARTICLE_BETAS, cli, ewma, noisy_year, window


def direct(series, beta, bias_correction=True):
    """The article's recursion, one point at a time, as TensorBoard's smoothing loop does."""
    v, t, out = 0.0, 0, []
    for theta in series:
        if not math.isfinite(theta):
            out.append(theta)  # passes through, the count does not advance
            continue
        v = beta * v + (1 - beta) * theta
        t += 1
        out.append(v / (1 - beta**t) if bias_correction else v)
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98, 0.999])
@pytest.mark.parametrize("corrected", [True, False])
def test_matches_the_recursion(beta, corrected):
    theta = noisy_year(seed=3)
    np.testing.assert_allclose(
        ewma(theta, beta, corrected), direct(theta, beta, corrected), rtol=1e-12, atol=1e-12
    )


def test_article_windows():
    assert [window(b) for b in ARTICLE_BETAS] == pytest.approx([2, 10, 50], rel=1e-12)
    # The weight β^T of the point one window back is about 1/e for 0.9 and 0.98.
    for beta in (0.9, 0.98):
        assert beta ** window(beta) == pytest.approx(math.exp(-1), abs=0.02)
    # Of an impulse, the uncorrected average keeps weight (1 − β) β^k after k more points.
    impulse = np.zeros(60)
    impulse[0] = 1.0
    v = ewma(impulse, 0.9, bias_correction=False)
    np.testing.assert_allclose(v, 0.1 * 0.9 ** np.arange(60), rtol=1e-12)


def test_bias_corrected_start():
    theta = noisy_year(seed=1)
    beta = 0.98
    corrected, raw = ewma(theta, beta), ewma(theta, beta, bias_correction=False)
    assert corrected[0] == pytest.approx(theta[0], rel=1e-12)  # v_1 / (1 − β) = θ_1
    assert raw[0] == pytest.approx((1 - beta) * theta[0], rel=1e-12)  # pulled towards v_0 = 0
    t = np.arange(1, len(theta) + 1)
    np.testing.assert_allclose(raw, corrected * (1 - beta**t), rtol=1e-12)
    # After many windows the correction no longer matters.
    assert abs(raw[-1] - corrected[-1]) < 1e-3 * abs(corrected[-1])


def test_non_finite_points_pass_through_without_counting():
    series = [1.0, float("nan"), 3.0, float("inf"), -float("inf"), 2.0]
    out = ewma(series, 0.9)
    finite = ewma([1.0, 3.0, 2.0], 0.9)
    assert np.isnan(out[1]) and out[3] == np.inf and out[4] == -np.inf
    np.testing.assert_allclose(out[[0, 2, 5]], finite, rtol=1e-12)
    np.testing.assert_allclose(out, direct(series, 0.9), rtol=1e-12)
    assert np.isnan(ewma([float("nan")] * 3, 0.5)).all()


def test_constant_series_comes_back_unchanged():
    series = [2.5, 2.5, float("nan"), 2.5, 2.5]
    out = ewma(series, 0.98)
    assert out[0] == out[1] == out[3] == out[4] == 2.5 and np.isnan(out[2])
    np.testing.assert_array_equal(ewma(np.full(100, 0.1), 0.9), np.full(100, 0.1))


def test_input_types_and_errors():
    values = [3.0, 1.0, 4.0, 1.0, 5.0]
    expected = direct(values, 0.5)
    for series in (values, np.array(values), torch.tensor(values), pd.Series(values)):
        np.testing.assert_allclose(ewma(series, 0.5), expected, rtol=1e-6)
    assert ewma([], 0.5).shape == (0,)
    with pytest.raises(ValueError, match="beta"):
        ewma(values, 1.0)
    with pytest.raises(ValueError, match="1-D"):
        ewma(np.ones((2, 2)), 0.5)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    st.floats(0.0, 0.999),
)
def test_corrected_average_stays_within_the_data_so_far(values, beta):
    # v_t / (1 − β^t) is a convex combination of θ_1..θ_t.
    out = ewma(values, beta)
    arr = np.array(values)
    lo, hi = np.minimum.accumulate(arr), np.maximum.accumulate(arr)
    slack = 1e-9 * (1 + np.abs(arr).max())
    assert np.all(out >= lo - slack) and np.all(out <= hi + slack)


def test_cli_writes_the_article_figure_and_table(tmp_path, capsys):
    assert cli(["--out", str(tmp_path), "--seed", "7"]) == 0
    (folder,) = [p for p in tmp_path.glob("*/*") if p.is_dir()]
    assert str(folder) in capsys.readouterr().out
    assert (folder / "ewma.png").stat().st_size > 10_000
    table = pd.read_csv(folder / "ewma.csv")
    assert len(table) == 365
    theta = table["theta"].to_numpy()
    for beta in ARTICLE_BETAS:
        # The CSV keeps 6 significant digits.
        np.testing.assert_allclose(table[f"ewma_{beta:g}"], direct(theta, beta), rtol=1e-5)
        np.testing.assert_allclose(
            table[f"ewma_{beta:g}_uncorrected"], direct(theta, beta, False), rtol=1e-5
        )


def test_cli_rejects_bad_beta():
    # a UsageError: the CLI prints it as one line with exit code 2 (tests/test_bad_input.py)
    with pytest.raises(UsageError, match=r"beta must lie in \[0, 1\), got 1.5"):
        cli(["--betas", "1.5"])
