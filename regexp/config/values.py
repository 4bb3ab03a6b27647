"""Config values and metrics as table cells: a config tree's dotted keys, a value as text.

Used wherever runs are laid out side by side (the summary, compare, the figures' labels),
so a value reads the same in every one of them. No pandas needed.
"""

from __future__ import annotations

import json
import math
from typing import Any


def cell(value: Any) -> Any:
    """A config leaf as a table cell: lists as '[16, 16]', dicts as JSON, scalars unchanged."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(cell(v)) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{'penalty': {'lam': [1, 2]}} -> {'penalty.lam': '[1, 2]'} (dotted keys, lists as text)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = cell(value)
    return flat


def isna(value: Any) -> bool:
    """None, pandas' NA and NaN: a missing cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return type(value).__name__ == "NAType"  # pandas.NA, without importing pandas


def fmt(value: Any) -> str:
    """A cell as text: blanks for missing, integers without '.0', other floats to 4 digits."""
    if isna(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e12:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)
