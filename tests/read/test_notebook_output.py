"""regexp notebook's outputs from a report: the words for a lesson, notebook.json and
notebook.png's panels."""

from __future__ import annotations

import json
import math

import pytest

from regexp.read import notebook_output as out
from regexp.read.notebook_folder import load_figures, load_runs
from regexp.read.notebook_lessons import LESSONS, SHIPPED_SEED
from regexp.read.notebook_stats import report_of
from regexp.read.statistics import Plan
from tests.read.reproduce_folders import published_runs, scaled, write_runs

ACCURACIES = [(0.86, 0.87, 0.90), (0.85, 0.88, 0.91), (0.87, 0.86, 0.89)]
FACTORS = (0.95, 1.2, 0.9)  # L2 0.001's validation MSE on each draw, times the notebook's
L2_RATIOS = [0.0256242055 / 0.0296568 * f for f in FACTORS]  # 0.821, 1.037, 0.778


@pytest.fixture
def report(tmp_path):
    root = tmp_path / "reproduce"
    for d, (scale, accuracies) in enumerate(zip((1.0, 1.3, 0.8), ACCURACIES)):
        runs = scaled(published_runs(), scale, accuracies)
        runs["model_somany_l2_0p001"]["val_mse"] *= FACTORS[d]
        write_runs(root, runs, draw=(SHIPPED_SEED, 1, 2)[d])
    return report_of(load_runs(root), load_figures(), Plan(first=3, batch=3, draws_max=9))


def test_the_words_for_a_lesson(report):
    by_key = {r.lesson.key: r for r in report.lessons}
    l2 = by_key["l2_0p001_lowers_val"]
    geometric_mean = math.exp(sum(map(math.log, L2_RATIOS)) / 3)
    assert out.effect_text(l2).startswith(f"ratio {geometric_mean:.3g} [")
    assert out.effect_text(l2).endswith("], lesson < 1")
    assert out.held_text(l2) == "2 of 3 draws [0.21, 0.94]"
    ties = by_key["classification_l2_0p001_ties_unpenalized"]
    assert out.effect_text(ties).startswith("difference +0.0100 [")
    assert out.effect_text(ties).endswith("lesson > -0.01")
    assert out.needed_text(l2) == "not yet" and out.needed_text(by_key["deeper"]) == "3 draws"
    assert out.method_text(report.plan).startswith("looks at 3, 6, 9 draws, each at 98.33 %")
    assert out.method_text(Plan.fixed(4)).endswith("95 % t-interval (4 draws)")
    assert out.ratio(0.5, 0.0) is None and out.ratio(float("nan"), 1.0) is None
    assert out.ratio(None, 2.0) is None and out.ratio(1.0, 4.0) == 0.25


def test_notebook_json_carries_each_lesson_its_statement(report):
    written = json.loads(json.dumps(out.to_json(report)))  # JSON through and through
    assert written["method"]["looks"] == [3, 6, 9] and written["draws_max"] == 9
    assert "Lan & DeMets 1983" in written["method"]["references"]
    assert written["draws"] == 3 and written["data_seeds"] == [SHIPPED_SEED, 1, 2]
    assert written["next_draws"] == 6
    assert [o["key"] for o in written["orderings"]] == [lesson.key for lesson in LESSONS]
    l2 = {o["key"]: o for o in written["orderings"]}["l2_0p001_lowers_val"]
    assert set(l2) >= {"published", "verdict", "holds", "draws", "wilson95", "effect",
                       "p_improvement", "decided_at"}  # fmt: skip
    assert (l2["published"], l2["verdict"], l2["holds"], l2["draws"]) == (True, "undecided", 2, 3)
    assert l2["effect"]["measure"] == "ratio" and l2["effect"]["lesson_side"] == "below"
    low, high = l2["effect"]["ci95"]
    assert low < l2["effect"]["estimate"] < high and high > 1  # straddles 1: undecided
    ((seed, detail),) = [(f["data_seed"], f["detail"]) for f in l2["failing"]]
    assert seed == 1 and detail.endswith(f"= {L2_RATIOS[1]:.3g}x >= 1")
    assert written["draws_needed"]["deeper"] == 3 and written["draws_needed"][l2["key"]] is None
    ours = {o["key"]: o for o in written["orderings"]}["l2_0p01_lowers_val"]
    assert (ours["published"], ours["notebook"]) == (False, "not printed")
    assert written["accuracy"]["model_classification"] == [0.86, 0.85, 0.87]


def test_the_panels_carry_each_draw_and_the_sections_lessons(report):
    panels = {p.title: p for p in out.panels(report, load_figures())}
    assert list(panels) == ["units", "layers", "penalties", "classification"]
    units = panels["units"]
    assert units.metric == "train_mse" and units.models[3] == "model_8units"
    assert units.values[3] == pytest.approx([0.0427819, 0.0427819 * 1.3, 0.0427819 * 0.8])
    assert units.published[3] == 0.0427819 and units.published[0] is None
    assert [n.label for n in units.lessons] == [LESSONS[0].label, LESSONS[1].label]
    assert panels["layers"].models[-1] == "model_somany"
    penalties = [n.label for n in panels["penalties"].lessons]
    assert penalties[0] == "L2 0.01 lowers somany's validation MSE (ours)"
    classification = panels["classification"]
    assert classification.values[2] == [0.90, 0.91, 0.89]
    assert all("held on" in n.numbers for n in classification.lessons)
