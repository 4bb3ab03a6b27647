"""Keras's EarlyStopping rule for one model, checked at each of its validation passes.

Keras 3 (keras/src/callbacks/early_stopping.py) runs, at the end of every epoch that has the
monitored value and is not before `start_from_epoch`:

    wait += 1
    if improves(current, best):                  # current - min_delta beats best
        best, best_epoch = current, epoch         # (and the weights, when restoring)
        if baseline is None or improves(current, baseline): wait = 0
        return
    if wait >= patience and epoch > 0: stop

With validation every epoch, `wait` is the number of epochs since the last reset. regexp
validates every train.eval_every epochs (and at a model's last), and its patience counts
epochs, as its name says: at each pass, wait = (this epoch) - (the epoch of the last reset,
or start_from_epoch before any). With eval_every = 1 that is Keras's rule to the letter; with
eval_every = E a model stops at the first pass at least `patience` epochs after its last
reset, so patience rounds up to a multiple of E. Epochs here count from 1 (Keras's from 0):
Keras's `epoch < start_from_epoch` is epoch <= start_from_epoch here, its `epoch > 0` is
epoch > 1. NaN never improves. `restore_best_weights` keeps the weights of the best epoch, or
of the first checked one when none improved, as Keras's does.
"""

from __future__ import annotations

import math

from regexp.config.settings import EarlyStoppingSettings


def maximised(monitor: str, mode: str) -> bool:
    """Keras's mode: auto maximises an accuracy and minimises losses and errors."""
    if mode == "auto":
        return monitor.removeprefix("val_") == "accuracy"
    return mode == "max"


class Stopper:
    """One model's early-stopping state; check() at each of its validation passes."""

    def __init__(self, s: EarlyStoppingSettings):
        self.patience = s.patience if s.patience is not None else math.inf
        self.sign = -1.0 if maximised(s.monitor, s.mode) else 1.0  # compare sign·value, lower
        self.min_delta, self.baseline = abs(s.min_delta), s.baseline
        self.start, self.restore = s.start_from_epoch, s.restore_best_weights
        self.monitor = s.monitor
        self.best = math.inf  # sign·value
        self.reset = s.start_from_epoch  # the epoch wait counts from
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None

    def _improves(self, value: float, reference: float) -> bool:
        return self.sign * value + self.min_delta < reference

    def check(self, epoch: int, value: float) -> tuple[bool, bool]:
        """(keep this epoch's weights as the best, stop after this epoch) for the monitored
        value at this 1-based epoch."""
        if epoch <= self.start:
            return False, False
        keep = False
        if self.restore and self.best_epoch is None:  # Keras: no weights kept yet
            keep, self.best_epoch = True, epoch
        wait = epoch - self.reset
        if self._improves(value, self.best):
            self.best, self.best_epoch = self.sign * value, epoch
            if self.baseline is None or self._improves(value, self.sign * self.baseline):
                self.reset = epoch
            return self.restore, False
        if wait >= self.patience and epoch > 1:
            self.stopped_epoch = epoch
            return keep, True
        return keep, False
