"""How big a run is, known from its settings before anything starts (no torch): the memory
it needs, the memory this machine has, the disk it writes, and the lengths a user confirms
with --yes.

The memory of K models of one job's shape trained as one program (a run is K = 1), in 4-byte
floats (history.csv's text in bytes):

    per model   parameters   P * (4 + optimizer state)  θ, its gradient, Adam's m and v (one
                                                         each for momentum, RMSprop's v and
                                                         its scratch), the seeded init and the
                                                         trained state it is copied from
                activations  3 * B * Σh                  each hidden layer's output, its
                                                         pre-activation and gradient at a
                                                         batch of B training rows, or
                             2 * R * max h               a forward pass over R = max(n_train,
                                                         n_val) rows (validation, final
                                                         metrics), whichever is larger
                epochs       E * (2 + 4 + 2 * (3 + V))   the [E, 2] per-epoch losses, their
                                                         float64 copy, the history's columns
                evaluations  E / eval_every * 4 * V      each evaluation's V metrics, twice
                init         C * (P + B * Σh)            init.strategy=search: C candidates,
                                                         scored on B rows (grid: C^P of them)
    shared      data         (n_train + n_val) * (n_in + 1) * 3   float64 made, float32 kept
                history.csv  E * (3 * DENSE_CELL + V * SPARSE_CELL)  one job's text at a time

Stacked draws of the data (one per model) count the data per model. regexp.runs.units'
chunk_size takes the number of models that fit a budget from the same formula
(Estimate.models_within).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from regexp.config.errors import ConfigError, UsageError
from regexp.config.settings import Settings, input_dim, n_params

FLOAT = 4
OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "rmsprop": 2, "adam": 2}
# Bytes of one cell of history.csv while its text is made (regexp.train.history): a Python
# float and string per number (a dense column: the epoch and training losses), a reference
# to one shared empty string where a metric was not evaluated (a sparse column).
DENSE_CELL, SPARSE_CELL = 128, 16
MEMINFO = Path("/proc/meminfo")
JOB_BYTES = 2048  # a sweep's job as its plan holds it: overrides, config tree and settings

# Bytes a job writes to disk besides its weights (disk_bytes)
HISTORY_ROW_BYTES = 64  # one epoch's row of history.csv
FIGURE_BYTES = 64 * 1024  # one of its figures
JOB_FILE_BYTES = 16 * 1024  # .hydra/, metrics.json, its log
SWEEP_FILE_BYTES = 512 * 1024  # a sweep's summary tables, figures and report.html

# Beyond these, a run or sweep asks for --yes (what it will cost is in the refusal).
MAX_JOBS = 10_000
MAX_ROWS = 1_000_000  # data.n_train, data.n_val
MAX_EPOCHS = 1_000_000  # train.epochs
MAX_SERIES = 1_000_000  # regexp ewma --days


@dataclass(frozen=True)
class Estimate:
    """Bytes of one model's parts and of what the models of a program share, by name."""

    parts: dict[str, int]  # per model
    shared: dict[str, int]  # once per program

    def total(self, k: int = 1) -> int:
        """Bytes of k models of this shape trained as one program."""
        return k * sum(self.parts.values()) + sum(self.shared.values())

    def models_within(self, budget: float) -> int:
        """How many models of this shape fit in budget bytes (at least 1)."""
        per_model = max(1, sum(self.parts.values()))
        return max(1, int((budget - sum(self.shared.values())) // per_model))

    def largest(self) -> str:
        """The name of the largest part of one model's total."""
        both = {**self.shared, **{k: v + self.shared.get(k, 0) for k, v in self.parts.items()}}
        return max(both, key=lambda name: both[name])


def _eval_keys(s: Settings) -> int:
    """Metrics evaluated every eval_every epochs (val mse and loss; classification adds val
    bce and accuracy, and train accuracy)."""
    return 5 if s.data.task == "classification" else 2


def estimate(s: Settings, rows: tuple[int, int] | None = None, own_data: bool = False) -> Estimate:
    """The memory of a model of s's shape: Estimate.total(k) for k of them stacked. rows:
    (n_train, n_val) of a CSV data set once read (None: not counted); own_data: each model
    trains on its own data draw."""
    n_train, n_val = rows or ((0, 0) if s.data.name == "csv" else (s.data.n_train, s.data.n_val))
    widths = (input_dim(s.data), *s.hidden_units, 1)
    p = n_params(widths)
    hidden = sum(s.hidden_units) or 1
    batch = min(s.train.batch_size or n_train, n_train)
    epochs, v = s.train.epochs, _eval_keys(s)
    init = 0
    if s.init.strategy != "default":
        sets = s.init.candidates**p if s.init.strategy == "grid" else s.init.candidates
        init = sets * (p + min(s.init.batch_size or n_train, n_train) * hidden)
    # a training step's activations and an evaluation's are never alive at once
    step = ("activations of a training step", 3 * batch * hidden)
    evaluation = (
        "activations of an evaluation",
        2 * max(n_train, n_val) * max(s.hidden_units, default=1),
    )
    parts = {
        "parameters and optimizer state": p * (4 + OPTIMIZER_STATE.get(s.optimizer.name, 2)),
        **dict([max(step, evaluation, key=lambda part: part[1])]),
        "per-epoch losses and history": epochs * (2 + 4 + 2 * (3 + v)),
        "per-evaluation metrics": (epochs // s.train.eval_every + 1) * 4 * v,
        "init.strategy's candidates": init,
    }
    parts = {name: FLOAT * n for name, n in parts.items()}
    data = {"the data": FLOAT * 3 * (n_train + n_val) * (widths[0] + 1)}
    shared = {"per-epoch losses and history": epochs * (3 * DENSE_CELL + v * SPARSE_CELL)}
    return Estimate({**parts, **data}, shared) if own_data else Estimate(parts, {**shared, **data})


# What each key, at its smallest, leaves of a run's size: the key to name when it is too big.
_SMALLEST = {
    "hidden_units": lambda s: replace(s, hidden_units=(1,) * len(s.hidden_units)),
    "data.n_train": lambda s: replace(s, data=replace(s.data, n_train=2)),
    "data.n_val": lambda s: replace(s, data=replace(s.data, n_val=1)),
    "train.batch_size": lambda s: replace(s, train=replace(s.train, batch_size=1)),
    "train.epochs": lambda s: replace(s, train=replace(s.train, epochs=1)),
    "init.candidates": lambda s: replace(s, init=replace(s.init, candidates=1)),
}


def culprit(s: Settings) -> str:
    """The key whose smallest value would shrink s's memory the most."""
    keys = [k for k in _SMALLEST if s.data.name != "csv" or not k.startswith("data.")]
    return min(keys, key=lambda key: estimate(_SMALLEST[key](s)).total())


def available() -> int | None:
    """Bytes of memory this machine can give a new process now (MemAvailable in
    /proc/meminfo); None where the system does not say."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cuda_free() -> int | None:
    """Free bytes of the current CUDA device, when torch is imported already (device=cuda
    was checked) and sees one; else None (importing torch here would cost seconds)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    free, _ = torch.cuda.mem_get_info()
    return int(free)


def size(n: float) -> str:
    """Bytes as a reader wants them: 1.5 GB, 320 MB, 12 kB."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


def check_memory(settings: Sequence[Settings], limit: int | None = None) -> None:
    """ConfigError naming the key that weighs most, the estimate and the limit, when a job
    (alone, or the first model of a stacked program) needs more memory than this machine has
    free: limit bytes (default MemAvailable; device=cuda: also the device's free memory)."""
    limit = available() if limit is None else limit
    gpu = cuda_free() if any(s.device == "cuda" for s in settings) else None
    seen = set()
    for s in settings:
        shape = (s.data, s.hidden_units, s.train, s.init, s.optimizer.name, s.device)
        if shape in seen:
            continue
        seen.add(shape)
        need = estimate(s)
        for where, free in (("", limit), (" of the CUDA device", gpu)):
            if free is not None and need.total() > free and (where == "" or s.device == "cuda"):
                raise ConfigError(
                    culprit(s), f"a run needs about {size(need.total())} of memory (most for "
                    f"{need.largest()}), more than the {size(free)} free{where}; make it smaller"
                )  # fmt: skip


def disk_bytes(s: Settings) -> int:
    """Bytes a job of s writes into its folder: weights, history.csv, its figures (one per
    hidden layer's activations and two more), Hydra's .hydra/, metrics.json and its log."""
    p = n_params((input_dim(s.data), *s.hidden_units, 1))
    plots = FIGURE_BYTES * (2 + len(s.hidden_units)) if s.plots.enabled else 0
    return FLOAT * p + HISTORY_ROW_BYTES * s.train.epochs + plots + JOB_FILE_BYTES


def _free(folder: Path) -> int | None:
    """Free bytes on the disk that holds folder (or would: its first existing parent); None
    where that is not known."""
    for parent in (folder.absolute(), *folder.absolute().parents):
        try:
            if not parent.exists():
                continue
            usage = shutil.disk_usage(parent)
        except OSError:  # a name too long, a folder not readable: the claim says what
            return None
        return usage.free if usage.total else None  # /proc and the like tell no size
    return None


def check_disk(settings: Sequence[Settings], jobs: int, folder: Path, key: str) -> None:
    """ConfigError naming key (the folder's) when jobs jobs like the largest of settings, and
    a sweep's own files when jobs > 1, would write more than the disk of folder has free."""
    need = jobs * max(disk_bytes(s) for s in settings) + (SWEEP_FILE_BYTES if jobs > 1 else 0)
    free = _free(folder)
    if free is not None and need > free:
        what = "run" if jobs == 1 else f"sweep of {jobs:,} jobs"
        raise ConfigError(
            key, f"the {what} writes about {size(need)}, more than the {size(free)} free on "
            f"the disk of {folder}; free some, or give a folder on another disk"
        )  # fmt: skip


def check_count(jobs: int, confirmed: bool, limit: int | None = None) -> None:
    """UsageError for a sweep of more than MAX_JOBS jobs, unless confirmed (--yes), and for
    one whose list of jobs alone (JOB_BYTES each) needs more than limit bytes (default:
    MemAvailable), confirmed or not."""
    limit = available() if limit is None else limit
    if limit is not None and jobs * JOB_BYTES > limit:
        raise UsageError(
            f"the sweep has {jobs:,} jobs: their list alone needs about "
            f"{size(jobs * JOB_BYTES)} of memory, more than the {size(limit)} free"
        )
    if jobs > MAX_JOBS and not confirmed:
        raise UsageError(
            f"the sweep has {jobs:,} jobs, more than {MAX_JOBS:,}: each one is checked, "
            "trained and written; pass --yes to run them all"
        )


def check_lengths(settings: Sequence[Settings], confirmed: bool) -> None:
    """ConfigError, unless confirmed (--yes), for a data set or schedule longer than its
    bound, saying what it will cost."""
    if confirmed:
        return
    for s in settings:
        lengths = [("train.epochs", s.train.epochs, MAX_EPOCHS)]
        if s.data.name != "csv":
            lengths += [("data.n_train", s.data.n_train, MAX_ROWS),
                        ("data.n_val", s.data.n_val, MAX_ROWS)]  # fmt: skip
        for key, value, bound in lengths:
            if value > bound:
                raise ConfigError(
                    key, f"{value:,} is more than {bound:,}: a run needs about "
                    f"{size(estimate(s).total())} of memory and a long time; pass --yes to run it"
                )  # fmt: skip


def check_series(days: int, columns: int, confirmed: bool) -> None:
    """UsageError naming --days for a series longer than MAX_SERIES, unless confirmed; columns:
    the series' table's."""
    if days > MAX_SERIES and not confirmed:
        raise UsageError(
            f"--days: {days:,} is more than {MAX_SERIES:,}: its table alone needs about "
            f"{size(days * columns * 8)}, its figure more; pass --yes to draw it"
        )
