"""L1 / L2 penalties with a lambda per weight layer, as Keras's kernel regularizers compute them.

lam_l * sum(w^2) (no 1/2) and lam_l * sum(|w|), on kernels only unless biases=true. Computed
with one foreach norm over all layers and a dot product: a handful of ops per step.
"""

from __future__ import annotations

import torch
from torch import nn

from regexp.core.settings import PenaltySettings


class Penalty:
    def __init__(self, settings: PenaltySettings, model: nn.Module, device: torch.device):
        self.name = settings.name
        layers = list(model.layers)
        self.tensors = [layer.weight for layer in layers]
        l2, l1 = list(settings.lam), list(settings.l1_lam)
        if settings.name == "l1":
            l2, l1 = [], l2
        if settings.biases:
            self.tensors += [layer.bias for layer in layers]
            l2, l1 = l2 * 2, l1 * 2  # a bias shares its layer's lambda
        self.l2 = torch.tensor(l2, dtype=torch.float32, device=device) if l2 else None
        self.l1 = torch.tensor(l1, dtype=torch.float32, device=device) if l1 else None
        if self.l2 is not None and not bool((self.l2 > 0).any()):
            self.l2 = None
        if self.l1 is not None and not bool((self.l1 > 0).any()):
            self.l1 = None

    @property
    def active(self) -> bool:
        return self.l1 is not None or self.l2 is not None

    def __call__(self) -> torch.Tensor:
        """The penalty of the current weights (a 0-d tensor, differentiable)."""
        total = torch.zeros((), device=self.tensors[0].device)
        if self.l2 is not None:
            sq = torch.stack(torch._foreach_norm(self.tensors, 2)) ** 2
            total = total + torch.dot(self.l2, sq)
        if self.l1 is not None:
            total = total + torch.dot(self.l1, torch.stack(torch._foreach_norm(self.tensors, 1)))
        return total
