"""regexp.runs.pruners: Optuna's pruners by name with their keyword arguments (a bad name or
argument names its key, one line), and the validation value a trial reports for each
objective."""

import pytest

optuna = pytest.importorskip("optuna")

from regexp.config.errors import ConfigError  # noqa: E402
from regexp.runs.pruners import make_pruner, reported  # noqa: E402


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("none", optuna.pruners.NopPruner),
        ("median", optuna.pruners.MedianPruner),
        ("successive_halving", optuna.pruners.SuccessiveHalvingPruner),
        ("hyperband", optuna.pruners.HyperbandPruner),
    ],
)
def test_pruners_by_name(name, cls):
    assert type(make_pruner({"name": name})) is cls


def test_no_pruner_by_default():
    assert type(make_pruner(None)) is optuna.pruners.NopPruner
    assert type(make_pruner({})) is optuna.pruners.NopPruner


def _pruned_at(pruner, values):
    """The steps at which the pruner stops a trial reporting these values (step: value),
    after one completed trial that reported 1.0 at every step."""
    study = optuna.create_study(pruner=pruner)
    first = study.ask()
    for step in values:
        first.report(1.0, step)
    study.tell(first, 1.0)
    trial = study.ask()
    stops = []
    for step, value in values.items():
        trial.report(value, step)
        if trial.should_prune():
            stops.append(step)
    return stops


def test_a_pruners_keyword_arguments_reach_it():
    """MedianPruner stops a trial worse than the completed one's at the same step from step
    n_warmup_steps on; n_startup_trials=1: after one completed trial."""
    values = {1: 2.0, 2: 2.0, 3: 2.0}
    assert _pruned_at(make_pruner({"name": "median"}), values) == []  # 5 startup trials
    tuned = make_pruner({"name": "median", "n_startup_trials": 1, "n_warmup_steps": 2})
    assert _pruned_at(tuned, values) == [2, 3]


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"name": "asha"}, "hydra.sweeper.pruner.name: must be one of none, median, "
                           "successive_halving, hyperband; got 'asha'"),
        ({"name": "median", "warmup": 3}, "hydra.sweeper.pruner: MedianPruner: "),
        ({"name": "median", "n_startup_trials": -1}, "hydra.sweeper.pruner: MedianPruner: "
                                                     "Number of startup trials cannot be"),
        ({"name": "successive_halving", "reduction_factor": 1},
         "hydra.sweeper.pruner: SuccessiveHalvingPruner: The value of `reduction_factor` is 1"),
        ({"name": "successive_halving", "min_resource": "soon"},
         "hydra.sweeper.pruner: SuccessiveHalvingPruner: "),
        ({"name": "hyperband", "max_resource": "most"}, "hydra.sweeper.pruner: HyperbandPruner: "),
        # checked by Hyperband only at its first pruning: here, before any folder
        ({"name": "hyperband", "min_resource": 0}, "hydra.sweeper.pruner: HyperbandPruner: "),
        ({"name": "hyperband", "reduction_factor": 1}, "hydra.sweeper.pruner: HyperbandPruner: "),
        ({"name": "none", "patience": 3}, "hydra.sweeper.pruner: NopPruner: "),
    ],
)  # fmt: skip
def test_a_bad_pruner_names_its_key_in_one_line(conf, message):
    with pytest.raises(ConfigError) as err:
        make_pruner(conf)
    assert str(err.value).startswith(message) and "\n" not in str(err.value), err.value


@pytest.mark.parametrize(
    ("objective", "value"),
    [
        ("val_mse", "val_mse"),
        ("val_loss", "val_loss"),
        ("val_accuracy", "val_accuracy"),
        ("train_accuracy", "train_accuracy"),  # a pass of classification computes it
        ("train_mse", "val_mse"),
        ("train_loss", "val_loss"),
        ("penalty", "val_loss"),
    ],
)
def test_a_trial_reports_its_objective_or_the_pass_value_that_goes_its_way(objective, value):
    assert reported(objective) == value
