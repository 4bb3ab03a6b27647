"""Validated settings: the composed Hydra config checked key by key before any work starts.

Each check raises ConfigError naming the key and what is allowed, so the CLI can answer
bad input with one line and exit code 2.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from regexp.config import objective
from regexp.config.errors import ConfigError

ACTIVATIONS = ("relu", "tanh", "sigmoid")
DEVICES = ("auto", "cpu", "cuda")
DATA = ("regression", "classification", "classification_hard", "csv")
TASKS = ("regression", "classification")
PENALTIES = ("none", "l1", "l2", "l1_l2")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")  # each a row of regexp.train.update.FAMILY
INIT_STRATEGIES = ("default", "search", "grid")
# what early stopping may watch: the validation metrics of every pass, and of classifiers
MONITORS = ("val_loss", "val_mse")
MONITORS_CLASSIFICATION = ("val_bce", "val_accuracy")
MODES = ("auto", "min", "max")
LOGGERS = ("none", "tensorboard", "mlflow")
LIMIT = 10**18  # integers beyond this do not fit torch's and numpy's 64-bit ones


@dataclass(frozen=True)
class DataSettings:
    name: str
    task: str
    seed: int
    n_train: int = 50
    n_val: int = 1000
    noise: float = 0.15
    x_min: float = -1.0
    x_max: float = 1.0
    label_noise: float = 0.1
    path: str | None = None
    features: tuple[str, ...] = ()
    target: str | None = None
    val_fraction: float = 0.2


@dataclass(frozen=True)
class PenaltySettings:
    name: str
    lam: tuple[float, ...] = ()  # L2 weight per weight layer (L1 for "l1")
    l1_lam: tuple[float, ...] = ()  # L1 weight per weight layer, "l1_l2" only
    biases: bool = False


@dataclass(frozen=True)
class OptimizerSettings:
    name: str
    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-7
    bias_correction: bool | None = None


@dataclass(frozen=True)
class EarlyStoppingSettings:
    """Keras's EarlyStopping (regexp.train.stopping); patience None: off."""

    patience: int | None = None
    min_delta: float = 0.0
    monitor: str = "val_loss"
    mode: str = "auto"
    baseline: float | None = None
    start_from_epoch: int = 0
    restore_best_weights: bool = False


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int | None
    eval_every: int
    compile: bool
    threads: int | None = None
    early_stopping: EarlyStoppingSettings = EarlyStoppingSettings()


@dataclass(frozen=True)
class InitSettings:
    mean: float
    stddev: float
    strategy: str
    candidates: int
    batch_size: int | None


@dataclass(frozen=True)
class PlotSettings:
    enabled: bool
    hidden: bool
    max_units: int
    smoothing: float


@dataclass(frozen=True)
class Settings:
    hidden_units: tuple[int, ...]
    activation: str
    seed: int
    device: str
    name: str
    data: DataSettings
    penalty: PenaltySettings
    optimizer: OptimizerSettings
    train: TrainSettings
    init: InitSettings
    plots: PlotSettings
    logger: str
    objective: str = "val_mse"  # the metrics.json key a run reports to an optimizing sweeper
    reuse: bool = True  # fill the job's folder from the store of finished jobs when it is there


# The keys a composed config may hold, block by block (a group's block by its option): the
# command line refuses any other key unless it is added with +KEY=VALUE, and so does a check
# of a user's config files (unknown_keys).
_DATA = ("name", "task", "seed")
ALLOWED: dict[str, dict[str, tuple[str, ...]]] = {
    "data": {
        "regression": (*_DATA, "n_train", "n_val", "noise", "x_min", "x_max"),
        "classification": (*_DATA, "n_train", "n_val", "label_noise"),
        "classification_hard": (*_DATA, "n_train", "n_val", "label_noise"),
        "csv": (*_DATA, "path", "features", "target", "val_fraction"),
    },
    "penalty": {
        "none": ("name",),
        "l1": ("name", "lam", "biases"),
        "l2": ("name", "lam", "biases"),
        "l1_l2": ("name", "lam", "l1_lam", "biases"),
    },
    "optimizer": {
        "sgd": ("name", "lr"),
        "momentum": ("name", "lr", "beta1", "bias_correction"),
        "rmsprop": ("name", "lr", "beta2", "eps", "bias_correction"),
        "adam": ("name", "lr", "beta1", "beta2", "eps", "bias_correction"),
    },
}


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def unknown_keys(node: Mapping, added: Sequence[str] = ()) -> list[tuple[str, tuple[str, ...]]]:
    """(dotted key, the keys allowed beside it) for each key of a composed config (a plain
    tree, without `hydra`) that regexp does not read; keys under an `added` one (a +KEY=VALUE
    override) are the user's own."""
    blocks = {
        "train": _fields(TrainSettings),
        "init": _fields(InitSettings),
        "plots": _fields(PlotSettings),
    }
    nested = {"train.early_stopping": _fields(EarlyStoppingSettings)}
    top = _fields(Settings)
    found = []

    def mine(key: str) -> bool:
        return any(key == a or key.startswith(f"{a}.") for a in added)

    for key, value in node.items():
        if key == "hydra" or mine(key):
            continue
        if key not in top:
            found.append((key, top))
            continue
        allowed = blocks.get(key)
        if key in ALLOWED and isinstance(value, Mapping):
            allowed = ALLOWED[key].get(str(value.get("name")))
        if allowed is None or not isinstance(value, Mapping):
            continue
        for sub in value:
            if sub not in allowed and not mine(f"{key}.{sub}"):
                found.append((f"{key}.{sub}", allowed))
            inner = nested.get(f"{key}.{sub}")
            if inner is not None and isinstance(value[sub], Mapping):
                found.extend((f"{key}.{sub}.{k}", inner) for k in value[sub]
                             if k not in inner and not mine(f"{key}.{sub}.{k}"))  # fmt: skip
    return found


