"""regexp.config.objective: which metric a job reports to an optimizing sweeper, in which
direction, and the value it reports (NaN for a run that is not ok)."""

import math

import pytest
from omegaconf import OmegaConf

from regexp.config import objective


@pytest.mark.parametrize(
    ("name", "task", "metric", "direction"),
    [
        ("auto", "regression", "val_mse", "minimize"),
        ("auto", "classification", "val_accuracy", "maximize"),
        ("train_accuracy", "classification", "train_accuracy", "maximize"),
        ("val_loss", "classification", "val_loss", "minimize"),
        ("penalty", "regression", "penalty", "minimize"),
    ],
)
def test_auto_means_val_mse_or_val_accuracy_and_only_accuracy_is_maximised(
    name, task, metric, direction
):
    assert objective.metric(name, task) == metric
    assert objective.direction(name, task) == direction


def test_the_value_of_an_ok_run_is_its_metric_as_a_float():
    got = objective.value({"status": "ok", "val_mse": 0.25, "epochs": 3}, "val_mse")
    assert got == 0.25 and type(got) is float
    assert type(objective.value({"status": "ok", "epochs": 3}, "epochs")) is float


@pytest.mark.parametrize(
    "metrics",
    [
        {"status": "diverged", "val_mse": 0.25},  # a number, but the run is not ok
        {"status": "failed", "error": "RuntimeError: boom"},
        {"status": "ok", "val_mse": None},  # metrics.json's null for a non-finite number
        {"status": "ok", "val_mse": "0.25"},
        {"status": "ok", "val_mse": math.inf},
        {"status": "ok", "val_mse": math.nan},
        {"status": "ok"},
    ],
)
def test_a_run_that_is_not_ok_or_has_no_finite_number_is_nan(metrics):
    assert math.isnan(objective.value(metrics, "val_mse"))


def test_a_job_whose_settings_did_not_validate_is_nan():
    ok = {"status": "ok", "val_mse": 0.5}
    assert objective.of_job("val_mse", ok) == 0.5
    assert math.isnan(objective.of_job(None, ok))


def test_the_resolver_gives_sweeper_presets_their_direction():
    objective.register_resolvers()
    objective.register_resolvers()  # registering again replaces, never raises
    cfg = OmegaConf.create(
        {
            "objective": "auto",
            "data": {"task": "classification"},
            "direction": "${regexp_direction:${objective},${data.task}}",
        }
    )
    assert cfg.direction == "maximize"
    cfg.data.task = "regression"
    assert cfg.direction == "minimize"
