"""The MLP built from hidden_units: its forward pass for K >= 1 stacked models (written once),
the nn.Module people load a run into, and the notebook's per-layer seeded RandomNormal init.

Stacked layout (Keras's): kernels [K, in, out], biases [K, 1, out], params = [w0, b0, w1, ...].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

# In place: a layer's product is a fresh tensor that no gradient formula reads (baddbmm's
# reads its inputs), so its activation may overwrite it, one [K, N, width] tensor less a layer.
ACTIVATIONS = {"relu": torch.relu_, "tanh": torch.tanh_, "sigmoid": torch.sigmoid_}


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


def seeded_layers(
    widths: Sequence[int], seed: int, mean: float = 0.0, stddev: float = 0.05
) -> list[torch.Tensor]:
    """[kernel [in, out], bias [out], ...] as Keras's RandomNormal draws them, one seed per
    layer for each."""
    b_seeds, w_seeds = layer_seeds(seed, len(widths) - 1)
    out = []
    for n_in, n_out, b_seed, w_seed in zip(widths, widths[1:], b_seeds, w_seeds):
        out += [
            seeded_normal((n_in, n_out), w_seed, mean, stddev),
            seeded_normal((n_out,), b_seed, mean, stddev),
        ]
    return out


# A layer of one input or one output and at most this many units a model is a broadcast
# product (and a sum): a batched GEMM of such thin matrices is mostly call overhead, one per
# model. Wider, the GEMM passes over the activations fewer times, forward and backward.
BROADCAST_MAX_WIDTH = 16
# From this width on a model's last layer (one output) is a GEMV of its own.
GEMV_MIN_WIDTH = 64


def dense(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h @ w + b for K models; h [N, in] (shared by all K) or [K, N, in]: one batched GEMM,
    or a broadcast product for a narrow layer of one input or one output (the 1-D
    regression's first and last); on the CPU a layer of one output is computed the same way
    at any K (README: how close batched and one-by-one training are)."""
    k, n_in, n_out = w.shape
    if min(n_in, n_out) == 1 and max(n_in, n_out) <= BROADCAST_MAX_WIDTH:
        if n_in == 1:
            return h * w + b
        return (h * w.transpose(1, 2)).sum(-1, keepdim=True) + b
    h = h.expand(k, *h.shape) if h.dim() == 2 else h
    if n_out != 1 or h.device.type != "cpu":  # the GPU's batched kernel is its fast path
        return torch.baddbmm(b, h, w)
    if n_in >= GEMV_MIN_WIDTH:
        # a wide matrix-vector product: one GEMV a model, alone or stacked (torch's batched
        # one is slower, and rounds apart from the GEMV it runs for a batch of one)
        if k == 1:  # the same product, without a stack's bookkeeping
            return torch.addmm(b[0], h[0], w[0]).unsqueeze(0)
        rows = zip(h.unbind(0), w.unbind(0), b.unbind(0))
        return torch.stack([torch.addmm(bi, hi, wi) for hi, wi, bi in rows])
    if k == 1:
        # torch runs a batch of one matrix-vector product as a plain GEMV, whose sums round
        # apart from the batched kernel's; as a batch of two (a copy, whose gradient is zero)
        # a model alone computes what it computes inside any stack, forward and backward.
        return torch.baddbmm(b.expand(2, -1, -1), h.expand(2, -1, -1), w.expand(2, -1, -1))[:1]
    return torch.baddbmm(b, h, w)


# torch runs exp, log and the like in vectors, but a tensor's last partial vector in a scalar
# loop that rounds apart: so that a model's numbers never depend on how many models are
# stacked with it (where its elements fall), such a tensor is padded to whole vectors.
VECTOR_ALIGN = 32


def activate(h: torch.Tensor, activation: str) -> torch.Tensor:
    """The activation of a layer's product (in place, but tanh and sigmoid on a tensor that
    ends mid-vector: over a padded copy)."""
    pad = -h.numel() % VECTOR_ALIGN
    if activation == "relu" or not pad:  # relu rounds nothing
        return ACTIVATIONS[activation](h)
    whole = torch.nn.functional.pad(h.reshape(-1), (0, pad))
    return ACTIVATIONS[activation](whole)[: h.numel()].view(h.shape)


def forward(params: Sequence[torch.Tensor], x: torch.Tensor, activation: str) -> list[torch.Tensor]:
    """Each layer's output for K stacked models, [K, N, width] each: the hidden layers after
    their activation, then the raw output (a logit if binary) last. x [N, in] is every
    model's input; x [K, N, in] gives each model its own."""
    outs, h = [], x
    last = len(params) // 2 - 1
    for i in range(last + 1):
        h = dense(h, params[2 * i], params[2 * i + 1])
        if i < last:
            h = activate(h, activation)
        outs.append(h)
    return outs


def output(params: Sequence[torch.Tensor], x: torch.Tensor, activation: str) -> torch.Tensor:
    """The raw output [K, N, 1] of K stacked models."""
    return forward(params, x, activation)[-1]


class MLP(nn.Module):
    """Dense layers (hidden, then output). forward gives the raw output (a logit if binary)."""

    def __init__(
        self, n_in: int, hidden_units: Sequence[int], n_out: int = 1, activation: str = "relu"
    ):
        super().__init__()
        widths = [n_in, *hidden_units, n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.activation = activation

    @property
    def hidden_units(self) -> list[int]:
        return [layer.out_features for layer in self.layers[:-1]]

    def stacked(self) -> list[torch.Tensor]:
        """The parameters as one model of the stacked layout (views: gradients flow)."""
        return [p for m in self.layers for p in (m.weight.t()[None], m.bias[None, None])]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return output(self.stacked(), x, self.activation)[0]

    def hidden_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden layer's output after its activation."""
        return [h[0] for h in forward(self.stacked(), x, self.activation)[:-1]]

    @torch.no_grad()
    def init_seeded(self, seed: int, mean: float = 0.0, stddev: float = 0.05) -> MLP:
        """Keras RandomNormal for kernels and biases, one seed per layer for each."""
        widths = [self.layers[0].in_features, *(m.out_features for m in self.layers)]
        drawn = seeded_layers(widths, seed, mean, stddev)
        for layer, kernel, bias in zip(self.layers, drawn[::2], drawn[1::2]):
            layer.weight.copy_(kernel.T)  # torch stores [out, in]
            layer.bias.copy_(bias)
        return self
