"""Train K models of one architecture as one program: weights stacked as [K, in, out].

Jobs of a sweep that share the data, the architecture and the batch schedule but differ in
seed, penalty (type, λ per layer), learning rate or optimizer β's run here together: one
baddbmm per layer for all K models, per-model penalties and optimizer state. The update is
the formula of regexp.core.optim (EWMA family, bias correction per model) written over stacked
tensors, so each model follows its one-by-one run to float32 rounding.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from regexp.core.data import Dataset
from regexp.core.model import ACTIVATIONS, MLP
from regexp.core.optim import FAMILY
from regexp.core.settings import Settings
from regexp.core.train import TrainResult, batches, progress_reporter, threads_for


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
        s.train.compile,
        s.init.strategy == "default",  # searched inits are picked one run at a time
    )


def can_batch(s: Settings) -> bool:
    return s.init.strategy == "default"


def chunk_size(n_params: int, width: int, n_rows: int, memory_mb: float) -> int:
    """How many models fit the memory budget: parameters, grads, two averages, activations."""
    per_model = 4 * (4 * n_params + 3 * width * n_rows)
    return max(1, int(memory_mb * 2**20 // per_model))


def _per_model(
    values: Sequence[float], device: torch.device, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device).view(-1, 1, 1)


@dataclass
class _Hyper:
    """Per-model optimizer settings as [K, 1, 1] tensors; bias corrections as flags."""

    lr: torch.Tensor
    beta1: torch.Tensor
    beta2: torch.Tensor
    eps: torch.Tensor
    correct: torch.Tensor  # 1.0 where the model corrects its averages' bias

    @classmethod
    def of(
        cls, settings: Sequence[Settings], device: torch.device, dtype: torch.dtype = torch.float32
    ) -> _Hyper:
        opts = [s.optimizer for s in settings]
        name = opts[0].name
        correct = [
            o.bias_correction if o.bias_correction is not None else name == "adam" for o in opts
        ]
        return cls(
            *(
                _per_model(values, device, dtype)
                for values in (
                    [o.lr for o in opts],
                    [o.beta1 for o in opts],
                    [o.beta2 for o in opts],
                    [o.eps for o in opts],
                    [float(c) for c in correct],
                )
            )
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
    """regexp.core.optim's EWMA family over stacked parameters with per-model hyperparameters."""

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
    """Train the models together; return each one's final weights and its TrainResult.

    train.compile=true runs each step as one compiled graph (regexp.core.compiled). Per epoch the
    loop keeps [K] tensors only; each model's history is built once at the end.
    """
    t0 = time.perf_counter()
    first = settings[0]
    k = len(settings)
    stacked = StackedModels(models, device)
    penalty = StackedPenalty(settings, stacked, device)
    task, n = data.task, data.x_train.shape[0]
    compiled = None
    if first.train.compile:
        from regexp.core.compiled import CompiledStackedStep

        hyper = _Hyper.of(settings, device, torch.float64)
        compiled = CompiledStackedStep(
            stacked, first.activation, task, penalty, first.optimizer.name, hyper, n
        )
    else:
        opt = StackedOptimizer(first.optimizer.name, stacked.params, _Hyper.of(settings, device))
    epochs, eval_every = first.train.epochs, first.train.eval_every
    gen = torch.Generator().manual_seed(first.data.seed)
    active = torch.ones(k, 1, 1, device=device)
    running = torch.ones(k, dtype=torch.bool, device=device)
    stopped = [0] * k  # the epoch at which a model diverged
    means: list[torch.Tensor] = []  # per epoch: [2, K] mean objective and data loss
    evals: list[tuple[int, dict[str, torch.Tensor]]] = []  # (epoch, [K] metrics)
    n_params = sum(p.numel() for p in stacked.params)
    with (
        threads_for(n_params, first.train.threads),
        progress_reporter(epochs, f"{label} ({k} models)") as report,
    ):
        for epoch in range(1, epochs + 1):
            sums = torch.zeros(2, k, device=device)
            for xb, yb in batches(data.x_train, data.y_train, first.train.batch_size, gen):
                if compiled is not None:  # adds the batch's share of the mean to sums
                    compiled(xb, yb, sums, active)
                    continue
                fit = _fit(task, stacked(xb), yb)
                loss = fit + penalty() if penalty.active else fit
                opt.zero_grad()
                loss.sum().backward()  # models are independent: each gets its own gradient
                opt.step(active)
                sums += torch.stack((loss.detach(), fit.detach())) * xb.shape[0]
            mean = sums if compiled is not None else sums / n
            means.append(mean)
            finite = torch.isfinite(mean[0])
            diverged = running & ~finite
            if diverged.any():  # these stop here: their row of this epoch has no metrics
                for i in diverged.nonzero()[:, 0].tolist():
                    stopped[i] = epoch
                running &= ~diverged
                active[diverged] = 0.0
            if epoch % eval_every == 0 or epoch == epochs:
                pen = penalty() if penalty.active else torch.zeros(k, device=device)
                val = _split_metrics(stacked, task, data.x_val, data.y_val, pen)
                metrics = {f"val_{key}": v for key, v in val.items()}
                if task == "classification":
                    acc = _split_metrics(stacked, task, data.x_train, data.y_train, pen)["accuracy"]
                    metrics["train_accuracy"] = acc
                evals.append((epoch, metrics))
            report(epoch, (mean[0].where(finite, 0.0).sum() / k).item())
            if all(stopped):
                break
    seconds = (time.perf_counter() - t0) / k  # each model's share of the group's time
    histories = _histories(means, evals, stopped, task)
    return [
        (stacked.state_dict(i), TrainResult(h, "diverged" if stop else "ok", len(h), seconds))
        for i, (h, stop) in enumerate(zip(histories, stopped))
    ]


def _histories(
    means: list[torch.Tensor],
    evals: list[tuple[int, dict[str, torch.Tensor]]],
    stopped: list[int],
    task: str,
) -> list[pd.DataFrame]:
    """Each model's history, as train() writes it: one row per epoch up to the one where it
    diverged (that row without metrics); metrics at evaluated epochs, NaN between them."""
    loss = torch.stack(means).cpu().double().numpy()  # [E, 2, K]
    n_epochs = loss.shape[0]
    eval_epochs = np.array([e for e, _ in evals], dtype=np.int64)
    keys = list(evals[0][1]) if evals else []
    evaluated = {k: torch.stack([m[k] for _, m in evals]).cpu().double().numpy() for k in keys}
    frames = []
    for i, stop in enumerate(stopped):
        last = stop or n_epochs
        epoch = np.arange(1, last + 1)
        columns = {"epoch": epoch, "train_loss": loss[:last, 0, i]}
        columns["train_mse" if task == "regression" else "train_bce"] = loss[:last, 1, i]
        rows = np.flatnonzero(eval_epochs < stop) if stop else np.arange(len(eval_epochs))
        if len(rows):
            for key in keys:
                column = np.full(last, np.nan)
                column[eval_epochs[rows] - 1] = evaluated[key][rows, i]
                columns[key] = column
        frames.append(pd.DataFrame(columns))
    return frames
