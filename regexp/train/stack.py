"""K models' parameters stacked in one flat buffer θ [K, P], each layer a view of it."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


class Group:
    """K models' parameters as one flat buffer θ [K, P] with per-layer views."""

    def __init__(self, widths: Sequence[int], inits: Sequence[Sequence[Tensor]], device):
        self.shapes = [s for a, b in zip(widths, widths[1:]) for s in ((a, b), (1, b))]
        self.sizes = [a * b for a, b in self.shapes]
        self.k = len(inits)
        self.theta = torch.empty(self.k, sum(self.sizes), device=device)
        for row, tensors in zip(self.theta, inits):
            row.copy_(torch.cat([t.reshape(-1) for t in tensors]))
        self.params = self.views(self.theta)

    def views(self, flat: Tensor) -> list[Tensor]:
        """[w0, b0, w1, ...] of a [K, P] buffer (or of one row [P], then without K)."""
        parts = flat.split(self.sizes, dim=-1)
        return [p.view(*flat.shape[:-1], *s) for p, s in zip(parts, self.shapes)]

    def state_dict(self, k: int) -> dict[str, Tensor]:
        """Model k's weights in regexp.train.model.MLP's layout (torch's [out, in])."""
        state = {}
        for i, (w, b) in enumerate(zip(self.params[::2], self.params[1::2])):
            state[f"layers.{i}.weight"] = w[k].T.contiguous().cpu()
            state[f"layers.{i}.bias"] = b[k, 0].clone().cpu()
        return state
