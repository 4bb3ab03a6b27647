"""The notebook's orderings and spreads as functions of one draw's numbers."""

from __future__ import annotations

import pytest

from regexp.read import notebook_checks as checks
from regexp.read.notebook import as_metrics, load_figures


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
    values = dict(zip(checks.CLASSIFIERS, (unpenalized, l2_0p001, l2_0p01)))
    metrics = {model: {"val_accuracy": v} for model, v in values.items()}
    (check,) = [c for c in checks.run_checks(metrics) if c.label.startswith("classification")]
    assert (check.passed, check.detail) == (passed, detail)
    del metrics["model_classification_l2_0p001"]
    (check,) = [c for c in checks.run_checks(metrics) if c.label.startswith("classification")]
    assert (check.passed, check.detail) == (None, "no val accuracy for L2 0.001")


def test_spreads_on_the_published_figures():
    found = checks.spreads(as_metrics(load_figures()))
    assert [s.value for s in found] == [
        pytest.approx(0.0427819 / 0.00960591),
        pytest.approx(0.0296568 / 0.00613459),
    ]
    assert found[0].detail == "0.04278 / 0.009606 = 4.45x"
    assert checks.spreads({})[1] == checks.Spread(
        "somany_val_over_train", "somany, validation MSE / training MSE", None, "n/a"
    )
