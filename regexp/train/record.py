"""What a program's loop keeps, and each model's outcome (Member) built from it.

Per epoch the loop keeps [2, S] mean objective and data loss, per validation pass the
metrics of the rows it evaluated, in buffers made before the loop: a small tensor kept each
epoch would land in the heap among the step's freed activations and fragment it. A buffer
that fills up is replaced by one twice as long; when the program's rows change (S shrinks)
a new segment of buffers begins. Each model remembers the spans of rows it held (`Spans`),
so its history is read out when it ends, whichever rows it held; a pass is found by its
epoch and its rows, with no per-model bookkeeping at each pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from regexp.train.history import History


@dataclass
class Member:
    """One model's outcome: MLP-layout weights (CPU), history, status and final metrics."""

    state: dict[str, Tensor]
    history: History
    status: str  # "ok" | "diverged" | "pruned" (stopped by fit's watch)
    epochs: int  # epochs actually run
    seconds: float  # its share of the program's training time
    metrics: dict[str, float]  # train_/val_ mse, loss, (bce, accuracy), and penalty
    stopped_epoch: int | None = None  # early stopping's or the watch's epoch; None: ran out
    best_epoch: int | None = None  # early stopping's best epoch; None: early stopping off


# Where one model's epochs lie: [segment, row, first epoch row, end epoch row, epochs before
# this span] per span of rows it held.
Spans = list[list[int]]


class _Segment:
    def __init__(self, rows: int, ticks: int, passes: int, device: torch.device):
        self.rows, self.capacity = rows, max(1, passes)
        self.means = torch.empty(max(1, ticks), 2, rows, device=device)
        self.values: dict[str, Tensor] = {}
        self.ticks: list[int] = []  # each pass's epoch row
        self.evaluated: list[list[int] | None] = []  # each pass's rows (None: all)
        self.n = 0

    def pass_(self, rows: list[int] | None, index: Tensor | None, values: Mapping) -> None:
        p = len(self.ticks)
        if not self.values:
            self.values = {k: v.new_empty(self.capacity, self.rows) for k, v in values.items()}
        elif p == self.capacity:
            self.capacity *= 2
            self.values = {k: torch.cat([v, torch.empty_like(v)]) for k, v in self.values.items()}
        for key, v in values.items():
            if index is None:
                self.values[key][p] = v
            else:
                self.values[key][p, index] = v.to(self.values[key].dtype)
        self.ticks.append(self.n - 1)
        self.evaluated.append(rows)

    def passes(self) -> tuple[np.ndarray, np.ndarray]:
        """(each pass's epoch row, [passes, rows] whether it evaluated the row)."""
        mask = np.ones((len(self.ticks), self.rows), dtype=bool)
        for p, rows in enumerate(self.evaluated):
            if rows is not None:
                mask[p] = False
                mask[p, rows] = True
        return np.array(self.ticks, dtype=np.int64), mask


class Record:
    """The loop's buffers over its segments; start/end a model's span of rows."""

    def __init__(self, rows: int, ticks: int, passes: int, device: torch.device):
        self.device = device
        self.segments = [_Segment(rows, ticks, passes, device)]
        self.current = self.segments[0]  # the one epochs and passes go into

    def resize(self, rows: int, ticks: int, passes: int) -> None:
        """The program's rows changed: a new segment from the next epoch on."""
        self.segments.append(_Segment(rows, ticks, passes, self.device))
        self.current = self.segments[-1]

    def epoch(self, mean: Tensor) -> None:
        seg = self.current
        if seg.n == len(seg.means):
            seg.means = torch.cat([seg.means, torch.empty_like(seg.means)])
        seg.means[seg.n] = mean
        seg.n += 1

    def start(self, spans: Spans, row: int) -> None:
        """The model in `row` runs its epochs from the next one on."""
        before = sum(b - a for _, _, a, b, _ in spans)
        spans.append([len(self.segments) - 1, row, self.current.n, -1, before])

    def end(self, spans: Spans) -> None:
        """Its last epoch was the last one kept."""
        span = spans[-1]
        span[3] = self.segments[span[0]].n

    def evaluated(self, rows: list[int] | None, values: Mapping[str, Tensor]) -> None:
        """A validation pass of these rows at the last epoch kept (None: every row, in
        order); values [len(rows)] each."""
        index = None if rows is None else torch.tensor(rows, device=self.device)
        self.current.pass_(rows, index, values)

    def histories(self, models: Sequence[Spans], task: str) -> list[History]:
        """Each model's history: one row per epoch it ran, its validation metrics at the
        epochs it was evaluated (NaN between). Each segment is read once."""
        wanted: dict[int, set[int]] = {}
        for spans in models:
            for s, row, *_ in spans:
                wanted.setdefault(s, set()).add(row)
        loss, values, passes = {}, {}, {}
        for s, rows in wanted.items():
            seg, rows = self.segments[s], sorted(rows)
            index = torch.tensor(rows, device=seg.means.device)
            means = seg.means[: seg.n].index_select(2, index).cpu().double().numpy()
            n = len(seg.ticks)
            columns = {k: v[:n].index_select(1, index).cpu().double().numpy()
                       for k, v in seg.values.items()}  # fmt: skip
            passes[s] = seg.passes()
            for j, row in enumerate(rows):
                loss[s, row] = means[:, :, j]
                values[s, row] = {k: v[:, j] for k, v in columns.items()}
        keys = next((list(v) for v in values.values() if v), [])
        return [self._history(spans, loss, values, passes, keys, task) for spans in models]

    def _history(
        self, spans: Spans, loss: dict, values: dict, passes: dict, keys: list, task: str
    ) -> History:
        rows = np.concatenate([loss[s, row][a:b] for s, row, a, b, _ in spans])
        n = len(rows)
        columns = {"epoch": np.arange(1, n + 1), "train_loss": rows[:, 0]}
        columns["train_mse" if task == "regression" else "train_bce"] = rows[:, 1]
        found = []  # (indices into the history, segment, row, passes) per span
        for s, row, a, b, before in spans:
            ticks, evaluated = passes[s]
            mine = np.flatnonzero(evaluated[:, row] & (ticks >= a) & (ticks < b))
            if len(mine):
                found.append((before + ticks[mine] - a, s, row, mine))
        if found:
            for key in keys:
                column = np.full(n, np.nan)
                for at, s, row, mine in found:
                    column[at] = values[s, row][key][mine]
                columns[key] = column
        return History(columns)
