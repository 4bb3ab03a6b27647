"""A run's trained weights: saved as safetensors, loaded back into the model they came from."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from regexp.config.errors import UsageError
from regexp.config.settings import Settings, validate
from regexp.runs.layout import RunDir, write_atomic
from regexp.train.data import Dataset, make_data
from regexp.train.model import MLP


def build_model(settings: Settings, n_in: int) -> MLP:
    """The configured model with its seeded initial weights."""
    model = MLP(n_in, settings.hidden_units, 1, settings.activation)
    return model.init_seeded(settings.seed, settings.init.mean, settings.init.stddev)


def save_weights(path: Path, model: torch.nn.Module | dict[str, torch.Tensor]) -> None:

    tensors = model if isinstance(model, dict) else model.state_dict()
    state = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    write_atomic(path, save(state))


def load_weights(path: Path) -> dict[str, torch.Tensor]:

    return load_file(str(path))


def rebuild(settings: Settings, weights: Path) -> tuple[MLP, Dataset]:
    """The trained model (CPU, eval mode) from its weights file, and the job's data."""
    data = make_data(settings.data)
    model = build_model(settings, data.n_in)
    model.load_state_dict(load_weights(weights))
    return model.eval(), data


def load_run(run_dir: Path | str) -> tuple[Settings, MLP, Dataset]:
    """Rebuild a finished run's settings, trained model (CPU) and data from its folder;
    UsageError (one line) when the folder's config or weights cannot be read back."""
    run = RunDir(run_dir)
    try:
        config = run.config_tree()
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"{run.config_file}: unreadable ({type(err).__name__})") from None
    if not isinstance(config, dict):
        raise UsageError(f"{run.config_file}: not a run's config")
    try:
        settings = validate(config)
    except UsageError as err:
        raise UsageError(f"{run.config_file}: {err}") from None
    data = make_data(settings.data)
    model = build_model(settings, data.n_in)
    try:
        model.load_state_dict(load_weights(run.weights_file))
    except (OSError, SafetensorError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"{run.weights_file}: not this run's weights ({first})") from None
    return settings, model.eval(), data
