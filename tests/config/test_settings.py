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


@pytest.mark.parametrize("data", ["classification", "classification_hard"])
def test_both_classification_generators_take_the_same_keys_and_no_others(cfg_of, data):
    from omegaconf import OmegaConf

    from regexp.config.settings import input_dim, unknown_keys

    settings = validate(cfg_of(f"data={data}", "data.label_noise=0.2", "data.n_train=40"))
    assert (settings.data.name, settings.data.task) == (data, "classification")
    assert (settings.data.label_noise, settings.data.n_train, input_dim(settings.data)) == (
        0.2,
        40,
        2,
    )
    tree = OmegaConf.to_container(cfg_of(f"data={data}"))
    tree["data"]["noise"] = 0.1  # the regression's key
    assert [key for key, _ in unknown_keys(tree)] == ["data.noise"]
    with pytest.raises(ConfigError, match=r"^data.label_noise: must be in \[0, 0.5\), got 0.5"):
        validate(cfg_of(f"data={data}", "data.label_noise=0.5"))


def test_an_unknown_data_set_names_the_ones_there_are(cfg_of):
    from omegaconf import OmegaConf

    tree = OmegaConf.to_container(cfg_of())
    tree["data"]["name"] = "moons"
    with pytest.raises(ConfigError, match="data: must be one of regression, classification, "
                                          "classification_hard, csv; got 'moons'"):  # fmt: skip
        validate(tree)
