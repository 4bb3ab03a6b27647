"""regexp.config.values: config leaves as table cells and cells as text, the same in every
table (summary, compare, figure labels)."""

import math

import numpy as np
import pandas as pd
import pytest

from regexp.config.values import cell, flatten, fmt, isna


def test_lists_become_bracketed_text_and_dicts_sorted_json():
    assert cell([16, 16]) == "[16, 16]"
    assert cell((0.1, 0.01)) == "[0.1, 0.01]"
    assert cell([[1, 2], 3]) == "[[1, 2], 3]"
    assert cell([]) == "[]"
    assert cell({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'


@pytest.mark.parametrize("value", [None, 3, 0.5, "relu", True])
def test_scalars_stay_what_they_are(value):
    assert cell(value) is value


def test_flatten_gives_dotted_keys_in_the_trees_order():
    tree = {
        "hidden_units": [8, 8],
        "penalty": {"name": "l2", "lam": [0.1, 0.2]},
        "data": {"split": {"val": 0.2}},
        "extra": {},
        "seed": 1,
    }
    assert flatten(tree) == {
        "hidden_units": "[8, 8]",
        "penalty.name": "l2",
        "penalty.lam": "[0.1, 0.2]",
        "data.split.val": 0.2,
        "extra": "{}",  # an empty block is a leaf, not dropped
        "seed": 1,
    }
    assert list(flatten(tree)) == [
        "hidden_units", "penalty.name", "penalty.lam", "data.split.val", "extra", "seed"
    ]  # fmt: skip
    assert flatten({"a": 1}, "run.") == {"run.a": 1}


@pytest.mark.parametrize("value", [None, math.nan, np.nan, np.float64("nan"), pd.NA])
def test_missing_cells(value):
    assert isna(value)
    assert fmt(value) == ""


@pytest.mark.parametrize("value", [0, 0.0, "", "nan", False, math.inf, []])
def test_present_cells(value):
    assert not isna(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.0, "3"),
        (-2.0, "-2"),
        (0.0, "0"),
        (7, "7"),
        (0.123456, "0.1235"),
        (1234.5678, "1235"),
        (1e-7, "1e-07"),
        (1e12, "1e+12"),  # integer-valued, but too large to print as an integer
        (math.inf, "inf"),
        (True, "True"),
        (False, "False"),
        ("[16, 16]", "[16, 16]"),
        (np.float64(2.0), "2"),
    ],
)
def test_fmt_prints_integers_without_point_and_floats_to_4_digits(value, text):
    assert fmt(value) == text
