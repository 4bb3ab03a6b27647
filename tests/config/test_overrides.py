"""regexp.config.overrides: one override parser (Hydra's), and the keys and values it reads."""

import pytest

from regexp.config.errors import UsageError
from regexp.config.overrides import given_value, override_key, parse_override


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("seed=1", "seed"),
        ("+a.b=1", "a.b"),
        ("++hydra.sweep.dir=X", "hydra.sweep.dir"),
        ("hydra/launcher=joblib", "hydra/launcher"),
        ("~penalty", "penalty"),
    ],
)
def test_override_key_is_hydras(line, key):
    assert override_key(line) == key


def test_given_value_sees_every_prefix_and_the_last_wins():
    lines = ["seed=1,2", "hydra.sweep.dir=A", "++hydra.sweep.dir='B,C'"]
    assert given_value(lines, "hydra.sweep.dir") == "B,C"
    assert given_value(lines, "hydra.run.dir") is None


def test_a_malformed_override_is_one_usage_error():
    with pytest.raises(UsageError, match=r"^malformed override 'hidden_units=\[2'"):
        parse_override("hidden_units=[2")
