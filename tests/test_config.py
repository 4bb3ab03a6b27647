"""regexp.core.config: one override parser (Hydra's), composing from regexp's conf/ or a user's
folders as hydra.main would, and the sweep expansion that checks every job."""

import pytest

from regexp.core.config import (
    check,
    compose,
    expand_sweep,
    given_value,
    override_key,
    parse_override,
    source_of,
)
from regexp.core.errors import UsageError


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


def test_optimizing_sweep_syntax_is_checked_at_its_corners():
    jobs = expand_sweep(
        ["optimizer.lr=tag(log, interval(1e-3, 1e-1))", "train.epochs=tag(int, interval(1, 9))"],
        discrete=True,
    )
    assert jobs == [
        ["optimizer.lr=0.001", "train.epochs=1"],
        ["optimizer.lr=0.001", "train.epochs=9"],
        ["optimizer.lr=0.1", "train.epochs=1"],
        ["optimizer.lr=0.1", "train.epochs=9"],
    ]
    with pytest.raises(UsageError):  # Hydra's basic sweeper knows no intervals
        expand_sweep(["optimizer.lr=interval(0.1, 1)"])


@pytest.fixture
def user_conf(tmp_path):
    """A user's config folder: a good and a bad experiment, and one shadowing a data option."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(
        "# @package _global_\nhidden_units: [3]\nname: mine\n"
    )
    (tmp_path / "experiment" / "bad.yaml").write_text("# @package _global_\nhidden_units: 3\n")
    return tmp_path


def test_config_dir_is_searched(user_conf):
    source = source_of(config_dir=str(user_conf))
    assert check(["+experiment=mine"], source).hidden_units == (3,)
    with pytest.raises(UsageError, match="^hidden_units: must be a list"):
        check(["+experiment=bad"], source)
    with pytest.raises(UsageError, match="unknown option 'mine'"):
        check(["+experiment=mine"])  # not without the folder
    with pytest.raises(UsageError, match="allowed: bad, mine, model_1024units"):
        check(["+experiment=nope"], source)  # the user's options are listed too


def test_config_path_and_name_pick_the_primary_config(tmp_path):
    (tmp_path / "tiny.yaml").write_text(
        "defaults:\n  - config\n  - _self_\nhidden_units: [5]\n"
        "hydra:\n  searchpath: [pkg://regexp.conf]\n"
    )
    source = source_of(config_path=str(tmp_path), config_name="tiny")
    assert compose([], source).hidden_units == [5]


def test_config_folders_must_exist(tmp_path):
    with pytest.raises(UsageError, match="^--config-dir: no such folder"):
        source_of(config_dir=str(tmp_path / "nope"))