def _get(node: Mapping, key: str, path: str) -> Any:
    if key not in node:
        raise ConfigError(path, "is missing")
    return node[key]


def _block(node: Mapping, key: str, path: str | None = None) -> Mapping:
    path = path or key
    value = _get(node, key, path)
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"is a block of keys: set them as {path}.KEY=VALUE, got {value!r}")
    return value


def _int(node: Mapping, key: str, path: str, minimum: int | None = None) -> int:
    value = _get(node, key, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"must be an integer, got {value!r}")
    if not -LIMIT < value < LIMIT:
        raise ConfigError(path, f"must be an integer of at most 18 digits, got {value}")
    if minimum is not None and value < minimum:
        raise ConfigError(path, f"must be an integer >= {minimum}, got {value}")
    return value


def _float(
    node: Mapping, key: str, path: str, minimum: float | None = None, positive: bool = False
) -> float:
    value = _get(node, key, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(path, f"must be a number, got {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(path, f"must be a finite number, got {value}")
    if positive and value <= 0:
        raise ConfigError(path, f"must be a number > 0, got {value:g}")
    if minimum is not None and value < minimum:
        raise ConfigError(path, f"must be a number >= {minimum:g}, got {value:g}")
    return value


def _bool(node: Mapping, key: str, path: str) -> bool:
    value = _get(node, key, path)
    if not isinstance(value, bool):
        raise ConfigError(path, f"must be true or false, got {value!r}")
    return value


def _choice(node: Mapping, key: str, path: str, allowed: Sequence[str]) -> str:
    value = _get(node, key, path)
    if value not in allowed:
        raise ConfigError(path, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _optional_int(node: Mapping, key: str, path: str) -> int | None:
    if node.get(key) is None:
        return None
    return _int(node, key, path, minimum=1)


def _hidden_units(value: Any) -> tuple[int, ...]:
    allowed = "a list of positive integers such as [16] or [16,16] ([] for a linear model)"
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(
            "hidden_units",
            f"must be {allowed}, got {value}; to sweep over widths write hidden_units=[2],[8]",
        )
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError("hidden_units", f"must be {allowed}, got {value!r}")
    units = list(value)
    if any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units):
        raise ConfigError("hidden_units", f"must be {allowed}, got {units}")
    if max(units, default=0) >= LIMIT:
        raise ConfigError("hidden_units", f"each entry must have at most 18 digits, got {units}")
    return tuple(units)


def _lams(value: Any, path: str, n_layers: int) -> tuple[float, ...]:
    """A number (every weight layer) or a list with one lambda per weight layer."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        lams = list(value)
        if len(lams) != n_layers:
            raise ConfigError(
                path,
                f"a list needs one value per weight layer ({n_layers}: hidden layers + output), "
                f"got {len(lams)}",
            )
    else:
        lams = [value] * n_layers
    out = []
    for lam in lams:
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not 0 <= lam < math.inf:
            raise ConfigError(path, f"must be a number >= 0 or a list of them, got {value!r}")
        out.append(float(lam))
    return tuple(out)


def n_params(widths: Sequence[int]) -> int:
    """Kernels and biases of an MLP of these widths ([n_in, hidden..., n_out])."""
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def input_dim(s: DataSettings) -> int:
    """The number of input columns, known without building the data."""
    return {"regression": 1, "classification": 2, "classification_hard": 2}.get(
        s.name, len(s.features)
    )


def _data(node: Mapping) -> DataSettings:
    name = _choice(node, "name", "data", DATA)
    common = dict(
        name=name,
        task=_choice(node, "task", "data.task", TASKS),
        seed=_int(node, "seed", "data.seed", minimum=0),
    )
    if name == "csv":
        features = _get(node, "features", "data.features")
        if isinstance(features, str):
            features = [features]
        if not isinstance(features, Sequence) or not features:
            raise ConfigError("data.features", f"must be a list of column names, got {features!r}")
        path = _get(node, "path", "data.path")
        if not isinstance(path, str) or not path:
            raise ConfigError("data.path", "must be the path of a CSV file")
        target = _get(node, "target", "data.target")
        if not isinstance(target, str):
            raise ConfigError("data.target", f"must be a column name, got {target!r}")
        if target in map(str, features):
            raise ConfigError(
                "data.target", f"{target!r} is also a feature (data.features): it would leak"
            )
        frac = _float(node, "val_fraction", "data.val_fraction", positive=True)
        if frac >= 1:
            raise ConfigError("data.val_fraction", f"must be between 0 and 1, got {frac:g}")
        return DataSettings(
            **common,
            path=path,
            features=tuple(str(f) for f in features),
            target=target,
            val_fraction=frac,
        )
    extra: dict[str, Any] = dict(
        n_train=_int(node, "n_train", "data.n_train", minimum=2),
        n_val=_int(node, "n_val", "data.n_val", minimum=1),
    )
    if name == "regression":
        extra["noise"] = _float(node, "noise", "data.noise", minimum=0)
        extra["x_min"] = _float(node, "x_min", "data.x_min")
        extra["x_max"] = _float(node, "x_max", "data.x_max")
        if extra["x_max"] <= extra["x_min"]:
            raise ConfigError("data.x_max", "must be greater than data.x_min")
    else:
        noise = _float(node, "label_noise", "data.label_noise", minimum=0)
        if noise >= 0.5:
            raise ConfigError("data.label_noise", f"must be in [0, 0.5), got {noise:g}")
        extra["label_noise"] = noise
    return DataSettings(**common, **extra)


def _penalty(node: Mapping, n_layers: int) -> PenaltySettings:
    name = _choice(node, "name", "penalty", PENALTIES)
    if name == "none":
        return PenaltySettings(name="none", lam=(0.0,) * n_layers)
    lam = _lams(_get(node, "lam", "penalty.lam"), "penalty.lam", n_layers)
    l1_lam: tuple[float, ...] = ()
    if name == "l1_l2":
        l1_lam = _lams(_get(node, "l1_lam", "penalty.l1_lam"), "penalty.l1_lam", n_layers)
    return PenaltySettings(
        name=name, lam=lam, l1_lam=l1_lam, biases=_bool(node, "biases", "penalty.biases")
    )


def _optimizer(node: Mapping) -> OptimizerSettings:
    name = _choice(node, "name", "optimizer", OPTIMIZERS)
    kw: dict[str, Any] = {"lr": _float(node, "lr", "optimizer.lr", positive=True)}
    for key in ("beta1", "beta2"):
        if key in node:
            beta = _float(node, key, f"optimizer.{key}", minimum=0)
            if beta >= 1:
                raise ConfigError(f"optimizer.{key}", f"must be in [0, 1), got {beta:g}")
            kw[key] = beta
    if "eps" in node:
        kw["eps"] = _float(node, "eps", "optimizer.eps", positive=True)
    if "bias_correction" in node:
        kw["bias_correction"] = _bool(node, "bias_correction", "optimizer.bias_correction")
    return OptimizerSettings(name=name, **kw)


def _train(node: Mapping, task: Any) -> TrainSettings:
    return TrainSettings(
        epochs=_int(node, "epochs", "train.epochs", minimum=1),
        batch_size=_optional_int(node, "batch_size", "train.batch_size"),
        eval_every=_int(node, "eval_every", "train.eval_every", minimum=1),
        compile=_bool(node, "compile", "train.compile"),
        threads=_optional_int(node, "threads", "train.threads"),
        early_stopping=_early_stopping(node, task),
    )


def _early_stopping(train: Mapping, task: Any) -> EarlyStoppingSettings:
    """train.early_stopping; a config written before the block existed has none: off."""
    if "early_stopping" not in train:
        return EarlyStoppingSettings()
    node, at = _block(train, "early_stopping", "train.early_stopping"), "train.early_stopping"
    patience = None
    if node.get("patience") is not None:
        value = node["patience"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{at}.patience", f"must be an integer >= 0 or null (off), got "
                                                f"{value!r}")  # fmt: skip
        patience = value
    monitor = _choice(node, "monitor", f"{at}.monitor", MONITORS + MONITORS_CLASSIFICATION)
    if monitor in MONITORS_CLASSIFICATION and task != "classification":
        raise ConfigError(f"{at}.monitor", f"{monitor} needs a classification data set; "
                                           f"allowed here: {', '.join(MONITORS)}")  # fmt: skip
    baseline = None
    if node.get("baseline") is not None:
        baseline = _float(node, "baseline", f"{at}.baseline")
    return EarlyStoppingSettings(
        patience=patience,
        min_delta=_float(node, "min_delta", f"{at}.min_delta", minimum=0),
        monitor=monitor,
        mode=_choice(node, "mode", f"{at}.mode", MODES),
        baseline=baseline,
        start_from_epoch=_int(node, "start_from_epoch", f"{at}.start_from_epoch", minimum=0),
        restore_best_weights=_bool(node, "restore_best_weights", f"{at}.restore_best_weights"),
    )


def _init(node: Mapping) -> InitSettings:
    return InitSettings(
        mean=_float(node, "mean", "init.mean"),
        stddev=_float(node, "stddev", "init.stddev", positive=True),
        strategy=_choice(node, "strategy", "init.strategy", INIT_STRATEGIES),
        candidates=_int(node, "candidates", "init.candidates", minimum=1),
        batch_size=_optional_int(node, "batch_size", "init.batch_size"),
    )


def _plots(node: Mapping) -> PlotSettings:
    smoothing = _float(node, "smoothing", "plots.smoothing", minimum=0)
    if smoothing >= 1:
        raise ConfigError("plots.smoothing", f"must be in [0, 1), got {smoothing:g}")
    return PlotSettings(
        enabled=_bool(node, "enabled", "plots.enabled"),
        hidden=_bool(node, "hidden", "plots.hidden"),
        max_units=_int(node, "max_units", "plots.max_units", minimum=1),
        smoothing=smoothing,
    )


def _check_device(device: str) -> None:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                "device", "cuda was asked for but CUDA is not available; use auto or cpu"
            )


def to_container(cfg: DictConfig | Mapping) -> dict:
    """A plain dict of the config (interpolations resolved, no Hydra node)."""
    if isinstance(cfg, DictConfig | ListConfig):
        if "hydra" in cfg:  # Hydra's own node holds interpolations that only resolve in a job
            cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
        cfg = OmegaConf.to_container(cfg, resolve=True)
    cfg = dict(cfg)
    cfg.pop("hydra", None)
    return cfg


def _unset(node: Mapping, prefix: str = "") -> str | None:
    """The first key a config leaves for the user to set (OmegaConf's ??? value)."""
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if value == "???":
            return dotted
        if isinstance(value, Mapping) and (found := _unset(value, f"{dotted}.")):
            return found
    return None


def validate(cfg: DictConfig | Mapping) -> Settings:
    """Check every key of a composed config; return frozen settings or raise ConfigError."""
    node = to_container(cfg)
    unset = _unset(node)
    if unset is not None:
        raise ConfigError(unset, f"must be set: the config leaves it ???; add {unset}=VALUE")
    hidden = _hidden_units(_get(node, "hidden_units", "hidden_units"))
    n_layers = len(hidden) + 1
    seed = _int(node, "seed", "seed", minimum=0)
    if seed >= 2**32:
        raise ConfigError("seed", f"must be an integer in [0, 2**32), got {seed}")
    device = _choice(node, "device", "device", DEVICES)
    _check_device(device)
    name = _get(node, "name", "name")
    return Settings(
        hidden_units=hidden,
        activation=_choice(node, "activation", "activation", ACTIVATIONS),
        seed=seed,
        device=device,
        name=str(name),
        data=_data(_block(node, "data")),
        penalty=_penalty(_block(node, "penalty"), n_layers),
        optimizer=_optimizer(_block(node, "optimizer")),
        train=_train(_block(node, "train"), _block(node, "data").get("task")),
        init=_init(_block(node, "init")),
        plots=_plots(_block(node, "plots")),
        logger=_logger(node),
        objective=_objective(node, _block(node, "data").get("task")),
        # folders written before the key existed have none
        reuse=_bool(node, "reuse", "reuse") if "reuse" in node else True,
    )


def _objective(node: Mapping, task: str) -> str:

    # folders written before the key existed have none: auto
    value = node.get("objective", "auto")
    allowed = ("auto", *objective.METRICS, *objective.ACCURACY)
    if value not in allowed:
        raise ConfigError("objective", f"must be one of {', '.join(allowed)}; got {value!r}")
    if value in objective.ACCURACY and task != "classification":
        raise ConfigError("objective", f"{value} needs a classification data set")
    return objective.metric(value, task)


def _logger(node: Mapping) -> str:
    logger = _choice(node, "logger", "logger", LOGGERS)
    package = {"tensorboard": "tensorboard", "mlflow": "mlflow"}.get(logger)
    if package is not None and find_spec(package) is None:
        raise ConfigError("logger", f"{logger} needs its package: pip install 'regexp[{logger}]'")
    return logger
