"""A running program's rows: which job trains in each, when each is next validated, how each
ends (diverged, early stopping, the watch, its last epoch), and what happens to its row then:
its outcome is read out, the row is refilled with a new job (Watch.refill) or left empty, and
once empty rows are a share of the program (DROP_SHARE) the program drops them (every buffer
shrinks).

Jobs are independent in time: each has its own start, epoch count, epochs budget and
validation passes (every train.eval_every of its own epochs, and at its last); the program
advances all its live rows one epoch per tick. An ended job's row holds zeros until it is
refilled or dropped, so its loss stays finite and nothing of it is updated.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from regexp.config.settings import Settings
from regexp.train.data import Dataset, make_data
from regexp.train.loss import PenaltyTable, metrics, penalty
from regexp.train.model import seeded_layers
from regexp.train.record import Member, Record, Spans
from regexp.train.steps import CompiledStep, EagerStep
from regexp.train.stopping import Stopper
from regexp.train.watch import Watch

log = logging.getLogger("regexp")
# Empty rows are dropped once they are this share of the program's rows: an empty row costs
# what a live one does each step, a drop copies every buffer once; compiled, a drop also
# compiles the step for the new shape, so at most log2(K) drops (docs/speed.md, "Early
# stopping inside a program").
DROP_SHARE = 0.25
DROP_SHARE_COMPILED = 0.5


@dataclass(eq=False, slots=True)
class Job:
    number: int  # its place in fit's results
    settings: Settings
    share: float  # the program's time per live model when it started
    stopper: Stopper | None
    cohort: Cohort
    spans: Spans = field(default_factory=list)  # where its epochs lie (regexp.train.record)
    status: str = "ok"
    stopped_epoch: int | None = None

    def best_epoch(self) -> int | None:
        return self.stopper.best_epoch if self.stopper and self.status != "diverged" else None

    def restores(self) -> bool:
        return self.best_epoch() is not None and self.stopper.restore


@dataclass(eq=False, slots=True)
class Cohort:
    """Jobs that started at one tick with one budget: they are at one epoch at every tick,
    so they are validated together (the program's first jobs are one cohort)."""

    start: int  # the tick before their first epoch
    epochs: int  # their budget
    rows: list[int]  # the rows that hold them
    next: int = 0  # the tick of their next pass

    def plan(self, tick: int, every: int) -> None:
        """The next pass after `tick`: every eval_every of their epochs, and their last."""
        epoch = tick - self.start
        self.next = self.start + min((epoch // every + 1) * every, self.epochs)


def stopper(s: Settings) -> Stopper | None:
    return Stopper(s.train.early_stopping) if s.train.early_stopping.patience is not None else None


def final_metrics(
    params: Sequence[Tensor], data: Dataset, activation: str, table: PenaltyTable
) -> list[dict[str, float]]:
    """Each model's train_/val_ metrics and penalty, as metrics.json holds them."""
    k = params[0].shape[0]
    with torch.no_grad():
        pen = penalty(params, table) if table.active else params[0].new_zeros(k)
        columns = {"penalty": pen}
        for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
            for key, value in metrics(params, x, y, data.task, activation, pen).items():
                columns[f"{split}_{key}"] = value
        keys = [key for key in columns if key != "penalty"] + ["penalty"]
        values = torch.stack([columns[key].double() for key in keys], 1).cpu().tolist()
    return [dict(zip(keys, row)) for row in values]


def evaluate(
    params: list[Tensor], data: Dataset, activation: str, table: PenaltyTable
) -> dict[str, Tensor]:
    """A validation pass: [K] val_ metrics (and train_accuracy for classification)."""
    k = params[0].shape[0]
    with torch.no_grad():
        pen = penalty(params, table) if table.active else params[0].new_zeros(k)
    val = metrics(params, data.x_val, data.y_val, data.task, activation, pen)
    out = {f"val_{key}": v for key, v in val.items()}
    if data.task == "classification":
        train = metrics(params, data.x_train, data.y_train, data.task, activation, pen)
        out["train_accuracy"] = train["accuracy"]
    return out


class Program:
    """The rows of a running program and its jobs; the engine's loop calls validate, finish,
    refill and compact at the ticks they concern."""

    def __init__(
        self, step: EagerStep | CompiledStep, settings: Sequence[Settings], data: Dataset,
        gens: list[torch.Generator], watch: Watch | None, label: str,
    ):  # fmt: skip
        self.step, self.data, self.gens, self.watch, self.label = step, data, gens, watch, label
        self.first, k = settings[0], len(settings)
        self.every, epochs = self.first.train.eval_every, self.first.train.epochs
        first = Cohort(0, epochs, list(range(k)))
        self.cohorts = [first]
        self.jobs = [Job(i, s, 0.0, stopper(s), first) for i, s in enumerate(settings)]
        self.rows: list[Job | None] = list(self.jobs)
        self.best: Tensor | None = None  # kept weights, for restore_best_weights
        self.record = Record(k, epochs, epochs // self.every + 2, data.x_train.device)
        for row, job in enumerate(self.jobs):
            self.record.start(job.spans, row)
        self.ending: dict[int, Job] = {}  # row -> its job, ending at this tick
        self.live = k  # rows that hold a job
        first.plan(0, self.every)
        self._events()

    def _events(self) -> None:
        """After rows changed: the next tick with a pass, whether any live job stops early."""
        self.cohorts = [c for c in self.cohorts if c.rows]
        self.next_pass = min((c.next for c in self.cohorts), default=0)
        self.any_stopping = any(j.stopper for j in self.rows if j is not None)

    @property
    def stack(self):  # noqa: ANN201
        return self.step.stack

    def _rows(self, rows: Sequence[int], flat: Tensor | None = None) -> tuple:
        """(params, data, table) of these rows: their views of θ (or of flat [n, P])."""
        index = torch.tensor(list(rows), dtype=torch.long, device=self.stack.theta.device)
        flat = self.stack.theta.index_select(0, index) if flat is None else flat
        return self.stack.views(flat), self.data.take(index), self.step.table.take(rows)

    def diverged(self, loss: Tensor, tick: int) -> None:
        """Jobs whose objective is not finite at this epoch end there, "diverged"."""
        for row in (~torch.isfinite(loss)).nonzero()[:, 0].tolist():
            job = self.rows[row]
            if job is not None and row not in self.ending:
                job.status = "diverged"
                self.ending[row] = job
                log.warning("%s: model %d's loss is %s at epoch %d, stopping it", self.label,
                            job.number, loss[row].item(), tick - job.cohort.start)  # fmt: skip

    def validate(self, tick: int) -> None:
        """The validation pass of the cohorts due now: record it, then early stopping, the
        jobs' last epochs and the watch say which jobs end."""
        due, epochs, last = [], [], []
        for c in self.cohorts:
            if c.next == tick:
                epoch = tick - c.start
                rows = [r for r in c.rows if r not in self.ending]  # diverged: no pass
                due += rows
                epochs += [epoch] * len(rows)
                if epoch == c.epochs:
                    last += rows
                c.plan(tick, self.every)
        self.next_pass = min(c.next for c in self.cohorts)
        if not due:
            return
        if len(self.cohorts) > 1:  # in row order, as θ's rows
            due, epochs = map(list, zip(*sorted(zip(due, epochs))))
        every = len(due) == len(self.rows)
        if every:
            params, data, table = self.stack.params, self.data, self.step.table
        else:
            params, data, table = self._rows(due)
        values = evaluate(params, data, self.first.activation, table)
        self.record.evaluated(None if every else due, values)
        read: dict[str, list[float]] = {}
        if self.watch is not None or self.any_stopping:
            names = list(values)  # one transfer for all: [metrics, rows] as numbers
            read = dict(zip(names, torch.stack([values[k].double() for k in names]).tolist()))
            self._early_stopping(due, epochs, read)
        for row in last:
            self.ending.setdefault(row, self.rows[row])
        if self.watch is not None:
            self._prune(tick, [self.rows[r].number for r in due], epochs, read)

    def _early_stopping(self, due: list[int], epochs: list[int], read: dict) -> None:
        """The jobs of this pass with early stopping: their Keras rule."""
        kept = []
        for j, (row, epoch) in enumerate(zip(due, epochs)):
            job = self.rows[row]
            if job.stopper is None:
                continue
            keep, stop = job.stopper.check(epoch, read[job.stopper.monitor][j])
            if keep:
                kept.append(row)
            if stop:
                job.stopped_epoch = epoch
                self.ending[row] = job
                log.debug("%s: job %d stopped early at epoch %d", self.label, job.number, epoch)
        if kept:
            if self.best is None:
                self.best = torch.empty_like(self.stack.theta)
            index = torch.tensor(kept, dtype=torch.long, device=self.best.device)
            self.best.index_copy_(0, index, self.stack.theta.index_select(0, index))

    def _prune(self, tick: int, numbers: list[int], epochs: list[int], read: dict) -> None:
        """The watch's pass: the jobs it stops that were not ending anyway end "pruned"."""
        stop = set(self.watch.evaluated(numbers, epochs, read))
        for row, job in enumerate(self.rows):
            if job is not None and job.number in stop and row not in self.ending:
                job.status, job.stopped_epoch = "pruned", tick - job.cohort.start
                self.ending[row] = job

    def finish(self, tick: int) -> list[tuple[Job, Member]]:
        """The ending jobs' outcomes (weights, history, final metrics); their rows are
        frozen and hold zeros from now on."""
        rows = sorted(self.ending)
        jobs = [self.ending[r] for r in rows]
        index = torch.tensor(rows, dtype=torch.long, device=self.stack.theta.device)
        flat = self.stack.theta.index_select(0, index)
        for j, (row, job) in enumerate(zip(rows, jobs)):
            if job.restores():
                flat[j] = self.best[row]
        params, data, table = self._rows(rows, flat)
        outcome = final_metrics(params, data, self.first.activation, table)
        for job in jobs:
            self.record.end(job.spans)
        histories = self.record.histories([job.spans for job in jobs], self.data.task)
        done = []
        for j, (row, job, h, m) in enumerate(zip(rows, jobs, histories, outcome)):
            state = self.stack.state_dict(row, flat[j])
            member = Member(state, h, job.status, len(h), 0.0, m, job.stopped_epoch,
                            job.best_epoch())  # fmt: skip
            done.append((job, member))
            self.rows[row] = None
            job.cohort.rows.remove(row)
        self.step.empty(rows)
        self.live -= len(rows)
        self._events()
        self.ending = {}
        return done

    def refill(self, rows: Sequence[int], tick: int, share: float) -> None:
        """Ask the watch for a new job for each freed row."""
        for row in rows:
            s = self.watch.refill(len(self.jobs)) if self.watch is not None else None
            if s is None:
                continue
            self._fits(s)
            widths = [self.data.n_in, *s.hidden_units, 1]
            self.step.place(row, s, widths, seeded_layers(widths, s.seed, s.init.mean,
                                                          s.init.stddev))  # fmt: skip
            self._place_data(row, s)
            if s.train.batch_size is not None:  # its own mini-batch order, from its data seed
                self.gens[row] = torch.Generator().manual_seed(s.data.seed)
            same = [c for c in self.cohorts if (c.start, c.epochs) == (tick, s.train.epochs)]
            cohort = same[0] if same else None
            if cohort is None:
                cohort = Cohort(tick, s.train.epochs, [])
                cohort.plan(tick, self.every)
                self.cohorts.append(cohort)
            cohort.rows.append(row)
            job = Job(len(self.jobs), s, share, stopper(s), cohort)
            self.jobs.append(job)
            self.rows[row] = job
            self.record.start(job.spans, row)
            self.live += 1
        self._events()

    def _fits(self, s: Settings) -> None:
        p, n = self.first, len(self.jobs)
        checks = {
            "hidden_units (depth)": (len(s.hidden_units), len(p.hidden_units)),
            "activation": (s.activation, p.activation),
            "device": (s.device, p.device),
            "optimizer": (s.optimizer.name, p.optimizer.name),
            "train.batch_size": (s.train.batch_size, p.train.batch_size),
            "train.eval_every": (s.train.eval_every, p.train.eval_every),
            "train.compile": (s.train.compile, p.train.compile),
            "init.strategy": (s.init.strategy, "default"),
            "data": (dataclasses.replace(s.data, seed=0), dataclasses.replace(p.data, seed=0)),
        }
        if not self.data.stacked:
            checks["data.seed (the program trains on one draw)"] = (s.data.seed, p.data.seed)
        for key, (new, program) in checks.items():
            if new != program:
                raise ValueError(f"refill job {n}: {key} is {new!r}, the program's {program!r}")

    def _place_data(self, row: int, s: Settings) -> None:
        if self.data.stacked:
            self.data = self.data.put(row, make_data(s.data).to(self.data.x_train.device))

    def compact(self, tick: int) -> None:
        """Drop the empty rows once they are DROP_SHARE (compiled: DROP_SHARE_COMPILED; or the
        watch's drop_share) of the program."""
        keep = [r for r, job in enumerate(self.rows) if job is not None]
        empty = len(self.rows) - len(keep)
        share = DROP_SHARE_COMPILED if isinstance(self.step, CompiledStep) else DROP_SHARE
        if self.watch is not None and self.watch.drop_share is not None:
            share = self.watch.drop_share
        if not keep or not empty or empty < share * len(self.rows):
            return
        jobs = [self.rows[r] for r in keep]
        for job in jobs:
            self.record.end(job.spans)
        self.step.keep(keep)
        index = torch.tensor(keep, dtype=torch.long, device=self.stack.theta.device)
        self.data = self.data.take(index)
        if self.best is not None:
            self.best = self.best.index_select(0, index)
        self.gens = [self.gens[r] for r in keep]
        self.rows = list(jobs)
        new = {old: row for row, old in enumerate(keep)}
        for c in self.cohorts:
            c.rows = [new[r] for r in c.rows]
        self._events()
        ticks = max(c.start + c.epochs for c in self.cohorts) - tick
        self.record.resize(len(keep), ticks, ticks // self.every + 2)
        for row, job in enumerate(jobs):
            self.record.start(job.spans, row)
