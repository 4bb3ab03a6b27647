"""regexp.config.settings: one validation of the composed config, into frozen Settings."""

import dataclasses

import pytest

from regexp.config.errors import ConfigError
from regexp.config.settings import validate


def test_settings_are_frozen(cfg_of):
    settings = validate(cfg_of())
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "metric"),
    [
        ((), "val_mse"),
        (("data=classification",), "val_accuracy"),
        (("objective=train_loss",), "train_loss"),
        (("data=classification", "objective=val_mse"), "val_mse"),
    ],
)
def test_objective_names_a_metric(cfg_of, overrides, metric):
    assert validate(cfg_of(*overrides)).objective == metric


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("objective=val_accuracy",), "objective: val_accuracy needs a classification data set"),
        (("objective=speed",), "objective: must be one of auto, train_mse, val_mse"),
    ],
)
def test_bad_objective_names_the_key(cfg_of, overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        validate(cfg_of(*overrides))


def test_a_config_written_before_the_objective_key_still_validates(cfg_of):
    from omegaconf import OmegaConf

    tree = OmegaConf.to_container(cfg_of())
    del tree["objective"]
    assert validate(tree).objective == "val_mse"
