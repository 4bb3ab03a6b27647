"""regexp.train.record: a job's history read out of the loop's buffers, whichever rows it
held, across buffers that grew and segments begun when the program's rows changed."""

import numpy as np
import torch

from regexp.train.record import Record


def mean(tick: int, rows: int) -> torch.Tensor:
    """[2, rows]: objective 100·tick + row, data loss 100·tick + row + 0.5."""
    loss = torch.tensor([100.0 * tick + r for r in range(rows)])
    return torch.stack([loss, loss + 0.5])


def test_histories_follow_each_job_through_rows_and_segments():
    """Buffers made for 2 ticks and 1 pass (each grows); job a in row 0 for ticks 1-3, then
    in row 1 of a new segment of 2 rows (ticks 4-6); job b in row 1 for ticks 1-2 (ended);
    job c in row 0 of the new segment from tick 4. Passes at ticks 2, 3 (a only), 6."""
    record = Record(rows=3, ticks=2, passes=1, device=torch.device("cpu"))
    a, b, c = [], [], []
    record.start(a, 0)
    record.start(b, 1)
    for tick in (1, 2, 3):
        record.epoch(mean(tick, 3))
        if tick == 2:
            vals = {"val_mse": torch.tensor([2.0, 2.25, 2.5]),
                    "val_loss": torch.tensor([3.0, 3.25, 3.5])}  # fmt: skip
            record.evaluated(None, vals)
            record.end(b)
        if tick == 3:
            vals = {"val_mse": torch.tensor([5.0]), "val_loss": torch.tensor([6.0])}
            record.evaluated([0], vals)
    record.end(a)
    record.resize(rows=2, ticks=1, passes=1)
    record.start(a, 1)
    record.start(c, 0)
    for tick in (4, 5, 6):
        record.epoch(mean(tick, 2))
    vals = {"val_mse": torch.tensor([9.0, 9.25]), "val_loss": torch.tensor([10.0, 10.25])}
    record.evaluated(None, vals)
    record.end(a), record.end(c)
    ha, hb, hc = record.histories([a, b, c], "regression")
    assert ha.columns == ["epoch", "train_loss", "train_mse", "val_mse", "val_loss"]
    np.testing.assert_array_equal(ha["epoch"], [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(ha["train_loss"], [100, 200, 300, 401, 501, 601])
    np.testing.assert_array_equal(ha["train_mse"], [100.5, 200.5, 300.5, 401.5, 501.5, 601.5])
    np.testing.assert_array_equal(ha["val_mse"], [np.nan, 2.0, 5.0, np.nan, np.nan, 9.25])
    np.testing.assert_array_equal(ha["val_loss"], [np.nan, 3.0, 6.0, np.nan, np.nan, 10.25])
    np.testing.assert_array_equal(hb["train_loss"], [101, 201])
    np.testing.assert_array_equal(hb["val_loss"], [np.nan, 3.25])
    np.testing.assert_array_equal(hc["train_loss"], [400, 500, 600])
    np.testing.assert_array_equal(hc["val_mse"], [np.nan, np.nan, 9.0])


def test_a_job_never_evaluated_has_training_columns_only():
    record = Record(rows=1, ticks=3, passes=1, device=torch.device("cpu"))
    track = []
    record.start(track, 0)
    record.epoch(mean(1, 1))
    record.end(track)
    [h] = record.histories([track], "classification")
    assert h.columns == ["epoch", "train_loss", "train_bce"] and len(h) == 1
