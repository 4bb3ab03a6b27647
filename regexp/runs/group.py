"""Jobs trained as one program, then each written to its own folder: the one interface a
launcher needs (run_group). A single run is a group of one."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch

from regexp.config.settings import DataSettings, Settings
from regexp.runs.write import Trained, write_run
from regexp.system.threads import threads_for
from regexp.train.data import Dataset, make_data, stack
from regexp.train.engine import fit
from regexp.train.init import pick_init

if TYPE_CHECKING:
    from regexp.figures.pool import FigurePool


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def train_group(
    settings: Sequence[Settings], label: str | None = None, display: Any = None
) -> list[Trained]:
    """Train jobs of one group_key as one program, each on its own data draw (one object for
    the jobs that share one); display: a sweep's progress display. Raises on errors that
    concern the whole group (bad data, out of memory)."""
    first = settings[0]
    device = pick_device(first.device)
    made: dict[DataSettings, Dataset] = {}
    for s in settings:
        if s.data not in made:
            made[s.data] = make_data(s.data).to(device)
    draws = [made[s.data] for s in settings]
    data = draws[0] if len(made) == 1 else stack(draws)
    inits, info = None, None
    if len(settings) == 1 and first.init.strategy != "default":
        start, info = pick_init(first, data)
        inits = [start]
    members = fit(settings, data, inits, label or first.name, display)
    return [Trained(m, str(device), draw, info) for m, draw in zip(members, draws)]


class Folders(Protocol):
    """Where a group's jobs are written: write(i, fill) makes job i's folder, calls
    fill(folder) -> metrics to fill it, and returns whatever the launcher wants per job."""

    def write(self, i: int, fill: Callable[[Path], dict[str, Any]]) -> Any: ...


def run_group(
    settings: Sequence[Settings],
    folders: Folders,
    pool: FigurePool | None = None,
    display: Any = None,
) -> list[Any]:
    """Train the jobs as one program (its epochs shown in `display`, a sweep's progress
    display, when given), then write each job's folder through `folders` (its figures drawn
    in `pool` when one is given). Raises when the group could not be trained; then the caller
    runs its jobs one by one."""
    results = train_group(settings, label="batched", display=display)
    extra = {"batched": len(settings)}
    # one intra-op thread while writing: idle OpenMP threads spin after each small op on the
    # cores the figure processes use
    with threads_for(0, threads=1):
        return [
            folders.write(i, functools.partial(_fill, s, trained, extra, pool))
            for i, (s, trained) in enumerate(zip(settings, results))
        ]


def _fill(settings: Settings, trained: Trained, extra: dict, pool: Any, out: Path) -> dict:
    return write_run(out, settings, trained, extra, pool)
