"""Metrics of a model on the training and validation sets, as the contract names them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regexp.core.data import Dataset


def data_loss(task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The unpenalized objective: MSE for regression, binary cross-entropy on logits."""
    if task == "classification":
        return F.binary_cross_entropy_with_logits(out, y)
    return F.mse_loss(out, y)


@torch.no_grad()
def split_metrics(
    model: nn.Module, task: str, x: torch.Tensor, y: torch.Tensor, penalty: float
) -> dict[str, float]:
    """mse, loss (= data loss + penalty, as Keras reports `loss`) and, if binary, accuracy.

    For classification, mse is the Brier score (squared error of the predicted probability).
    """
    out = model(x)
    if task == "classification":
        prob = torch.sigmoid(out)
        return {
            "mse": F.mse_loss(prob, y).item(),
            "bce": F.binary_cross_entropy_with_logits(out, y).item(),
            "loss": F.binary_cross_entropy_with_logits(out, y).item() + penalty,
            "accuracy": ((out > 0).float() == y).float().mean().item(),
        }
    mse = F.mse_loss(out, y).item()
    return {"mse": mse, "loss": mse + penalty}


def evaluate(model: nn.Module, data: Dataset, penalty: float) -> dict[str, float]:
    """train_/val_ mse, loss, (bce, accuracy), and the penalty of the current weights."""
    was_training = model.training
    model.eval()
    metrics: dict[str, float] = {}
    for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
        for key, value in split_metrics(model, data.task, x, y, penalty).items():
            metrics[f"{split}_{key}"] = value
    metrics["penalty"] = penalty
    model.train(was_training)
    return metrics
