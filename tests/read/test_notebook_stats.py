"""The notebook's lessons over a folder's draws: verdicts, effects with their intervals, k of
n with Wilson's interval, the draws each lesson needed, and the plan's next look."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from regexp.read.notebook_folder import load_figures, load_runs
from regexp.read.notebook_lessons import SHIPPED_SEED
from regexp.read.notebook_output import print_lessons
from regexp.read.notebook_stats import ALL, report_of
from regexp.read.statistics import Plan
from tests.read.reproduce_folders import published_runs, scaled, write_runs

RATIOS = [0.8, 0.85, 0.9, 0.82, 0.88, 1.05, 0.84, 0.86, 0.83, 0.87]  # L2 0.001 / somany


def _folder(tmp_path, draws: int, l1_ratios=None):
    """draws draws of the published runs, L2 0.001's validation MSE RATIOS[d] x somany's,
    L1 0.001's l1_ratios[d] x somany's (else as published), the MSEs scaled per draw."""
    root = tmp_path / "reproduce"
    for d in range(draws):
        runs = scaled(published_runs(), 1 + d / 10, (0.86 + d / 1000, 0.87, 0.90))
        somany = runs["model_somany"]["val_mse"]
        runs["model_somany_l2_0p001"]["val_mse"] = somany * RATIOS[d]
        if l1_ratios is not None:
            runs["model_somany_l1_0p001"]["val_mse"] = somany * l1_ratios[d]
        write_runs(root, runs, draw=SHIPPED_SEED if d == 0 else d)
    return load_runs(root)


def _lessons(report):
    return {r.lesson.key: r for r in report.lessons}


def test_five_draws_one_look_the_effect_is_the_geometric_mean_with_its_t_interval(tmp_path):
    report = report_of(_folder(tmp_path, 5), load_figures())
    assert report.plan.looks == [5] and report.next_draws == 0
    l2 = _lessons(report)["l2_0p001_lowers_val"]
    logs = np.log(RATIOS[:5])
    half = stats.t.ppf(0.975, 4) * logs.std(ddof=1) / math.sqrt(5)
    estimate, low, high = l2.effect
    assert estimate == pytest.approx(math.exp(logs.mean()))
    assert (low, high) == (pytest.approx(math.exp(logs.mean() - half)),
                           pytest.approx(math.exp(logs.mean() + half)))  # fmt: skip
    assert (l2.verdict, l2.holds, l2.used, l2.decision.decided_at) == ("holds", 5, 5, 5)
    assert l2.wilson95 == (pytest.approx(0.5655, abs=1e-4), 1.0)
    # a new draw's log ratio below 0: Student's t predictive, scale s * sqrt(1 + 1/5)
    chance = stats.t.cdf(-logs.mean() / (logs.std(ddof=1) * math.sqrt(1.2)), 4)
    assert l2.p_improvement == pytest.approx(chance)
    assert l2.notebook is True and not l2.failing
    # the shipped numbers' ratios, unchanged by the scaling: every MSE lesson holds on each
    # draw, but one ratio repeated has no spread: an interval of zero width, decided
    deeper = _lessons(report)["deeper"]
    assert deeper.verdict == "holds" and deeper.effect[1] == pytest.approx(deeper.effect[2])
    accuracy = _lessons(report)["classification_l2_0p01_beats_unpenalized"]
    assert accuracy.effect[0] == pytest.approx(0.90 - 0.862)
    assert report.spreads[0].values == pytest.approx([0.0427819 / 0.00960591] * 5)


def test_a_lesson_on_the_other_side_fails_and_its_failing_draws_are_named(tmp_path):
    l1 = [1.2, 1.25, 1.1, 1.3, 1.15]
    report = report_of(_folder(tmp_path, 5, l1), load_figures())
    found = _lessons(report)["l1_0p001_lowers_val"]
    assert (found.verdict, found.holds) == ("fails", 0)
    assert found.effect[1] > 1
    assert [d for d, _ in found.failing] == [SHIPPED_SEED, 1, 2, 3, 4]
    assert found.failing[0][1] == "somany_l1_0p001 0.03559 / somany 0.02966 = 1.2x >= 1"


def test_the_sequential_plan_decides_each_lesson_at_its_first_clear_look(tmp_path):
    """Looks at 5 and 10 draws, each at 97.5 %: the L2 lesson is decided at 5; an L1 lesson
    whose ratios wander around 1 is not decided by 10 (the last look: nothing to add)."""
    l1 = [0.9, 1.1, 0.95, 1.05, 1.0, 0.92, 1.08, 0.97, 1.02, 0.99]
    plan = Plan(first=5, batch=5, draws_max=10)
    report = report_of(_folder(tmp_path, 10, l1), load_figures(), plan)
    l2, l1_found = _lessons(report)["l2_0p001_lowers_val"], _lessons(report)["l1_0p001_lowers_val"]
    assert (l2.verdict, l2.decision.decided_at, l2.used) == ("holds", 5, 5)
    assert (l1_found.verdict, l1_found.decision.decided_at, l1_found.used) == (
        "undecided",
        None,
        10,
    )
    assert report.next_draws == 0  # draws_max reached
    at_five = report_of(_folder(tmp_path / "five", 5, l1), load_figures(), Plan(5, 5, 20))
    assert at_five.next_draws == 10
    assert [r.lesson.key for r in at_five.undecided] == ["l1_0p001_lowers_val"]
    # the next draws go to the sweeps L1's lesson reads: somany (penalties-none) and L1
    # (penalties-l1-0p001); a model only decided lessons read needs the draws that decided them
    assert at_five.sweeps_to_run() == ["penalties-none", "penalties-l1-0p001"]
    assert report.draws_needed()["model_somany_l2_0p001"] == 5  # decided at 5
    assert report.draws_needed()["model_somany"] == 10  # L1, undecided, reads it
    assert report.draws_needed()["model_8units"] == 5  # the plan's first look at least


def test_a_lesson_decided_early_does_not_miss_the_draws_it_never_asked_for(tmp_path):
    """DRAWS=auto adds draws only to the sweeps an undecided lesson reads: L2 0.001's model,
    decided at 5, has no runs on draws 6-10, and its lesson names no draw as missing; the
    undecided L1 lesson still names a draw whose runs are missing."""
    l1 = [0.9, 1.1, 0.95, 1.05, 1.0, 0.92, 1.08, 0.97, 1.02, 0.99]
    root = tmp_path / "reproduce"
    for d in range(10):
        runs = scaled(published_runs(), 1 + d / 10, (0.86 + d / 1000, 0.87, 0.90))
        somany = runs["model_somany"]["val_mse"]
        runs["model_somany_l2_0p001"]["val_mse"] = somany * RATIOS[d]
        runs["model_somany_l1_0p001"]["val_mse"] = somany * l1[d]
        if d >= 5:
            del runs["model_somany_l2_0p001"]
        if d == 7:
            del runs["model_somany_l1_0p001"]
        write_runs(root, runs, draw=SHIPPED_SEED if d == 0 else d)
    report = report_of(load_runs(root), load_figures(), Plan(first=5, batch=5, draws_max=10))
    l2, l1_found = _lessons(report)["l2_0p001_lowers_val"], _lessons(report)["l1_0p001_lowers_val"]
    assert (l2.verdict, l2.used, l2.unknown) == ("holds", 5, [])
    assert l1_found.verdict == "undecided"
    assert [d for d, _ in l1_found.unknown] == [report.draws[7]]


def test_only_the_published_lessons_add_draws_unless_all_are_asked_for(tmp_path, capsys):
    """Our own lesson (L2 0.01 against somany) wanders around 1 while every published one is
    decided at 5: by default no draws are added and its model needs only the 5 it has;
    draws_for=all adds the next look's draws to the two sweeps it reads."""
    wander = [0.9, 1.1, 0.95, 1.05, 1.0]
    root = tmp_path / "reproduce"
    for d in range(5):
        runs = scaled(published_runs(), 1 + d / 10, (0.86 + d / 1000, 0.87, 0.90))
        somany = runs["model_somany"]["val_mse"]
        runs["model_somany_l2_0p01"]["val_mse"] = somany * wander[d]
        write_runs(root, runs, draw=SHIPPED_SEED if d == 0 else d)
    runs, plan = load_runs(root), Plan(first=5, batch=5, draws_max=20)
    report = report_of(runs, load_figures(), plan)
    assert [r.lesson.key for r in report.undecided] == ["l2_0p01_lowers_val"]
    assert report.waiting == [] and report.next_draws == 0 and report.sweeps_to_run() == []
    assert report.draws_needed()["model_somany_l2_0p01"] == 5
    print_lessons(report, load_figures())
    out = capsys.readouterr().out
    assert "adds none" in out and "the plan's next look" not in out
    assert "l2_0p01_lowers_val: undecided on the draws it has; draws are added for the" in out
    every = report_of(runs, load_figures(), plan, ALL)
    assert [r.lesson.key for r in every.waiting] == ["l2_0p01_lowers_val"]
    assert every.next_draws == 10
    assert every.sweeps_to_run() == ["penalties-none", "penalties-l2-0p01"]


def test_a_lesson_that_adds_no_draws_names_no_draw_it_never_asked_for(tmp_path):
    """Somany gets 10 draws for a published lesson, L2 0.01 keeps its 5: our lesson rests on
    those 5 and names none of draws 5-9 as n/a (with draws_for=all it would have asked)."""
    wander = [0.9, 1.1, 0.95, 1.05, 1.0]
    root = tmp_path / "reproduce"
    for d in range(10):
        runs = scaled(published_runs(), 1 + d / 10, (0.86 + d / 1000, 0.87, 0.90))
        runs["model_somany_l2_0p01"]["val_mse"] = runs["model_somany"]["val_mse"] * wander[d % 5]
        if d >= 5:
            runs = {"model_somany": runs["model_somany"]}
        write_runs(root, runs, draw=SHIPPED_SEED if d == 0 else d)
    report = report_of(load_runs(root), load_figures(), Plan(first=5, batch=5, draws_max=20))
    ours = _lessons(report)["l2_0p01_lowers_val"]
    assert (ours.verdict, ours.used, ours.adds_draws) == ("undecided", 5, False)
    assert ours.unknown == []
