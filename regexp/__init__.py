"""regexp: regularization experiments (a Hydra-configured runner for small PyTorch networks).

In Python: `regexp.load(PATH)` is a pandas DataFrame of the runs under PATH (one row per
run: config keys, metrics, status, folder), `regexp.load_history(RUN)` a run's history.csv,
`regexp.load_model(RUN)` its trained torch module (regexp/read/dataframes.py). They are
looked up on first use, so `import regexp` (and the CLI) loads neither pandas nor torch.
"""

import warnings
from typing import Any

# conf/hydra/launcher/{joblib,submitit_*}.yaml tune the launcher plugins' presets under their
# own names, so Hydra merges each onto the plugin's schema and warns, in every job process
# (joblib and submitit workers import regexp before they compose their job's config).
warnings.filterwarnings(
    "ignore", message=r"(?s).*'hydra/launcher/\w+' is validated against ConfigStore schema"
)

__all__ = ["load", "load_history", "load_model"]


def __getattr__(name: str) -> Any:
    if name in __all__:  # pandas on first use, not at `import regexp`
        from regexp.read import dataframes

        return getattr(dataframes, name)
    raise AttributeError(f"module 'regexp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
