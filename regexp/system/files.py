"""Files written whole or not at all."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomic(path: Path | str, data: bytes | str) -> None:
    """Write to a temp file in the same folder, then rename over the target: a reader sees
    the old file or the new one, never a part, and a killed writer leaves no half file under
    the name. No fsync: it would cost more than the write, and the rename alone is what keeps
    a killed job's folder readable (only a machine that loses power may lose the file). The
    temp name is this process's and thread's own, so concurrent writers never share one."""
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        f = open(tmp, "wb")  # noqa: SIM115 (closed below, before the rename)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(tmp, "wb")  # noqa: SIM115
    try:
        with f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
