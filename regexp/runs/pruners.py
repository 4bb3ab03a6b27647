"""An Optuna search's pruner (`hydra.sweeper.pruner`): Optuna's own pruners by name, with
their keyword arguments, and the validation value a trial reports to it.

`hydra.sweeper.pruner.name` is none (Optuna's NopPruner: never prunes), median,
successive_halving or hyperband; a pruner's own keyword arguments are added with `+`
(`+hydra.sweeper.pruner.min_resource=20`). A trial reports at each of its validation passes
(every train.eval_every epochs, and its last), its step the epoch. Optuna is imported only
where a search is planned or runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from regexp.config.errors import ConfigError

# hydra.sweeper.pruner.name -> the class in optuna.pruners
PRUNERS = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
}
# a validation pass computes these (regexp.train.watch.Watch.evaluated)
PASS_VALUES = ("val_mse", "val_loss", "val_bce", "val_accuracy", "train_accuracy")
# an objective a pass does not compute: the pass's value that goes the same way
STAND_INS = {"train_mse": "val_mse", "train_loss": "val_loss", "penalty": "val_loss"}


def make_pruner(conf: Mapping[str, Any] | None) -> optuna.pruners.BasePruner:
    """The pruner conf names ({name, the pruner's keyword arguments}); ConfigError naming
    hydra.sweeper.pruner.name for an unknown name, hydra.sweeper.pruner for arguments the
    pruner refuses."""
    options = dict(conf or {})
    name = options.pop("name", "none")
    if name not in PRUNERS:
        raise ConfigError(
            "hydra.sweeper.pruner.name", f"must be one of {', '.join(PRUNERS)}; got {name!r}"
        )
    cls = getattr(optuna.pruners, PRUNERS[name])
    try:
        pruner = cls(**options)
        if name == "hyperband":  # Hyperband checks its rungs' arguments at its first pruning
            rungs = ("min_resource", "reduction_factor", "bootstrap_count")
            defaults = {"min_resource": 1, "reduction_factor": 3}
            optuna.pruners.SuccessiveHalvingPruner(
                **{**defaults, **{k: v for k, v in options.items() if k in rungs}}
            )
    except (TypeError, ValueError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ConfigError("hydra.sweeper.pruner", f"{PRUNERS[name]}: {first}") from None
    return pruner


def reported(objective: str) -> str:
    """The validation value a trial reports for its objective (Settings.objective, a
    metrics.json key): the objective itself where a pass computes it (val_mse, val_loss,
    val_accuracy; val_bce, train_accuracy for classification), else the pass's value that
    goes the same way (train_mse: val_mse; train_loss and penalty: val_loss)."""
    return objective if objective in PASS_VALUES else STAND_INS[objective]
