"""What a program's loop keeps, and each model's outcome (Member) built from it.

Per epoch the loop keeps [2, S] mean objective and data loss, per validation pass the
metrics of the rows it evaluated, in buffers made before the loop: a small tensor kept each
epoch would land in the heap among the step's freed activations and fragment it. A buffer
that fills up is replaced by one twice as long; when the program's rows change (S shrinks)
a new segment of buffers begins. Each model remembers where its epochs and passes lie
(`Track`), so its history is read out when it ends, whichever rows it held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


@dataclass
class Track:
    """Where one model's numbers lie: (segment, row, first tick row, end tick row) per span
    of epochs, (segment, evaluation row, row, epoch) per validation pass."""

    spans: list[list[int]] = field(default_factory=list)
    passes: list[tuple[int, int, int, int]] = field(default_factory=list)


class _Segment:
    def __init__(self, rows: int, ticks: int, passes: int, device: torch.device):
        self.rows, self.device = rows, device
        self.means = torch.empty(max(1, ticks), 2, rows, device=device)
        self.values: dict[str, Tensor] = {}
        self.capacity = max(1, passes)
        self.n, self.n_passes = 0, 0

    def epoch(self, mean: Tensor) -> int:
        if self.n == len(self.means):
            self.means = torch.cat([self.means, torch.empty_like(self.means)])
        self.means[self.n] = mean
        self.n += 1
        return self.n - 1

    def evaluated(self, rows: Tensor | None, values: Mapping[str, Tensor]) -> int:
        if not self.values:
            self.values = {k: v.new_empty(self.capacity, self.rows) for k, v in values.items()}
        if self.n_passes == self.capacity:
            self.capacity *= 2
            self.values = {k: torch.cat([v, torch.empty_like(v)]) for k, v in self.values.items()}
        for key, v in values.items():
            if rows is None:
                self.values[key][self.n_passes] = v
            else:
                self.values[key][self.n_passes, rows] = v.to(self.values[key].dtype)
        self.n_passes += 1
        return self.n_passes - 1


class Record:
    """The loop's buffers over its segments; start/move/end a model's span of rows."""

    def __init__(self, rows: int, ticks: int, passes: int, device: torch.device):
        self.ticks, self.passes, self.device = ticks, passes, device
        self.segments = [_Segment(rows, ticks, passes, device)]

    def resize(self, rows: int, ticks: int, passes: int) -> None:
        """The program's rows changed: a new segment from the next epoch on."""
        self.segments.append(_Segment(rows, ticks, passes, self.device))

    def epoch(self, mean: Tensor) -> None:
        self.segments[-1].epoch(mean)

    def start(self, track: Track, row: int) -> None:
        """The model in `row` runs its epochs from the next one on."""
        seg = self.segments[-1]
        track.spans.append([len(self.segments) - 1, row, seg.n, -1])

    def end(self, track: Track) -> None:
        """Its last epoch was the last one kept."""
        span = track.spans[-1]
        span[3] = self.segments[span[0]].n

    def evaluated(
        self, rows: Sequence[int], tracks: Sequence[Track], epochs: Sequence[int],
        values: Mapping[str, Tensor], every_row: bool,
    ) -> None:  # fmt: skip
        """A validation pass of these rows (every_row: the values cover all rows in order)."""
        seg = self.segments[-1]
        index = None if every_row else torch.tensor(list(rows), device=self.device)
        n = seg.evaluated(index, values)
        s = len(self.segments) - 1
        for row, track, epoch in zip(rows, tracks, epochs):
            track.passes.append((s, n, row, epoch))

    def histories(self, tracks: Sequence[Track], task: str) -> list[History]:
        """Each model's history: one row per epoch it ran, its validation metrics at the
        epochs it was evaluated (NaN between). Each segment is read once."""
        loss: dict[tuple[int, int], np.ndarray] = {}
        values: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        wanted: dict[int, list[int]] = {}
        for track in tracks:
            for s, row, *_ in track.spans:
                wanted.setdefault(s, []).append(row)
        for s, rows in wanted.items():
            seg, rows = self.segments[s], sorted(set(rows))
            index = torch.tensor(rows, device=seg.means.device)
            means = seg.means[: seg.n].index_select(2, index).cpu().double().numpy()
            columns = {k: v[: seg.n_passes].index_select(1, index).cpu().double().numpy()
                       for k, v in seg.values.items()}  # fmt: skip
            for j, row in enumerate(rows):
                loss[s, row] = means[:, :, j]
                values[s, row] = {k: v[:, j] for k, v in columns.items()}
        out = []
        for track in tracks:
            rows = np.concatenate([loss[s, row][a:b] for s, row, a, b in track.spans])
            n = len(rows)
            columns = {"epoch": np.arange(1, n + 1), "train_loss": rows[:, 0]}
            columns["train_mse" if task == "regression" else "train_bce"] = rows[:, 1]
            if track.passes:
                passes = np.array(track.passes, dtype=np.int64)  # [n, (segment, pass, row, epoch)]
                first = values[track.passes[0][0], track.passes[0][2]]
                for key in first:
                    column = np.full(n, np.nan)
                    for s, row in {(p[0], p[2]) for p in track.passes}:
                        mine = passes[(passes[:, 0] == s) & (passes[:, 2] == row)]
                        column[mine[:, 3] - 1] = values[s, row][key][mine[:, 1]]
                    columns[key] = column
            out.append(History(columns))
        return out
