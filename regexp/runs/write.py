"""A trained job's folder: the one path that writes it, for `regexp run`, a job alone and every
job of a stacked program (regexp.runs.run_unit).

Two steps. write_numbers writes the weights, history.csv and metrics.json, everything a
trained job's result is; with plots on, metrics.json says its figures are not drawn yet.
finish_figures draws them (here, or in a pool's process) and rewrites metrics.json without
that mark. So a job is `ok` on disk as soon as it is trained, and an interrupt while figures
are drawn costs only figures (`regexp sweep --resume` draws them). Errors are recorded in
metrics.json as status "failed", never raised, so a sweep's other jobs and its summary are
never lost to one bad job.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regexp.config.settings import Settings, n_params
from regexp.figures.specs import PlotSpec, plot_specs
from regexp.runs.layout import NOT_DRAWN, REUSED, RunDir
from regexp.runs.made_by import made_by
from regexp.runs.store import Entry, Store, fill, reuse_on
from regexp.runs.weights import load_run, rebuild, save_weights
from regexp.system.files import write_atomic
from regexp.system.pools import ProcessPool, call
from regexp.train.data import Dataset
from regexp.train.engine import Member
from regexp.train.history import History
from regexp.train.model import MLP

log = logging.getLogger("regexp")


@dataclass
class Trained:
    """One job's outcome from a trained program (a program of one included)."""

    member: Member
    device: str
    data: Dataset  # the job's own data draw (one object for the jobs of a program that share it)
    init: dict[str, Any] | None = None  # init.strategy search or grid: the chosen start


@dataclass
class Written:
    """A job's folder with its numbers written: what finish_figures needs to draw the rest."""

    out: Path
    settings: Settings
    metrics: dict[str, Any]
    history: History
    specs: list[PlotSpec] | None  # its figures, None when plots are off or writing failed
    t0: float  # when writing began, for the seconds metrics.json records


def write_tensorboard(out: Path, history: History) -> None:
    """logger=tensorboard: the history's curves as TensorBoard scalars under out/tensorboard."""
    from torch.utils.tensorboard import SummaryWriter  # tensorboard: only where a job logs to it

    with SummaryWriter(log_dir=str(out / "tensorboard")) as writer:
        for row in history.records():
            for key, value in row.items():
                if key != "epoch" and value == value:  # skip NaN: not evaluated that epoch
                    split, _, metric = key.partition("_")
                    writer.add_scalar(f"{metric}/{split}", value, int(row["epoch"]))


def record_failure(metrics: dict[str, Any], err: BaseException) -> None:
    metrics["status"] = "failed"
    metrics["error"] = f"{type(err).__name__}: {err}".splitlines()[0]
    log.error("run failed: %s", metrics["error"])
    log.debug("%s", "".join(traceback.format_exception(err)))


def write_failed(out: Path, err: BaseException, seconds: float) -> dict[str, Any]:
    """The folder of a job that could not be trained: metrics.json with status failed."""
    metrics: dict[str, Any] = {"status": "failed", "made_by": made_by("cpu")}
    record_failure(metrics, err)
    metrics["seconds"] = seconds
    RunDir(out).write_metrics(metrics)
    return metrics


def write_numbers(
    out: Path, settings: Settings, trained: Trained, extra: dict[str, Any] | None = None
) -> Written:
    """Weights, history.csv (and TensorBoard's scalars), then metrics.json; with plots on,
    metrics.json marks the figures not drawn yet. A job without figures is finished here."""
    t0 = time.perf_counter()
    member = trained.member
    metrics: dict[str, Any] = {
        "status": member.status,
        "name": settings.name,
        "seed": settings.seed,
        "device": trained.device,
    }
    if trained.init is not None:
        metrics["init"] = trained.init
    metrics.update(
        member.metrics,
        n_params=n_params([trained.data.n_in, *settings.hidden_units, 1]),
        epochs=member.epochs,
        train_seconds=member.seconds,
        **(extra or {}),
        made_by=made_by(trained.device),
    )
    if settings.train.early_stopping.patience is not None or member.stopped_epoch is not None:
        metrics.update(stopped_epoch=member.stopped_epoch, best_epoch=member.best_epoch)
    folder, specs = RunDir(out), None
    try:
        out.mkdir(parents=True, exist_ok=True)
        save_weights(folder.weights_file, member.state)
        write_atomic(folder.history_file, member.history.csv())
        if settings.logger == "tensorboard":
            write_tensorboard(out, member.history)
        if settings.plots.enabled:
            model = MLP(trained.data.n_in, settings.hidden_units, 1, settings.activation)
            model.load_state_dict(member.state)
            data = trained.data.to("cpu")
            specs = plot_specs(
                folder.plots_dir,
                folder.fit_file,
                model.eval(),
                data,
                settings,
                member.history,
                metrics,
            )
            metrics["figures"] = NOT_DRAWN
    except Exception as err:
        record_failure(metrics, err)
        specs = None
    written = Written(out, settings, metrics, member.history, specs, t0)
    metrics["seconds"] = member.seconds + time.perf_counter() - t0
    folder.write_metrics(metrics)
    if specs is None:
        _finished(written)
    return written


