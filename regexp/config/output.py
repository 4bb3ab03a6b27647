"""Where output folders go, and claiming a fresh one.

Outputs go under $REGEXP_OUTPUTS, else ./outputs (conf/config.yaml reads the same variable
for Hydra's run and sweep folders). A claimed folder is created here, so two runs started in
the same second never share one: the second gets `-1`, the third `-2`, ...
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from regexp.config.errors import UsageError

ROOT_ENV = "REGEXP_OUTPUTS"
DEFAULT_ROOT = Path("outputs")


def output_root() -> Path:
    """The outputs root: $REGEXP_OUTPUTS, else ./outputs."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def claim(path: Path | str) -> Path:
    """Create and return path, or path-1, path-2, ... when it exists already (os.mkdir is
    atomic, so concurrent runs get distinct folders)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in range(10_000):
        candidate = path if n == 0 else path.with_name(f"{path.name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not claim a folder like {path}")


def claim_dir(parent: Path | str, now: datetime | None = None, flag: str | None = None) -> Path:
    """Create and return a new folder parent/YYYY-MM-DD/HH-MM-SS[-N]; a UsageError naming
    `flag` (the option that gave parent) when it cannot be made."""
    now = now or datetime.now()
    try:
        return claim(Path(parent) / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S"))
    except OSError as err:
        if flag is None:
            raise
        raise UsageError(f"{flag}: cannot create a folder in {parent}: {err.strerror}") from None
