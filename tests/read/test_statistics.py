"""regexp.read.statistics: intervals against published values, and the sequential rule's
error under optional stopping by simulation (numpy, vectorized: thousands of lessons)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regexp.read import statistics as st

TRIALS = 20_000
PLAN = st.Plan(first=5, batch=5, draws_max=20)  # `make reproduce DRAWS=auto`'s default


def test_wilson_matches_published_values():
    # Brown, Cai & DasGupta 2001 / Newcombe 1998 (Stat. Med. 17, table I): 81 of 263 gives
    # 0.2553-0.3662 by the Wilson score method; 4 of 5 about 0.38-0.96 (issue 34)
    low, high = st.wilson(81, 263)
    assert (low, high) == (pytest.approx(0.2553, abs=5e-5), pytest.approx(0.3662, abs=5e-5))
    low, high = st.wilson(4, 5)
    assert (round(low, 2), round(high, 2)) == (0.38, 0.96)
    assert st.wilson(5, 5)[1] == 1.0 and st.wilson(0, 5)[0] == 0.0
    assert st.wilson(0, 0) == (0.0, 1.0)


def test_t_interval_of_a_mean():
    # mean 3, s = 1.5811, n = 5: t(0.975, 4) = 2.7764, half-width 1.9632
    found = st.mean_interval([1, 2, 3, 4, 5])
    assert (found.estimate, found.n) == (3.0, 5)
    assert (found.low, found.high) == (pytest.approx(1.0368, abs=1e-4),
                                       pytest.approx(4.9632, abs=1e-4))  # fmt: skip
    one = st.mean_interval([2.0, float("nan")])
    assert one.estimate == 2.0 and math.isnan(one.low) and one.n == 1
    assert math.isnan(st.mean_interval([]).estimate)
    same = st.mean_interval([0.5, 0.5, 0.5])
    assert (same.low, same.high) == (0.5, 0.5)


def test_an_interval_stops_at_the_values_the_quantity_can_take():
    """Three MSEs, one far off: the t-interval reaches below 0, where no mean of MSEs can be;
    cut to [0, inf) it covers whatever the whole interval covers."""
    whole = st.mean_interval([0.01, 0.01, 0.5])
    assert whole.low < 0
    cut = st.mean_interval([0.01, 0.01, 0.5], support=(0.0, math.inf))
    assert (cut.estimate, cut.low, cut.high) == (whole.estimate, 0.0, whole.high)
    low, high = st.t_bounds([0.9, 0.5], [0.2, 0.01], [3, 3], support=(0.0, 1.0))
    assert high[0] == 1.0 and low[1] == pytest.approx(0.5 - 4.302653 * 0.01 / 3**0.5)


def test_welch_interval_against_a_hand_computation():
    # a: mean 2, var 1 (n 3); b: mean 5, var 4 (n 3): se = sqrt(1/3 + 4/3) = 1.2910,
    # df = (5/3)^2 / ((1/9 + 16/9) / 2) = 2.9412, t(0.975, 2.9412) = 3.2184
    found = st.welch_interval([1, 2, 3], [3, 5, 7])
    assert found.estimate == -3.0
    assert found.high - found.estimate == pytest.approx(1.2910 * 3.2184, abs=2e-3)


def test_verdict_and_the_probability_of_improvement():
    assert st.verdict(0.1, 0.3) == "holds" and st.verdict(-0.3, -0.1) == "fails"
    assert st.verdict(-0.1, 0.3) == "undecided" and st.verdict(math.nan, 1) == "undecided"
    assert st.verdict(-0.3, -0.1, above=False) == "holds"  # a lesson that wants it lower
    assert st.verdict(1.2, 1.5, bound=1.1, above=False) == "fails"
    # mean 1, s = sqrt(2/3), n 4: x = 1 / (s sqrt(1.25)); Student's t with 3 degrees of
    # freedom has a closed-form distribution function
    x = 1 / (math.sqrt(2 / 3) * math.sqrt(1.25))
    t3 = 0.5 + (x / (math.sqrt(3) * (1 + x * x / 3)) + math.atan(x / math.sqrt(3))) / math.pi
    assert st.p_improvement([0, 1, 1, 2]) == pytest.approx(t3, abs=1e-9)
    assert st.p_improvement([0, 1, 1, 2], above=False) == pytest.approx(1 - t3, abs=1e-9)
    assert st.p_improvement([1.0]) is None and st.p_improvement([2.0, 2.0], bound=1) == 1.0


def test_the_plan_looks_and_confidence():
    assert PLAN.looks == [5, 10, 15, 20] and PLAN.confidence == pytest.approx(0.9875)
    assert st.Plan(5, 5, 12).looks == [5, 10, 12]
    assert st.Plan.fixed(7).looks == [7] and st.Plan.fixed(7).confidence == pytest.approx(0.95)
    assert PLAN.looks_within(12) == [5, 10] and PLAN.next_look(10) == 15
    assert PLAN.next_look(20) is None


def _decided_share(effects: np.ndarray, plan: st.Plan) -> float:
    code, *_ = st.decide(effects, plan)
    return float((code != 0).mean())


@pytest.mark.parametrize("noise", ["normal", "student_t3", "skewed", "weakest_of_4"])
def test_no_effect_is_declared_decided_at_most_5_percent_under_optional_stopping(noise):
    """True effect zero: looking at 5, 10, 15 and 20 draws and stopping as soon as a lesson is
    decided declares it decided (holds or fails) in at most 5 % of the lessons, within three
    standard errors of the simulation; the same looks without the Bonferroni split exceed it
    (the optional-stopping inflation the rule is there to prevent). Effects: normal, heavy
    tailed (t, 3 degrees of freedom), skewed (a lognormal of skewness 0.78, centred) and a
    chain's weakest of four normal pairs (centred). The t-interval's limit: effects of
    skewness above 1 exceed 5 % at 5 draws, with or without looks (README)."""
    rng = np.random.default_rng(34)
    shape = (TRIALS, PLAN.draws_max)
    effects = {
        "normal": lambda: rng.normal(0.0, 1.0, shape),
        "student_t3": lambda: rng.standard_t(3, shape),
        "skewed": lambda: rng.lognormal(0.0, 0.25, shape) - math.exp(0.25**2 / 2),
        "weakest_of_4": lambda: rng.normal(0.0, 1.0, (*shape, 4)).min(-1) + 1.0293754,
    }[noise]()
    sampling_error = 3 * math.sqrt(0.05 * 0.95 / TRIALS)
    assert _decided_share(effects, PLAN) <= 0.05 + sampling_error
    naive = st.Plan(first=5, batch=5, draws_max=20, alpha=0.05 * len(PLAN.looks))
    assert naive.confidence == pytest.approx(0.95)
    if noise == "normal":
        assert _decided_share(effects, naive) > 0.05 + sampling_error


def test_a_real_effect_is_decided_on_its_side():
    """An effect of one standard deviation is decided as holding in nine lessons of ten or
    more by 20 draws, and never as failing; an effect of three is decided at the first look."""
    rng = np.random.default_rng(35)
    code, at, mean, low, high = st.decide(rng.normal(1.0, 1.0, (TRIALS, 20)), PLAN)
    assert (code == 1).mean() > 0.9 and (code == -1).sum() == 0
    assert set(np.unique(at)) <= {5, 10, 15, 20}
    assert (low[code == 1] > 0).all()
    code, at, *_ = st.decide(rng.normal(-3.0, 1.0, (2000, 20)), PLAN, above=False)
    assert (code == 1).mean() > 0.9 and (at[code == 1] == 5).mean() > 0.9


def test_decide_one_freezes_a_decided_lesson_and_says_how_many_draws_to_add():
    clear = [1.0, 1.1, 0.9, 1.05, 0.95] + [-5.0] * 5  # decided at 5, whatever follows
    decision = st.decide_one(clear, PLAN)
    assert (decision.verdict, decision.decided_at, decision.draws) == ("holds", 5, 5)
    assert decision.effect.estimate == pytest.approx(1.0)
    noisy = st.decide_one([1.0, -1.0, 0.5, -0.5, 0.2, 0.1, -0.3, 0.4, -0.2, 0.3], PLAN)
    assert (noisy.verdict, noisy.decided_at, noisy.draws) == ("undecided", None, 10)
    assert st.draws_to_add([decision, noisy], PLAN, 10) == 15
    assert st.draws_to_add([decision], PLAN, 10) == 0
    assert st.draws_to_add([noisy], PLAN, 20) == 0  # draws_max reached
    short = st.decide_one([1.0, 2.0, 3.0], PLAN)  # no planned look reached yet
    assert (short.verdict, short.draws) == ("undecided", 0)
    assert st.draws_to_add([short], PLAN, 3) == 5
