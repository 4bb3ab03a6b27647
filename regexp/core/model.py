"""The MLP built from hidden_units, with the notebook's per-layer seeded RandomNormal init."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def layer_seeds(seed: int, n_layers: int) -> tuple[list[int], list[int]]:
    """(bias seeds, weight seeds), one per weight layer, derived as the notebook does.

    The notebook calls np.random.seed(seed) then np.random.randint(1, 1e6, ...). We draw the
    seeds row by row, (bias, weight) for layer 0, then layer 1, ..., so layer l's seeds depend
    only on `seed` and l: never on other layers' widths, nor on how many layers follow.
    """
    rng = np.random.RandomState(seed)
    pairs = rng.randint(1, 1_000_000, size=(n_layers, 2))
    return [int(b) for b in pairs[:, 0]], [int(w) for w in pairs[:, 1]]


def seeded_normal(shape: Sequence[int], seed: int, mean: float, stddev: float) -> torch.Tensor:
    """RandomNormal(mean, stddev, seed): the values depend only on the seed and the shape."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(shape), generator=gen) * stddev + mean


class MLP(nn.Module):
    """Dense layers (hidden, then output). forward gives the raw output (a logit if binary)."""

    def __init__(
        self, n_in: int, hidden_units: Sequence[int], n_out: int = 1, activation: str = "relu"
    ):
        super().__init__()
        widths = [n_in, *hidden_units, n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.activation = activation
        self._act = ACTIVATIONS[activation]

    @property
    def hidden_units(self) -> list[int]:
        return [layer.out_features for layer in self.layers[:-1]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = self._act(layer(x))
        return self.layers[-1](x)

    def hidden_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden layer's output after its activation."""
        outs = []
        for layer in self.layers[:-1]:
            x = self._act(layer(x))
            outs.append(x)
        return outs

    @torch.no_grad()
    def init_seeded(self, seed: int, mean: float = 0.0, stddev: float = 0.05) -> MLP:
        """Keras RandomNormal for kernels and biases, one seed per layer for each."""
        b_seeds, w_seeds = layer_seeds(seed, len(self.layers))
        for layer, b_seed, w_seed in zip(self.layers, b_seeds, w_seeds):
            # torch stores [out, in]; draw Keras's [in, out] kernel so values match its layout.
            kernel = seeded_normal((layer.in_features, layer.out_features), w_seed, mean, stddev)
            layer.weight.copy_(kernel.T)
            layer.bias.copy_(seeded_normal((layer.out_features,), b_seed, mean, stddev))
        return self


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
