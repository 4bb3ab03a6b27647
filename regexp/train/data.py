"""Data sets: the notebook's 1-D regression, its 2-D classification (and a harder one), a
user's CSV file; and a program's draws stacked, one per model, for jobs that differ in
data.seed."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from regexp.config.csv_table import read_table
from regexp.config.settings import DataSettings


@dataclass
class Dataset:
    """One data draw, x [n, n_in] and y [n, 1]; or K draws stacked (`stack`), [K, n, n_in]
    and [K, n, 1], model k of a program trained on draw k."""

    task: str  # "regression" | "classification"
    x_train: torch.Tensor  # [n_train, n_in], float32
    y_train: torch.Tensor  # [n_train, 1], float32 (0/1 labels for classification)
    x_val: torch.Tensor
    y_val: torch.Tensor

    @property
    def n_in(self) -> int:
        return self.x_train.shape[-1]

    @property
    def n_train(self) -> int:
        return self.x_train.shape[-2]

    @property
    def stacked(self) -> bool:
        """Whether this holds one draw per model ([K, n, ...] tensors)."""
        return self.x_train.dim() == 3

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return self.x_train, self.y_train, self.x_val, self.y_val

    def to(self, device: torch.device | str) -> Dataset:
        return Dataset(self.task, *(t.to(device) for t in self.tensors()))

    def take(self, rows: torch.Tensor) -> Dataset:
        """These models' draws (indices into K) of stacked draws; one draw for all as it is."""
        if not self.stacked:
            return self
        return Dataset(self.task, *(t.index_select(0, rows) for t in self.tensors()))

    def put(self, row: int, draw: Dataset) -> Dataset:
        """Stacked draws with `draw` in this row (a copy: the tensors given stay as they were)."""
        out = Dataset(self.task, *(t.clone() for t in self.tensors()))
        for mine, new in zip(out.tensors(), draw.tensors()):
            mine[row] = new
        return out


def stack(draws: Sequence[Dataset]) -> Dataset:
    """K draws of one task and equal sizes as one Dataset of [K, n, ...] tensors."""
    fields = zip(*((d.x_train, d.y_train, d.x_val, d.y_val) for d in draws))
    return Dataset(draws[0].task, *(torch.stack(list(tensors)) for tensors in fields))


def regression_target(x: np.ndarray) -> np.ndarray:
    """A steep step plus a slow wave (conf/data/regression.yaml says why these)."""
    return 0.5 * np.tanh(14.0 * (x - 0.3)) + 0.4 * np.sin(2.0 * x)


def line_distance(x: np.ndarray) -> np.ndarray:
    """Signed distance of 2-D points to the notebook classification's boundary, the line
    x2 = x1 / 2 (class 1 above it)."""
    return (x[:, 1] - 0.5 * x[:, 0]) / np.sqrt(1.25)


@functools.cache
def label_width(label_noise: float) -> float:
    """The width τ of P(y = 1) = σ(d / τ) around the line for which a label_noise share of
    labels falls on the wrong side of it over the square [-2, 2]² (1 - label_noise is then
    the best reachable accuracy); solved on a fixed grid, so it is the same on every call."""
    if label_noise == 0:
        return 0.0
    g = np.linspace(-2.0, 2.0, 401)
    far = np.abs(line_distance(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)))
    low, high = 1e-6, 100.0
    for _ in range(60):  # wrong side share σ(-|d| / τ) grows with τ
        tau = np.sqrt(low * high)
        if np.mean(1.0 / (1.0 + np.exp(far / tau))) < label_noise:
            low = tau
        else:
            high = tau
    return float(np.sqrt(low * high))


def hard_boundary(x: np.ndarray) -> np.ndarray:
    """classification_hard's true class: above a sine-shaped curve, or inside a disc."""
    above = x[:, 1] > 0.5 * np.sin(2.5 * x[:, 0])
    disc = (x[:, 0] - 0.9) ** 2 + (x[:, 1] + 0.9) ** 2 < 0.35**2
    return (above ^ disc).astype(np.float64)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


def make_regression(s: DataSettings) -> Dataset:
    rng = np.random.default_rng(s.seed)
    n = s.n_train + s.n_val
    x = rng.uniform(s.x_min, s.x_max, size=n)
    y = regression_target(x) + rng.normal(0.0, s.noise, size=n)
    x_train, y_train = x[: s.n_train], y[: s.n_train]
    x_val, y_val = x[s.n_train :], y[s.n_train :]
    order = np.argsort(x_train)  # sorted inputs make plots and tables easier to read
    return Dataset(
        "regression",
        _tensor(x_train[order, None]),
        _tensor(y_train[order, None]),
        _tensor(x_val[:, None]),
        _tensor(y_val[:, None]),
    )


def _classification(s: DataSettings, x: np.ndarray, y: np.ndarray) -> Dataset:
    return Dataset(
        "classification",
        _tensor(x[: s.n_train]),
        _tensor(y[: s.n_train, None]),
        _tensor(x[s.n_train :]),
        _tensor(y[s.n_train :, None]),
    )


def make_classification(s: DataSettings) -> Dataset:
    """The notebook's classification (conf/data/classification.yaml says why): points
    uniform on [-2, 2]², labels drawn with P(y = 1) = σ(d / τ) of their distance d to a
    line, so label noise lies near the boundary; τ from data.label_noise."""
    rng = np.random.default_rng(s.seed)
    n = s.n_train + s.n_val
    x = rng.uniform(-2.0, 2.0, size=(n, 2))
    tau, d = label_width(s.label_noise), line_distance(x)
    p = (d > 0).astype(np.float64) if tau == 0 else 1.0 / (1.0 + np.exp(-d / tau))
    return _classification(s, x, (rng.random(n) < p).astype(np.float64))


def make_classification_hard(s: DataSettings) -> Dataset:
    """The first generator: a sine-shaped boundary with a disc cut out of it, and a
    data.label_noise share of labels flipped anywhere."""
    rng = np.random.default_rng(s.seed)
    n = s.n_train + s.n_val
    x = rng.uniform(-2.0, 2.0, size=(n, 2))
    y = hard_boundary(x)
    flip = rng.random(n) < s.label_noise
    return _classification(s, x, np.where(flip, 1.0 - y, y))


def load_csv(s: DataSettings) -> Dataset:
    """A user's CSV file (regexp.config.csv_table checks it), shuffled by data.seed, the first
    round(n * val_fraction) rows for validation."""
    x, y = read_table(s)
    n_val = int(round(len(x) * s.val_fraction))
    order = np.random.default_rng(s.seed).permutation(len(x))
    x, y = x[order], y[order]
    return Dataset(
        s.task, _tensor(x[n_val:]), _tensor(y[n_val:]), _tensor(x[:n_val]), _tensor(y[:n_val])
    )


def make_data(s: DataSettings) -> Dataset:
    """Build the data set named by data.name (on the CPU)."""
    makers = {
        "regression": make_regression,
        "classification": make_classification,
        "classification_hard": make_classification_hard,
        "csv": load_csv,
    }
    return makers[s.name](s)
