"""What a caller of regexp.train.engine.fit may do while its program trains: see every
validation pass and stop models (a pruner), put a new job into a freed row (refill), and
take each job's outcome as soon as it ends. Subclass Watch and override what you need.

Jobs are numbered as fit returns them: the settings given to fit are 0..K-1, each refill
takes the next number, in the order the rows were refilled.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from regexp.config.settings import Settings
    from regexp.train.record import Member


class Watch:
    """Watches nothing, stops nothing, refills nothing: fit's default."""

    # the share of a program's rows left empty at which it drops them (None: the engine's
    # regexp.train.program.DROP_SHARE); scripts/bench_stopping.py sets it to compare shares
    drop_share: float | None = None

    def evaluated(
        self, jobs: Sequence[int], epochs: Sequence[int], values: Mapping[str, Sequence[float]]
    ) -> Collection[int]:
        """A validation pass: the jobs evaluated now, each at its own epoch (1-based), and
        their metrics by name (val_mse, val_loss; val_bce, val_accuracy, train_accuracy for
        classification), aligned with jobs. Returns the jobs to stop after this epoch: each
        ends with status "pruned" and stopped_epoch this epoch. Jobs that end here anyway
        (their last epoch, early stopping) are among `jobs`; stopping them changes nothing."""
        return ()

    def refill(self, job: int) -> Settings | None:
        """A row is free (its job ended): the settings of a new job to train in it, to be job
        number `job`, or None to leave the row empty. The new job starts from its own seeded
        init (hidden_units at most the program's widths, its own λ's, optimizer numbers,
        train.epochs and early stopping) with step count 0, while the others go on. It must
        otherwise fit the program: the same depth, activation, optimizer name, batch size,
        eval_every, compile, device and data set (its own data.seed only where the program
        trains on stacked draws)."""
        return None

    def finished(self, job: int, member: Member) -> None:
        """A job ended: its outcome, as fit will return it."""
