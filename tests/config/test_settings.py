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


def test_early_stopping_is_off_by_default_and_takes_kerass_arguments(cfg_of):
    from regexp.config.settings import EarlyStoppingSettings

    assert validate(cfg_of()).train.early_stopping == EarlyStoppingSettings()
    assert validate(cfg_of()).train.early_stopping.patience is None
    keys = ("patience=0", "monitor=val_accuracy", "min_delta=0.01", "mode=max", "baseline=0.5",
            "start_from_epoch=20", "restore_best_weights=true")  # fmt: skip
    overrides = [f"train.early_stopping.{key}" for key in keys]
    on = validate(cfg_of("data=classification", *overrides)).train.early_stopping
    assert on == EarlyStoppingSettings(0, 0.01, "val_accuracy", "max", 0.5, 20, True)


def test_a_config_written_before_early_stopping_existed_still_validates(cfg_of):
    from omegaconf import OmegaConf

    tree = OmegaConf.to_container(cfg_of())
    del tree["train"]["early_stopping"]
    assert validate(tree).train.early_stopping.patience is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("train.early_stopping.patience=-1",),
         "train.early_stopping.patience: must be an integer >= 0 or null (off), got -1"),
        (("train.early_stopping.patience=2.5",),
         "train.early_stopping.patience: must be an integer >= 0 or null (off), got 2.5"),
        (("train.early_stopping.min_delta=-0.1",),
         "train.early_stopping.min_delta: must be a number >= 0, got -0.1"),
        (("train.early_stopping.monitor=loss",),
         "train.early_stopping.monitor: must be one of val_loss, val_mse, val_bce, "
         "val_accuracy; got 'loss'"),
        (("train.early_stopping.monitor=val_accuracy",),
         "train.early_stopping.monitor: val_accuracy needs a classification data set; "
         "allowed here: val_loss, val_mse"),
        (("train.early_stopping.mode=up",),
         "train.early_stopping.mode: must be one of auto, min, max; got 'up'"),
        (("train.early_stopping.baseline=abc",),
         "train.early_stopping.baseline: must be a number, got 'abc'"),
        (("train.early_stopping.start_from_epoch=-2",),
         "train.early_stopping.start_from_epoch: must be an integer >= 0, got -2"),
        (("train.early_stopping.restore_best_weights=1",),
         "train.early_stopping.restore_best_weights: must be true or false, got 1"),
        (("train.early_stopping=5",),
         "train.early_stopping: is a block of keys: set them as train.early_stopping.KEY=VALUE, "
         "got 5"),
    ],
)  # fmt: skip
def test_bad_early_stopping_values_name_the_key(cfg_of, overrides, message):
    import re

    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        validate(cfg_of(*overrides))


def test_an_unknown_early_stopping_key_is_named_with_the_ones_there_are(cfg_of):
    from omegaconf import OmegaConf

    from regexp.config.settings import unknown_keys

    tree = OmegaConf.to_container(cfg_of())
    tree["train"]["early_stopping"]["patince"] = 3
    [(key, allowed)] = unknown_keys(tree)
    assert key == "train.early_stopping.patince" and "patience" in allowed
    assert unknown_keys(tree, added=["train.early_stopping.patince"]) == []