def write_reused(out: Path, settings: Settings, entry: Entry) -> Written:
    """A job's folder filled from its store entry instead of training (regexp.runs.store.fill);
    its figures are to draw from the stored weights when the stored ones cannot be linked."""
    t0 = time.perf_counter()
    metrics, to_draw = fill(entry, out, settings)
    run = RunDir(out)
    history = History.from_csv(run.history_file.read_text(encoding="utf-8"))
    specs = None
    try:
        if settings.logger == "tensorboard":
            write_tensorboard(out, history)
        if to_draw:
            model, data = rebuild(settings, run.weights_file)
            specs = plot_specs(run.plots_dir, run.fit_file, model, data, settings, history,
                               metrics)  # fmt: skip
    except Exception as err:
        record_failure(metrics, err)
        metrics.pop("figures", None)
        run.write_metrics(metrics)
    written = Written(out, settings, metrics, history, specs, t0)
    if specs is None:
        _finished(written)
    return written


def finish_figures(
    written: Written,
    pool: ProcessPool | None = None,
    done: Callable[[], None] | None = None,
) -> None:
    """Draw a job's figures, here or in `pool`'s process, then rewrite its metrics.json without
    the mark, and call done() (a sweep's count of figures drawn). Cancelled by the pool's
    owner (an interrupted sweep), the mark stays."""

    def drawn(err: BaseException | None) -> None:
        if isinstance(err, BrokenExecutor):  # the process died, not the figure: draw here
            err = _draw_here(written.specs)
        if isinstance(err, CancelledError):  # the sweep was interrupted: the job is done
            return
        metrics = written.metrics
        metrics.pop("figures", None)
        if err is not None:
            record_failure(metrics, err)
        if REUSED not in metrics:  # a reused job keeps its original's time
            metrics["seconds"] = metrics["train_seconds"] + time.perf_counter() - written.t0
        RunDir(written.out).write_metrics(metrics)
        _finished(written)
        if done is not None:
            done()

    if pool is not None:
        try:  # by name: matplotlib is imported by the pool's processes, not this one
            pool.submit(call, "regexp.figures.draw:draw_plots", written.specs, done=drawn)
            return
        except BrokenExecutor:  # a process of the pool died on an earlier job: draw here
            pass
    drawn(_draw_here(written.specs))


def _draw_here(specs: list[PlotSpec] | None) -> Exception | None:
    if not specs:
        return None
    from regexp.figures.draw import draw_plots  # matplotlib: only where figures are drawn

    try:
        draw_plots(specs)
    except Exception as err:
        return err
    return None


def _finished(written: Written) -> None:
    """A job with nothing left to write: handed to the logger that needs it (logger=mlflow:
    an MLflow run), and kept in the store of finished jobs when it is ok."""
    if written.settings.logger == "mlflow":
        from regexp.runs.mlflow_log import log_job  # mlflow: only where a job logs to it

        log_job(written.out, written.settings, written.metrics, written.history)
    if reuse_on(written.settings):
        Store().put(written.out, written.settings)


def draw_missing(run_dir: Path | str) -> None:
    """Draw the figures an interrupted sweep left undrawn, from the job's saved weights and
    history; its metrics.json then says nothing more is missing."""
    run = RunDir(run_dir)
    settings, model, data = load_run(run.path)
    history = History.from_csv(run.history_file.read_text(encoding="utf-8"))
    from regexp.figures.draw import draw_plots  # matplotlib: only where figures are drawn

    metrics = run.metrics()
    draw_plots(plot_specs(run.plots_dir, run.fit_file, model, data, settings, history, metrics))
    metrics.pop("figures", None)
    run.write_metrics(metrics)
