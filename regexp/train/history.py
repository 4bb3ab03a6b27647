"""A run's history: one row per epoch, as numpy columns, and the text of its history.csv.

Columns: epoch, train_loss, train_mse (train_bce when binary), then validation metrics at
evaluated epochs (NaN between). pandas is not used here on purpose: a training process need
not import it (docs/speed.md, trick 12a); csv() writes the same text as
DataFrame.to_csv(index=False) (tests/train/test_history.py compares the two), frame() gives
the DataFrame to whoever wants one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class History:
    columns_: dict[str, np.ndarray]  # equal lengths; epoch as int64, the rest float64

    @property
    def columns(self) -> list[str]:
        return list(self.columns_)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.columns_[key]

    def __contains__(self, key: object) -> bool:
        return key in self.columns_

    def __len__(self) -> int:
        return len(next(iter(self.columns_.values()), ()))

    def to_numpy(self) -> np.ndarray:
        """[rows, columns] as float64."""
        return np.stack([np.asarray(c, dtype=np.float64) for c in self.columns_.values()], 1)

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.columns_)

    def records(self) -> list[dict[str, Any]]:
        """One dict per row (NaN where a metric was not evaluated)."""
        names = self.columns
        return [dict(zip(names, row)) for row in zip(*(c.tolist() for c in self.columns_.values()))]

    @classmethod
    def from_csv(cls, text: str) -> History:
        """The history a history.csv holds (csv()'s text read back)."""
        header, *rows = text.strip("\n").split("\n")
        names = header.split(",")
        cells = list(zip(*(row.split(",") for row in rows))) if rows else [()] * len(names)
        columns = {}
        for name, column in zip(names, cells):
            if name == "epoch":
                columns[name] = np.array([int(v) for v in column], dtype=np.int64)
            else:
                columns[name] = np.array([float(v) if v else np.nan for v in column])
        return cls(columns)

    def csv(self) -> str:
        """history.csv's text: pandas' to_csv(index=False) of the same table."""
        cells = [_cells(c) for c in self.columns_.values()]
        rows = map(",".join, zip(*cells))
        return "\n".join([",".join(self.columns), *rows]) + "\n"


def _cells(column: np.ndarray) -> list[str]:
    """Each value as pandas writes it: ints as ints, floats as their shortest repr, NaN empty."""
    if column.dtype.kind in "iub":
        return [str(v) for v in column.tolist()]
    return ["" if v != v else repr(v) for v in column.astype(np.float64).tolist()]
