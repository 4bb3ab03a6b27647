"""Train K models of one architecture as one program: weights stacked as [K, in, out].

Jobs of a sweep that share the data, the architecture and the batch schedule but differ in
seed, penalty (type, λ per layer), learning rate or optimizer β's run here together: one
baddbmm per layer for all K models, per-model penalties and optimizer state. The update is
the formula of regexp.optim (EWMA family, bias correction per model) written over stacked
tensors, so each model follows its one-by-one run to float32 rounding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from regexp.data import Dataset
from regexp.model import ACTIVATIONS, MLP
from regexp.optim import FAMILY
from regexp.settings import Settings
from regexp.train import TrainResult, batches, progress_reporter, threads_for


def group_key(s: Settings) -> tuple:
    """Jobs with equal keys can be trained as one stacked program."""
    return (
        s.data,
        s.hidden_units,
        s.activation,
        s.device,
        s.optimizer.name,
        s.train.epochs,
        s.train.batch_size,
        s.train.eval_every,
        s.train.threads,
        s.init.strategy == "default",  # searched inits are picked one run at a time
    )


def can_batch(s: Settings) -> bool:
    return s.init.strategy == "default" and not s.train.compile


def chunk_size(n_params: int, width: int, n_rows: int, memory_mb: float) -> int:
    """How many models fit the memory budget: parameters, grads, two averages, activations."""
    per_model = 4 * (4 * n_params + 3 * width * n_rows)
    return max(1, int(memory_mb * 2**20 // per_model))


def _per_model(values: Sequence[float], device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=device).view(-1, 1, 1)


@dataclass
class _Hyper:
    """Per-model optimizer settings as [K, 1, 1] tensors; bias corrections as flags."""

    lr: torch.Tensor
    beta1: torch.Tensor
    beta2: torch.Tensor
    eps: torch.Tensor
    correct: torch.Tensor  # 1.0 where the model corrects its averages' bias

    @classmethod
    def of(cls, settings: Sequence[Settings], device: torch.device) -> _Hyper:
        opts = [s.optimizer for s in settings]
        name = opts[0].name
        correct = [
            o.bias_correction if o.bias_correction is not None else name == "adam" for o in opts
        ]
        return cls(
            _per_model([o.lr for o in opts], device),
            _per_model([o.beta1 for o in opts], device),
            _per_model([o.beta2 for o in opts], device),
            _per_model([o.eps for o in opts], device),
            _per_model([float(c) for c in correct], device),
        )


class StackedModels:
    """K MLPs of one architecture; kernels [K, in, out] (Keras layout), biases [K, 1, out]."""

    def __init__(self, models: Sequence[MLP], device: torch.device):
        self.activation = ACTIVATIONS[models[0].activation]
        n_layers = len(models[0].layers)
        self.kernels = [
            torch.stack([m.layers[i].weight.detach().T for m in models]).to(device).contiguous()
            for i in range(n_layers)
        ]
        self.biases = [
            torch.stack([m.layers[i].bias.detach()[None, :] for m in models]).to(device)
            for i in range(n_layers)
        ]
        self.params = [*self.kernels, *self.biases]
        for p in self.params:
            p.requires_grad_(True)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, in] shared by all models, or [K, N, in]; returns [K, N, out]."""
        k = self.kernels[0].shape[0]
        h = x.expand(k, *x.shape) if x.dim() == 2 else x
        last = len(self.kernels) - 1
        for i, (w, b) in enumerate(zip(self.kernels, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = self.activation(h)
        return h

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Model k's weights in MLP's state_dict layout."""
        state = {}
        for i, (w, b) in enumerate(zip(self.kernels, self.biases)):
            state[f"layers.{i}.weight"] = w[k].detach().T.contiguous().cpu()
            state[f"layers.{i}.bias"] = b[k, 0].detach().clone().cpu()
        return state


class StackedPenalty:
    """Per-model λ·Σw² and λ·Σ|w| per layer: [K, L] λ tables, one reduction per layer."""

    def __init__(self, settings: Sequence[Settings], models: StackedModels, device: torch.device):
        n_layers = len(models.kernels)
        l2, l1, with_bias = [], [], []
        for s in settings:
            p = s.penalty
            zeros = (0.0,) * n_layers
            if p.name == "l1":
                l2.append(zeros), l1.append(p.lam)
            elif p.name == "l1_l2":
                l2.append(p.lam), l1.append(p.l1_lam)
            else:  # l2, or none (whose lam is all zeros)
                l2.append(p.lam), l1.append(zeros)
            with_bias.append(float(p.biases))
        self.l2 = torch.tensor(l2, dtype=torch.float32, device=device)
        self.l1 = torch.tensor(l1, dtype=torch.float32, device=device)
        self.bias_on = torch.tensor(with_bias, dtype=torch.float32, device=device)[:, None]
        self.use_l2, self.use_l1 = bool(self.l2.any()), bool(self.l1.any())
        self.use_bias = bool(self.bias_on.any())
        self.models = models

    @property
    def active(self) -> bool:
        return self.use_l1 or self.use_l2

    def __call__(self) -> torch.Tensor:
        """[K] penalties of the current weights."""
        k = self.l2.shape[0]
        total = torch.zeros(k, device=self.l2.device)
        ws, bs = self.models.kernels, self.models.biases
        if self.use_l2:
            sq = torch.stack([w.square().sum((1, 2)) for w in ws], 1)
            if self.use_bias:
                sq = sq + self.bias_on * torch.stack([b.square().sum((1, 2)) for b in bs], 1)
            total = total + (self.l2 * sq).sum(1)
        if self.use_l1:
            ab = torch.stack([w.abs().sum((1, 2)) for w in ws], 1)
            if self.use_bias:
                ab = ab + self.bias_on * torch.stack([b.abs().sum((1, 2)) for b in bs], 1)
            total = total + (self.l1 * ab).sum(1)
        return total


class StackedOptimizer:
    """regexp.optim's EWMA family over stacked parameters with per-model hyperparameters."""

    def __init__(self, name: str, params: list[torch.Tensor], hyper: _Hyper):
        self.uses_m, self.uses_v = FAMILY[name]
        self.params, self.h, self.t = params, hyper, 0
        self.m = [torch.zeros_like(p) for p in params] if self.uses_m else []
        self.v = [torch.zeros_like(p) for p in params] if self.uses_v else []

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """One update; models with active == 0 (diverged) stay where they stopped."""
        self.t += 1
        h, t = self.h, self.t
        grads = [p.grad for p in self.params]
        lr = h.lr * active
        numer = grads
        if self.uses_m:
            for m, g in zip(self.m, grads):
                m.lerp_(g, 1.0 - h.beta1)
            numer = self.m
            c1 = 1.0 - h.correct * h.beta1**t  # 1 where uncorrected
            lr = lr / c1
        for i, p in enumerate(self.params):
            step = numer[i]
            if self.uses_v:
                v = self.v[i]
                v.mul_(h.beta2).add_(grads[i].square() * (1.0 - h.beta2))  # β2 v + (1 − β2) g²
                root_c2 = (1.0 - h.correct * h.beta2**t).sqrt()
                step = step / (v.sqrt() / root_c2 + h.eps)
            update = lr * step
            p.sub_(torch.where(active > 0, update, torch.zeros_like(update)))

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def _fit(task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[K] data losses of stacked outputs [K, N, 1] against shared targets [N, 1]."""
    target = y.expand_as(out)
    if task == "classification":
        return F.binary_cross_entropy_with_logits(out, target, reduction="none").mean((1, 2))
    return (out - target).square().mean((1, 2))


@torch.no_grad()
def _split_metrics(
    models: StackedModels, task: str, x: torch.Tensor, y: torch.Tensor, pen: torch.Tensor
) -> dict[str, torch.Tensor]:
    out = models(x)
    target = y.expand_as(out)
    if task == "classification":
        bce = F.binary_cross_entropy_with_logits(out, target, reduction="none").mean((1, 2))
        return {
            "mse": (torch.sigmoid(out) - target).square().mean((1, 2)),
            "bce": bce,
            "loss": bce + pen,
            "accuracy": ((out > 0).float() == target).float().mean((1, 2)),
        }
    mse = (out - target).square().mean((1, 2))
    return {"mse": mse, "loss": mse + pen}


def train_group(
    settings: Sequence[Settings],
    models: Sequence[MLP],
    data: Dataset,
    device: torch.device,
    label: str = "batched",
) -> list[tuple[dict[str, torch.Tensor], TrainResult]]:
    """Train the models together; return each one's final weights and its TrainResult."""
    t0 = time.perf_counter()
    first = settings[0]
    k = len(settings)
    stacked = StackedModels(models, device)
    penalty = StackedPenalty(settings, stacked, device)
    opt = StackedOptimizer(first.optimizer.name, stacked.params, _Hyper.of(settings, device))
    epochs, eval_every = first.train.epochs, first.train.eval_every
    gen = torch.Generator().manual_seed(first.data.seed)
    task = data.task
    active = torch.ones(k, 1, 1, device=device)
    stopped = [0] * k  # the epoch at which a model diverged
    rows: list[list[dict[str, float]]] = [[] for _ in range(k)]
    data_key = "train_mse" if task == "regression" else "train_bce"
    n_params = sum(p.numel() for p in stacked.params)
    threads = first.train.threads
    with (
        threads_for(n_params, threads),
        progress_reporter(epochs, f"{label} ({k} models)") as report,
    ):
        for epoch in range(1, epochs + 1):
            total = torch.zeros(k, device=device)
            fit_total = torch.zeros(k, device=device)
            seen = 0
            for xb, yb in batches(data.x_train, data.y_train, first.train.batch_size, gen):
                fit = _fit(task, stacked(xb), yb)
                loss = fit + penalty() if penalty.active else fit
                opt.zero_grad()
                loss.sum().backward()  # models are independent: each gets its own gradient
                opt.step(active)
                total += loss.detach() * xb.shape[0]
                fit_total += fit.detach() * xb.shape[0]
                seen += xb.shape[0]
            train_loss = (total / seen).tolist()
            fit_mean = (fit_total / seen).tolist()
            evaluated = epoch % eval_every == 0 or epoch == epochs
            if evaluated:
                pen = penalty() if penalty.active else torch.zeros(k, device=device)
                val = _split_metrics(stacked, task, data.x_val, data.y_val, pen)
                val = {key: v.tolist() for key, v in val.items()}
                if task == "classification":
                    acc = _split_metrics(stacked, task, data.x_train, data.y_train, pen)["accuracy"]
                    train_acc = acc.tolist()
            for i in range(k):
                if stopped[i]:
                    continue
                row = {"epoch": epoch, "train_loss": train_loss[i], data_key: fit_mean[i]}
                if not math.isfinite(train_loss[i]):
                    stopped[i] = epoch
                    active[i] = 0.0
                    rows[i].append(row)
                    continue
                if evaluated:
                    row.update({f"val_{key}": v[i] for key, v in val.items()})
                    if task == "classification":
                        row["train_accuracy"] = train_acc[i]
                rows[i].append(row)
            report(epoch, float(sum(v for v in train_loss if math.isfinite(v)) / k))
            if all(stopped):
                break
    seconds = (time.perf_counter() - t0) / k  # each model's share of the group's time
    return [
        (
            stacked.state_dict(i),
            TrainResult(
                pd.DataFrame(rows[i]), "diverged" if stopped[i] else "ok", len(rows[i]), seconds
            ),
        )
        for i in range(k)
    ]
