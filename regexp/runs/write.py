"""A trained job's folder: weights, history, figures, then metrics.json, written last.

A folder without metrics.json reads as incomplete (killed or running). Errors while writing
are recorded in metrics.json as status "failed", never raised, so a sweep's other jobs and
its summary are never lost to one bad job.
"""

from __future__ import annotations

import logging
import time
import traceback
from concurrent.futures import BrokenExecutor, CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regexp.config.settings import Settings
from regexp.figures.pool import draw
from regexp.figures.specs import PlotSpec, plot_specs
from regexp.runs.layout import NOT_DRAWN, RunDir, write_atomic
from regexp.runs.record import made_by
from regexp.runs.weights import load_run, save_weights
from regexp.train.data import Dataset
from regexp.train.engine import Member
from regexp.train.history import History
from regexp.train.model import MLP

if TYPE_CHECKING:
    from regexp.figures.pool import FigurePool

log = logging.getLogger("regexp")


@dataclass
class Trained:
    """One job's outcome from a trained group (or a group of one)."""

    member: Member
    device: str
    data: Dataset  # the job's own data draw (one object for the jobs of a group that share it)
    init: dict[str, Any] | None = None  # init.strategy search or grid: the chosen start


def write_tensorboard(out: Path, history: History) -> None:
    """logger=tensorboard: the history's curves as TensorBoard scalars under out/tensorboard."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(out / "tensorboard")) as writer:
        for row in history.records():
            for key, value in row.items():
                if key != "epoch" and value == value:  # skip NaN: not evaluated that epoch
                    split, _, metric = key.partition("_")
                    writer.add_scalar(f"{metric}/{split}", value, int(row["epoch"]))


def finish_folder(out: Path, settings: Settings, metrics: dict[str, Any], history: History) -> None:
    """Write metrics.json, the folder's last file, then hand the finished folder to the
    logger that needs it (logger=mlflow: an MLflow run)."""
    RunDir(out).write_metrics(metrics)
    if settings.logger == "mlflow":
        from regexp.runs.mlflow_log import log_job  # mlflow: only where a job logs to it

        log_job(out, settings, metrics, history)


def record_failure(metrics: dict[str, Any], err: BaseException) -> None:
    metrics["status"] = "failed"
    metrics["error"] = f"{type(err).__name__}: {err}".splitlines()[0]
    log.error("run failed: %s", metrics["error"])
    log.debug("%s", "".join(traceback.format_exception(err)))


def write_run(
    out: Path | str,
    settings: Settings,
    trained: Trained,
    extra: dict[str, Any] | None = None,
    pool: FigurePool | None = None,
) -> dict[str, Any]:
    """Write a trained job's folder; return its metrics. With a `pool`, the figures are drawn
    there and metrics.json is written once they are (the pool's owner waits for it)."""
    out = Path(out)
    folder = RunDir(out)
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
    widths = [trained.data.n_in, *settings.hidden_units, 1]
    metrics.update(
        member.metrics,
        n_params=sum((a + 1) * b for a, b in zip(widths, widths[1:])),
        epochs=member.epochs,
        train_seconds=member.seconds,
        **(extra or {}),
        made_by=made_by(trained.device),
    )
    if settings.train.early_stopping.patience is not None or member.stopped_epoch is not None:
        metrics.update(stopped_epoch=member.stopped_epoch, best_epoch=member.best_epoch)
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
                folder.plots_dir, folder.fit_file, model.eval(), data, settings, member.history
            )
            if pool is not None and _drawn_in(pool, specs, out, metrics, t0, settings, member):
                return metrics
            draw(specs)
    except Exception as err:
        record_failure(metrics, err)
    metrics["seconds"] = member.seconds + time.perf_counter() - t0
    finish_folder(out, settings, metrics, member.history)
    return metrics


def _drawn_in(
    pool: FigurePool, specs: list[PlotSpec], out: Path, metrics: dict, t0: float,
    settings: Settings, member: Member,
) -> bool:  # fmt: skip
    """Hand the figures to the pool, metrics.json to follow them; False when the pool can
    take no task (a process of it died on an earlier job): then they are drawn here."""
    metrics["seconds"] = metrics["train_seconds"] + time.perf_counter() - t0

    def done(err: BaseException | None) -> None:
        if isinstance(err, BrokenExecutor):  # the process died, not the figure: draw here
            try:
                draw(specs)
                err = None
            except Exception as again:
                err = again
        if isinstance(err, CancelledError):  # the sweep was interrupted: the job is done
            metrics["figures"] = NOT_DRAWN
        elif err is not None:
            record_failure(metrics, err)
        finish_folder(out, settings, metrics, member.history)

    try:
        pool.draw(specs, done)
    except BrokenExecutor:
        return False
    return True


def draw_missing(run_dir: Path | str) -> None:
    """Draw the figures an interrupted sweep left undrawn, from the job's saved weights and
    history; its metrics.json then says nothing more is missing."""
    run = RunDir(run_dir)
    settings, model, data = load_run(run.path)
    history = History.from_csv(run.history_file.read_text(encoding="utf-8"))
    draw(plot_specs(run.plots_dir, run.fit_file, model, data, settings, history))
    metrics = run.metrics()
    metrics.pop("figures", None)
    run.write_metrics(metrics)
