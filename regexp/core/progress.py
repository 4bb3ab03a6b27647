"""Progress of one training program: a rich bar on a terminal, log lines every 10 % otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from torch import Tensor

log = logging.getLogger("regexp")

# (epoch, [2, K] mean objective and data loss of the K models): read only when shown, since
# reading a tensor waits for the device and costs dispatches every epoch
Report = Callable[[int, Tensor], None]


@contextmanager
def progress_reporter(epochs: int, label: str) -> Iterator[Report]:
    step = max(1, epochs // 10)
    if sys.stderr.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} epochs"),
            TextColumn("loss {task.fields[loss]:.4g}"),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=epochs, loss=float("nan"))
            every = max(1, epochs // 100)

            def show(epoch: int, loss: Tensor) -> None:
                if epoch % every == 0 or epoch == epochs:
                    bar.update(task, completed=epoch, loss=_shown(loss))

            yield show
        return

    def report(epoch: int, loss: Tensor) -> None:
        if epoch % step == 0 or epoch == epochs:
            log.info("%s: epoch %d/%d, loss %.5g", label, epoch, epochs, _shown(loss))

    yield report


def _shown(mean: Tensor) -> float:
    """The mean objective over the models that are still finite."""
    return mean[0].nan_to_num(0.0, 0.0, 0.0).mean().item()
