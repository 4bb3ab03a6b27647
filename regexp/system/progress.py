"""Progress on a terminal (rich bars) or, off one, log lines every 10 %: of one training
program's epochs, and of a sweep's jobs and figures. A sweep's bars and its programs' epoch bars
share one rich display (rich allows one live display at a time): the sweep's, handed down to
the training as `display`."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:  # torch is not imported for a type: the launcher module loads at start-up
    from torch import Tensor

log = logging.getLogger("regexp")

# (epoch, [2, K] mean objective and data loss of the K models): read only when shown, since
# reading a tensor waits for the device and costs dispatches every epoch
Report = Callable[[int, "Tensor"], None]


def _bars(transient: bool) -> Any:

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[unit]}"),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        transient=transient,
    )


@contextmanager
def progress_reporter(epochs: int, label: str, display: Any = None) -> Iterator[Report]:
    """Report(epoch, mean loss) for a program of `epochs`: a bar in `display` (a sweep's
    rich Progress) or one of its own on a terminal, else a log line every tenth."""
    step = max(1, epochs // 10)
    if sys.stderr.isatty():
        own = display is None
        bar = _bars(transient=True) if own else display
        if own:
            bar.start()
        task = bar.add_task(label, total=epochs, unit="epochs", info="")
        every = max(1, epochs // 100)

        def show(epoch: int, loss: Tensor) -> None:
            if epoch % every == 0 or epoch == epochs:
                bar.update(task, completed=epoch, info=f"loss {_shown(loss):.4g}")

        try:
            yield show
        finally:
            bar.remove_task(task)
            if own:
                bar.stop()
        return

    def report(epoch: int, loss: Tensor) -> None:
        if epoch % step == 0 or epoch == epochs:
            log.info("%s: epoch %d/%d, loss %.5g", label, epoch, epochs, _shown(loss))

    yield report


def _shown(mean: Tensor) -> float:
    """The mean objective over the models that are still finite."""
    loss = mean[0]
    finite = loss.isfinite()
    return loss[finite].mean().item() if bool(finite.any()) else float("nan")


def say(text: str) -> None:
    """A line about what the process is doing, on stderr, timestamped as the log's lines (on
    a terminal, rich shows it above its bars)."""
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}][regexp] {text}", file=sys.stderr, flush=True)


class SweepProgress:
    """Jobs done of N (with programs trained and time left) and figures drawn. An Optuna
    search's (trials=True): trials finished of n_trials, with how many train now (live), how
    many the pruner stopped and how many ended otherwise (completed, failed)."""

    def __init__(self, total: int, programs: int, bar: Any = None, trials: bool = False):
        self.total, self.programs, self.bar, self.trials = total, programs, bar, trials
        self.done = self.trained = self.figures = self.figures_done = 0
        self.live = self.pruned = 0
        self.t0, self.logged = time.perf_counter(), 0
        if bar is not None:
            name, unit = ("search", "trials") if trials else ("sweep", "jobs")
            self.jobs = bar.add_task(name, total=total, unit=unit, info=self._programs())
            self.drawn = bar.add_task("figures", total=0, unit="drawn", info="", visible=False)

    def _programs(self) -> str:
        if self.trials:
            return f"{self.live} live, {self.pruned} pruned, {self.done - self.pruned} finished"
        return (
            f"{self.trained} of {self.programs} programs trained" if self.programs else "one by one"
        )

    def program_trained(self) -> None:
        self.trained += 1
        if self.bar is not None:
            self.bar.update(self.jobs, info=self._programs())

    def started(self, n: int = 1) -> None:
        """n trials started training (a search's)."""
        self.live += n
        if self.bar is not None and n:
            self.bar.update(self.jobs, info=self._programs())

    def job_done(self, status: str | None = None) -> None:
        """A job (a trial) ended with this status (metrics.json's), its folder written."""
        self.done += 1
        if self.trials:
            self.live = max(self.live - 1, 0)
            self.pruned += status == "pruned"
        if self.bar is not None:
            self.bar.update(self.jobs, completed=self.done, info=self._programs())
        elif self.done * 10 // self.total > self.logged or self.done == self.total:
            self.logged = self.done * 10 // self.total
            elapsed = time.perf_counter() - self.t0
            left = elapsed / self.done * (self.total - self.done)
            what = "trial" if self.trials else "job"
            # stderr, not a logger: while a job is written its log file is attached to the root
            print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}][regexp] sweep: {what} {self.done} "
                  f"of {self.total} ({100 * self.done // self.total} %), {self._programs()}, "
                  f"about {left:.0f} s left", file=sys.stderr, flush=True)  # fmt: skip

    def figures_queued(self, n: int) -> None:
        self.figures += n
        if self.bar is not None and n:
            self.bar.update(self.drawn, total=self.figures, visible=True)

    def figure_done(self) -> None:  # called from the figure pool's callback thread too
        self.figures_done += 1
        if self.bar is not None:
            self.bar.update(self.drawn, completed=self.figures_done)


@contextmanager
def sweep_progress(total: int, programs: int, trials: bool = False) -> Iterator[SweepProgress]:
    """A sweep's progress: its bars on a terminal (SweepProgress.bar, the display its programs'
    training shows their epochs in), else log lines. trials: an Optuna search's, n_trials."""
    if not sys.stderr.isatty():
        yield SweepProgress(total, programs, trials=trials)
        return
    with _bars(transient=False) as bar:
        yield SweepProgress(total, programs, bar, trials)
