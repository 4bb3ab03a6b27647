"""K models' parameters stacked in one flat buffer θ [K, P], each layer a view of it (P: the
parameters of the widest model, rounded up to ROW_ALIGN; the rest of a row stays 0).

Models of one depth but different widths are padded with zeros to the widest of each layer.
A padded unit's incoming and outgoing weights and its bias start at 0, and its gradients are
masked to 0 (`mask`), so they stay 0 in every optimizer: the unit then adds exactly nothing to
its model's outputs, penalty and updates. Only the order of float sums changes (a GEMM over a
longer inner dimension), hence agreement with the model trained alone to float precision.

A program's rows change over its run: keep() drops the rows of models that stopped (the
buffer shrinks; the padded widths stay), place() puts a new model into a row.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

# A row's length, rounded up to whole 64-byte lines of float32: torch's fused optimizer kernels
# take a buffer's last partial vector through a scalar loop that rounds apart from the vector
# one, so a model's update would depend on where its row ends; with whole lines no element is
# ever in a tail, and a model computes the same alone, in any stack, or in a list of rows.
ROW_ALIGN = 16


def padded_widths(widths: Sequence[Sequence[int]]) -> list[int]:
    """The widest of each layer over models of one depth ([n_in, hidden..., n_out] each)."""
    return [max(column) for column in zip(*widths, strict=True)]


class Stack:
    """K models' parameters as one flat buffer θ [K, P] with per-layer views.

    widths: each model's [n_in, hidden..., 1] (one list for all, or one per model);
    inits: each model's [kernel [in, out], bias [out], ...] in its own widths."""

    def __init__(
        self,
        widths: Sequence[int] | Sequence[Sequence[int]],
        inits: Sequence[Sequence[Tensor]],
        device: torch.device | str,
    ):
        self.k = len(inits)
        own = [list(w) for w in widths] if isinstance(widths[0], Sequence) else [list(widths)]
        self.widths = own * self.k if len(own) == 1 else own
        padded = padded_widths(self.widths)
        self.shapes = [s for a, b in zip(padded, padded[1:]) for s in ((a, b), (1, b))]
        self.sizes = [a * b for a, b in self.shapes]
        self.padded = any(w != padded for w in self.widths)
        self.used = sum(self.sizes)
        total = -(-self.used // ROW_ALIGN) * ROW_ALIGN
        self.theta = torch.zeros(self.k, total, device=device)
        # 1 on each model's own entries: its gradient's padding is zeroed every step
        self.mask = torch.zeros(self.k, total, device=device) if self.padded else None
        for i, tensors in enumerate(inits):
            if not self.padded:
                self.theta[i, : self.used].copy_(torch.cat([t.reshape(-1) for t in tensors]))
                continue
            for view, keep, t in zip(self.views(self.theta[i]), self._own(i), tensors):
                view[keep].copy_(t.reshape(view[keep].shape))
            for view, keep in zip(self.views(self.mask[i]), self._own(i)):
                view[keep] = 1.0
        self.params = self.views(self.theta)

    def keep(self, rows: Sequence[int]) -> None:
        """Only these rows stay, in this order: θ and the mask shrink to them (new buffers)."""
        index = torch.tensor(list(rows), dtype=torch.long, device=self.theta.device)
        self.theta = self.theta.index_select(0, index)
        if self.mask is not None:
            self.mask = self.mask.index_select(0, index)
        self.widths = [self.widths[i] for i in rows]
        self.k = len(self.widths)
        self.params = self.views(self.theta)

    def place(self, row: int, widths: Sequence[int], tensors: Sequence[Tensor]) -> None:
        """A new model of `widths` (at most the padded ones) and [kernel, bias, ...] into a
        row, in place: its padding 0, and a mask from now on if it is narrower."""
        padded = padded_widths(self.widths)
        if padded_widths([*self.widths, list(widths)]) != padded:
            raise ValueError(f"widths {list(widths)} exceed the program's {padded}")
        self.widths[row] = list(widths)
        if list(widths) != padded and self.mask is None:  # every model so far is full width
            self.mask = torch.ones_like(self.theta)
            self.padded = True
        self.theta[row].zero_()
        for view, keep, t in zip(self.views(self.theta[row]), self._own(row), tensors):
            view[keep].copy_(t.reshape(view[keep].shape))
        if self.mask is not None:
            self.mask[row].zero_()
            for view, keep in zip(self.views(self.mask[row]), self._own(row)):
                view[keep] = 1.0

    def _own(self, i: int) -> list[tuple[slice, slice]]:
        """Model i's entries of each layer's [in, out] (kernel) and [1, out] (bias) view."""
        w = self.widths[i]
        return [s for a, b in zip(w, w[1:]) for s in ((slice(a), slice(b)), (slice(1), slice(b)))]

    def views(self, flat: Tensor) -> list[Tensor]:
        """[w0, b0, w1, ...] of a [K, P] buffer (or of one row [P], then without K)."""
        parts = flat[..., : self.used].split(self.sizes, dim=-1)
        return [p.view(*flat.shape[:-1], *s) for p, s in zip(parts, self.shapes)]

    def state_dict(self, k: int, row: Tensor | None = None) -> dict[str, Tensor]:
        """Model k's weights in regexp.train.model.MLP's layout (torch's [out, in]), in its
        own widths: from θ, or from `row` [P] laid out as θ's rows (a kept copy)."""
        state = {}
        own = self._own(k)
        params = self.views(self.theta[k] if row is None else row)
        layers = zip(params[::2], params[1::2], own[::2], own[1::2])
        for i, (w, b, (rows, cols), (_, units)) in enumerate(layers):
            state[f"layers.{i}.weight"] = w[rows, cols].T.contiguous().cpu()
            state[f"layers.{i}.bias"] = b[0, units].clone().cpu()
        return state
