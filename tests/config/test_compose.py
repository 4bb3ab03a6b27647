"""regexp.config.compose: composing from regexp's conf/ or a user's folders as hydra.main would."""

import pytest

from regexp.config.compose import check, compose, source_of
from regexp.config.errors import UsageError


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
    with pytest.raises(UsageError, match=r"experiment/bad\.yaml: hidden_units: must be a list"):
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


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["hydra.sweeper.n_trials=3"],
            "hydra.sweeper.n_trials: not a setting of hydra/sweeper="
            "checked (its settings: max_batch_size, params); hydra/sweeper=optuna has it",
        ),
        (
            ["hydra.launcher.n_jobs=2"],
            "hydra.launcher.n_jobs: not a setting of hydra/launcher="
            "batched (its settings: memory_mb, max_group, min_group, max_params, dispatch, "
            "submitit, ray); hydra/launcher=joblib has it",
        ),
        (["hydra.run.foo=1"], "hydra.run.foo: not a setting of hydra.run (its settings: dir)"),
    ],
)
def test_an_unknown_key_of_hydras_names_its_settings_and_who_has_it(overrides, message):
    """Hydra's own keys: never `+KEY=VALUE`, which would only hide the typo."""
    with pytest.raises(UsageError) as err:
        compose(overrides, with_hydra=True)
    assert str(err.value) == message
