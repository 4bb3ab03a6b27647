"""The notebook's lessons and spreads as functions of one draw's numbers."""

from __future__ import annotations

import math

import pytest

from regexp.read import notebook_lessons as nl
from regexp.read.notebook_folder import as_metrics, load_figures

BY_KEY = {lesson.key: lesson for lesson in nl.LESSONS}


def _published() -> dict:
    return as_metrics(load_figures())


def test_every_lesson_the_notebook_prints_holds_on_its_own_figures():
    found = {lesson.key: o for lesson, o in zip(nl.LESSONS, nl.outcomes(_published()))}
    assert found.pop("l2_0p01_lowers_val").passed is None  # cell [28] printed nothing
    assert all(o.passed for o in found.values()), found
    assert [lesson.key for lesson in nl.LESSONS if not lesson.published] == ["l2_0p01_lowers_val"]
    # the notebook's own effects: 0.0256242 / 0.0296568 and 0.0252837 / 0.0296568
    assert math.exp(found["l2_0p001_lowers_val"].effect) == pytest.approx(0.86403, abs=1e-5)
    assert math.exp(found["l1_0p001_lowers_val"].effect) == pytest.approx(0.85254, abs=1e-5)
    # the width chain's weakest link in cell [310]: 128 against 8 units, 0.033027 / 0.0427819
    assert math.exp(found["wider"].effect) == pytest.approx(0.77199, abs=1e-5)
    # the ends it shows within 4 %: the larger of 0.0427819 / 0.0444497 and
    # 0.00923209 / 0.00960591
    assert math.exp(found["wider_ends"].effect) == pytest.approx(0.96248, abs=1e-5)


def test_a_chain_holds_on_a_draw_only_when_every_link_does():
    numbers = _published()
    numbers["model_3layers"] = {"train_mse": 0.032}  # above 2layers' 0.0310402
    outcome = BY_KEY["deeper"].on(numbers)
    assert outcome.passed is False
    assert math.exp(outcome.effect) == pytest.approx(0.032 / 0.0310402)
    assert "3layers 0.032 / 2layers 0.03104 = 1.03x >= 1" in outcome.detail
    assert "2layers 0.03104 / 1layer 0.04216 = 0.736x < 1" in outcome.detail


@pytest.mark.parametrize(
    "key,unpenalized,l2_0p001,l2_0p01,passed,detail",
    [
        ("classification_l2_0p01_beats_unpenalized", 0.88, 0.8801, 0.9029, True,
         "classification_l2_0p01 0.9029 - classification 0.8800 = +0.0229 > 0"),
        ("classification_l2_0p01_beats_l2_0p001", 0.86, 0.89, 0.87, False,
         "classification_l2_0p01 0.8700 - classification_l2_0p001 0.8900 = -0.0200 <= 0"),
        # 1e-4 apart either way is a tie within a point of accuracy; 2 points worse is not
        ("classification_l2_0p001_ties_unpenalized", 0.88, 0.8799, 0.90, True,
         "classification_l2_0p001 0.8799 - classification 0.8800 = -0.0001 > -0.01"),
        ("classification_l2_0p001_ties_unpenalized", 0.88, 0.86, 0.90, False,
         "classification_l2_0p001 0.8600 - classification 0.8800 = -0.0200 <= -0.01"),
    ],
)  # fmt: skip
def test_classification_lessons(key, unpenalized, l2_0p001, l2_0p01, passed, detail):
    values = dict(zip(nl.CLASSIFIERS, (unpenalized, l2_0p001, l2_0p01)))
    numbers = {model: {"val_accuracy": v} for model, v in values.items()}
    outcome = BY_KEY[key].on(numbers)
    assert (outcome.passed, outcome.detail) == (passed, detail)
    other = BY_KEY[key].pairs[0][1].model
    del numbers[other]
    assert BY_KEY[key].on(numbers) == nl.Outcome(
        None, None, f"no val_accuracy for {nl.short(other)}"
    )


def test_somany_overfits_names_its_two_metrics():
    outcome = BY_KEY["somany_overfits"].on(_published())
    assert outcome.detail == "somany val MSE 0.02966 / somany train MSE 0.006135 = 4.83x > 2"
    assert BY_KEY["somany_overfits"].cut == pytest.approx(math.log(2))
    zero = {"model_somany": {"val_mse": 0.03, "train_mse": 0.0}}
    assert BY_KEY["somany_overfits"].on(zero).passed is None


def test_spreads_on_the_published_figures():
    found = nl.spreads(_published())
    assert [s.value for s in found] == [
        pytest.approx(0.0427819 / 0.00960591),
        pytest.approx(0.0296568 / 0.00613459),
    ]
    assert found[0].detail == "0.04278 / 0.009606 = 4.45x"
    assert nl.spreads({})[1] == nl.Spread(
        "somany_val_over_train", "somany, validation MSE / training MSE", None, "n/a"
    )
