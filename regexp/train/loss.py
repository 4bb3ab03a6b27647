"""What training minimises and what a run reports, for K >= 1 stacked models, written once.

The data loss is MSE for regression and binary cross-entropy on logits for classification;
the penalty is Keras's kernel regularizers, λ_l·Σw² (no 1/2) and λ_l·Σ|w| per weight layer,
kernels only unless penalty.biases; the objective is their sum, as Keras reports `loss`.
Per-model λ's are [K, layers] tables, so one program trains models with different penalties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from regexp.config.settings import PenaltySettings
from regexp.train.model import VECTOR_ALIGN, output


def data_loss(task: str, out: Tensor, y: Tensor) -> Tensor:
    """[K] losses of stacked outputs [K, N, 1] against targets [N, 1] (one draw for all) or
    [K, N, 1] (each model's own)."""
    if task == "classification":
        n, pad = out.shape[1], -out.shape[1] % VECTOR_ALIGN
        target = y.expand_as(out)
        if pad:  # rows to whole vectors (model.VECTOR_ALIGN): exp and log's last partial one
            out, target = F.pad(out, (0, 0, 0, pad)), F.pad(target, (0, 0, 0, pad))
        bce = F.binary_cross_entropy_with_logits(out, target, reduction="none")
        return bce[:, :n].mean((1, 2))
    return (out - y).square().mean((1, 2))


@torch.no_grad()
def data_losses(
    params: Sequence[Tensor],
    x: Tensor,
    y: Tensor,
    task: str,
    activation: str,
    chunk_bytes: int = 128 * 2**20,
) -> Tensor:
    """[K] data losses of many stacked weight sets (forward only), scored in chunks of about
    chunk_bytes of weights: a loss landscape or an init search may hold millions of sets."""
    k = params[0].shape[0]
    per_set = sum(t[0].numel() * t.element_size() for t in params)
    chunk = max(1, min(k, chunk_bytes // max(1, per_set)))
    return torch.cat(
        [
            data_loss(task, output([t[i : i + chunk] for t in params], x, activation), y)
            for i in range(0, k, chunk)
        ]
    )


@dataclass
class PenaltyTable:
    """λ's of K models: l2, l1 [K, layers]; bias_on [K, 1] (1 where biases are penalized).
    use_* say which terms any model has, so a model without them pays nothing for them."""

    l2: Tensor
    l1: Tensor
    bias_on: Tensor

    def __post_init__(self) -> None:
        self.use_l2, self.use_l1 = bool(self.l2.any()), bool(self.l1.any())
        self.use_bias = bool(self.bias_on.any())

    @property
    def active(self) -> bool:
        return self.use_l1 or self.use_l2

    @classmethod
    def of(
        cls, penalties: Sequence[PenaltySettings], n_layers: int, device: torch.device
    ) -> PenaltyTable:
        l2, l1 = [], []
        for p in penalties:
            zeros = (0.0,) * n_layers
            if p.name == "l1":
                l2.append(zeros), l1.append(p.lam)
            elif p.name == "l1_l2":
                l2.append(p.lam), l1.append(p.l1_lam)
            else:  # l2, or none (whose lam is all zeros)
                l2.append(p.lam), l1.append(zeros)

        def table(rows: list) -> Tensor:
            return torch.tensor(rows, dtype=torch.float32, device=device).view(len(rows), -1)

        biases = [[float(p.biases)] for p in penalties]
        return cls(table(l2), table(l1), table(biases))

    def take(self, rows: Sequence[int]) -> PenaltyTable:
        """The table of these models, in this order."""
        index = torch.tensor(list(rows), dtype=torch.long, device=self.l2.device)
        return PenaltyTable(*(t.index_select(0, index) for t in (self.l2, self.l1, self.bias_on)))

    def put(self, row: int, penalty: PenaltySettings) -> None:
        """Row `row` takes a new model's λ's, in place."""
        one = PenaltyTable.of([penalty], self.l2.shape[1], self.l2.device)
        for mine, new in ((self.l2, one.l2), (self.l1, one.l1), (self.bias_on, one.bias_on)):
            mine[row] = new[0]
        self.__post_init__()


def penalty(params: Sequence[Tensor], table: PenaltyTable) -> Tensor:
    """[K] penalties of stacked params [w0, b0, w1, b1, ...] (differentiable)."""
    kernels, biases = params[::2], params[1::2]
    total = torch.zeros(table.l2.shape[0], device=table.l2.device)
    for use, lam, norm in (
        (table.use_l2, table.l2, torch.square),
        (table.use_l1, table.l1, torch.abs),
    ):
        if not use:
            continue
        per_layer = torch.stack([norm(w).sum((1, 2)) for w in kernels], 1)
        if table.use_bias:
            per_layer = per_layer + table.bias_on * torch.stack(
                [norm(b).sum((1, 2)) for b in biases], 1
            )
        total = total + (lam * per_layer).sum(1)
    return total


@torch.no_grad()
def add_penalty_grad(
    grads: Sequence[Tensor], params: Sequence[Tensor], table: PenaltyTable
) -> None:
    """Add penalty()'s gradient to grads in place: 2λ·w (L2) and λ·sign(w) (L1) per layer,
    what autograd gives, in one pass over each layer where autograd's square, sum and
    backward make five."""
    for i, (g, w) in enumerate(zip(grads, params)):
        bias = i % 2 == 1
        if bias and not table.use_bias:
            continue
        layer = i // 2
        for use, lam, term in ((table.use_l2, table.l2, w), (table.use_l1, table.l1, None)):
            if not use:
                continue
            coef = lam[:, layer] * (2.0 if term is w else 1.0)
            if bias:
                coef = coef * table.bias_on[:, 0]
            g.addcmul_(w if term is w else torch.sign(w), coef.view(-1, *(1,) * (w.dim() - 1)))


def objective(
    params: Sequence[Tensor],
    x: Tensor,
    y: Tensor,
    task: str,
    activation: str,
    table: PenaltyTable,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """(what to differentiate, ([K] objectives, [K] data losses)). Models are independent,
    so the gradient of the sum is each model's own gradient."""
    fit = data_loss(task, output(params, x, activation), y)
    loss = fit + penalty(params, table) if table.active else fit
    return loss.sum(), (loss.detach(), fit.detach())


# Models per chunk of an evaluation: its widest activation [k, N, width] holds at most this
# many floats (1 MB), so a layer's input and output stay in a core's L2 cache.
CHUNK_ELEMENTS = 1 << 18


@torch.no_grad()
def metrics(
    params: Sequence[Tensor], x: Tensor, y: Tensor, task: str, activation: str, pen: Tensor
) -> dict[str, Tensor]:
    """[K] mse, loss (= data loss + penalty, as Keras reports it) and, if binary, bce and
    accuracy. For classification, mse is the Brier score (squared error of the probability).
    Computed in chunks of models on the CPU (CHUNK_ELEMENTS). x [N, in] and y [N, 1], or
    [K, N, ...] for each model's own draw."""
    k, width = params[0].shape[0], max(p.shape[-1] for p in params[0::2])
    per = max(1, CHUNK_ELEMENTS // max(1, x.shape[-2] * width))
    if k <= per or x.device.type != "cpu":
        return _metrics(params, x, y, task, activation, pen)
    own = x.dim() == 3

    def part(i: int) -> dict[str, Tensor]:
        models = slice(i, i + per)
        xs, ys = (x[models], y[models]) if own else (x, y)
        return _metrics([p[models] for p in params], xs, ys, task, activation, pen[models])

    parts = [part(i) for i in range(0, k, per)]
    return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}


def _metrics(
    params: Sequence[Tensor], x: Tensor, y: Tensor, task: str, activation: str, pen: Tensor
) -> dict[str, Tensor]:
    out = output(params, x, activation)
    if task == "classification":
        bce = data_loss(task, out, y)
        return {
            "mse": data_loss("regression", torch.sigmoid(out), y),
            "bce": bce,
            "loss": bce.double() + pen.double(),  # float32 would round a small penalty away
            "accuracy": ((out > 0).float() == y).float().mean((1, 2)),
        }
    mse = data_loss(task, out, y)
    return {"mse": mse, "loss": mse.double() + pen.double()}
