"""regexp.train.stopping against Keras 3's EarlyStopping.on_epoch_end, transcribed below from
keras/src/callbacks/early_stopping.py (0-based epochs, a `wait` counter, an operator by mode),
on hand-made validation curves and on random ones with ties and NaNs; and the rule's
meaning when validation runs every eval_every epochs (patience counts epochs)."""

import math
import operator

import numpy as np
import pytest

from regexp.config.settings import EarlyStoppingSettings
from regexp.train.stopping import Stopper, maximised


class Keras:
    """Keras 3's EarlyStopping: __init__, _set_monitor_op and on_epoch_end, with the weights
    an epoch number (what best_weights would hold)."""

    def __init__(self, patience, min_delta, mode_max, baseline, start_from_epoch, restore):
        self.patience, self.baseline, self.start_from_epoch = patience, baseline, start_from_epoch
        self.restore_best_weights, self.min_delta = restore, abs(min_delta)
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.monitor_op = operator.gt if mode_max else operator.lt
        if self.monitor_op == operator.lt:
            self.min_delta *= -1
        self.best = -math.inf if mode_max else math.inf
        self.stop_training = False

    def _is_improvement(self, monitor_value, reference_value):
        return self.monitor_op(monitor_value - self.min_delta, reference_value)

    def on_epoch_end(self, epoch, current, weights):
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = weights
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = weights
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.stop_training = True


def ours(curve, every=1, **kw):
    """(stopped epoch, best epoch, epoch of the kept weights) by Stopper, 1-based; curve[e-1]
    is epoch e's value, checked at every `every`-th epoch."""
    stopper, kept = Stopper(EarlyStoppingSettings(**kw)), None
    for epoch in range(every, len(curve) + 1, every):
        keep, stop = stopper.check(epoch, curve[epoch - 1])
        kept = epoch if keep else kept
        if stop:
            break
    return stopper.stopped_epoch, stopper.best_epoch, kept


def keras(curve, patience, min_delta=0.0, mode="auto", monitor="val_loss", baseline=None,
          start_from_epoch=0, restore_best_weights=False):  # fmt: skip
    k = Keras(patience, min_delta, maximised(monitor, mode), baseline, start_from_epoch,
              restore_best_weights)  # fmt: skip
    for epoch, value in enumerate(curve):
        k.on_epoch_end(epoch, value, weights=epoch + 1)
        if k.stop_training:
            break
    return k


def test_a_hand_made_curve_stops_where_kerass_rule_says():
    # best 3.0 at epoch 4; epochs 5, 6, 7 do not beat it: wait reaches 3 at epoch 7
    curve = [5.0, 4.0, 4.5, 3.0, 3.2, 3.1, 3.05, 2.0, 1.0]
    assert ours(curve, patience=3) == (7, 4, None)
    assert ours(curve, patience=3, restore_best_weights=True) == (7, 4, 4)
    # min_delta 0.5: 4.5 -> 3.0 improves (by 1.5 from 4.0), nothing after it until 2.0 at epoch 8
    assert ours(curve, patience=4, min_delta=0.5) == (None, 9, None)
    # patience 0 stops at the first epoch that does not improve (Keras: epoch > 0 only)
    assert ours(curve, patience=0) == (3, 2, None)
    # an accuracy is maximised: the same curve's best is its first value
    assert ours(curve, patience=2, monitor="val_accuracy") == (3, 1, None)
    # with a baseline of 1.5 the improvements at 1, 2 and 4 do not reset wait: 5 at epoch 5
    assert ours(curve, patience=5) == (None, 9, None)
    assert ours(curve, patience=5, baseline=1.5) == (5, 4, None)
    # start_from_epoch=3: epochs 1..3 are not checked, wait counts from epoch 3
    assert ours(curve, patience=1, start_from_epoch=3) == (5, 4, None)
    for kw in ({"patience": 3}, {"patience": 0}, {"patience": 2, "monitor": "val_accuracy"},
               {"patience": 5, "baseline": 1.5}, {"patience": 1, "start_from_epoch": 3},
               {"patience": 4, "min_delta": 0.5}):  # fmt: skip
        k = keras(curve, **kw)
        assert ours(curve, **kw)[:2] == (k.stopped_epoch + 1 if k.stop_training else None,
                                         k.best_epoch + 1), kw  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_random_curves_with_ties_and_nans_match_keras(seed):
    """Every argument drawn at random; values rounded so ties happen, some NaN."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    curve = np.round(np.cumsum(rng.normal(0, 1, n)) + rng.normal(0, 0.5, n), 1)
    curve[rng.random(n) < 0.05] = np.nan
    kw = {
        "patience": int(rng.integers(0, 8)),
        "min_delta": float(rng.choice([0.0, 0.1, 0.35])),
        "mode": str(rng.choice(["auto", "min", "max"])),
        "monitor": str(rng.choice(["val_loss", "val_mse", "val_accuracy"])),
        "baseline": None if rng.random() < 0.5 else float(np.nanmedian(curve)),
        "start_from_epoch": int(rng.integers(0, 5)),
        "restore_best_weights": bool(rng.random() < 0.5),
    }
    k = keras(list(curve), **kw)
    stopped, best, kept = ours(list(curve), **kw)
    assert stopped == (k.stopped_epoch + 1 if k.stop_training else None)
    # Keras's best_epoch is 0 until an epoch is kept or improves; ours None
    assert (best or 0) == (k.best_epoch + 1 if best is not None else k.best_epoch)
    assert kept == k.best_weights


def test_with_validation_every_e_epochs_patience_counts_epochs():
    """Improvements at 10 and 20, none after: with patience 25 the first pass at least 25
    epochs after 20 is 50 (Keras with validation_freq=10 would count 25 passes: epoch 270)."""
    curve = [10.0 - min(e, 20) / 10 for e in range(1, 301)]
    assert ours(curve, every=10, patience=25) == (50, 20, None)
    assert ours(curve, every=10, patience=30) == (50, 20, None)
    assert ours(curve, every=10, patience=31) == (60, 20, None)
    assert ours(curve, every=1, patience=25) == (45, 20, None)  # Keras's own, every epoch
