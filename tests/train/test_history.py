"""History: history.csv written without pandas, byte for byte as pandas writes it."""

import io

import numpy as np
import pandas as pd
import pytest

from regexp.train.history import History


def _columns(n: int = 300) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    val = np.full(n, np.nan)
    val[::10] = rng.random(n // 10)
    val[1:9] = [np.inf, -np.inf, 0.0, -0.0, 1e16, 1e-5, 123456789012.0, 5e-324]
    return {
        "epoch": np.arange(1, n + 1),
        "train_loss": rng.random(n) * 10.0 ** rng.integers(-12, 12, n),
        "train_mse": rng.standard_normal(n).astype(np.float32).astype(np.float64),
        "val_mse": val,
    }


def test_csv_is_pandas_to_csv() -> None:
    cols = _columns()
    assert History(cols).csv() == pd.DataFrame(cols).to_csv(index=False)


def test_csv_reads_back_to_the_same_numbers() -> None:
    history = History(_columns())
    back = pd.read_csv(io.StringIO(history.csv()))
    assert list(back.columns) == history.columns
    np.testing.assert_array_equal(back.to_numpy(dtype=float), history.to_numpy())


def test_table_access() -> None:
    cols = _columns(20)
    history = History(cols)
    assert len(history) == 20 and "val_mse" in history and "val_bce" not in history
    np.testing.assert_array_equal(history["epoch"], np.arange(1, 21))
    rows = history.records()
    assert rows[0]["epoch"] == 1 and rows[0]["val_mse"] == pytest.approx(cols["val_mse"][0])
    assert np.isnan(rows[11]["val_mse"])  # not evaluated that epoch
    pd.testing.assert_frame_equal(history.frame(), pd.DataFrame(cols))
