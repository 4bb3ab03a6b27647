"""A run, or a group of runs trained as one: settings → data → engine → run folders.

metrics.json is written last, so a folder without it reads as incomplete (killed or running).
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from regexp.config.settings import Settings, validate
from regexp.figures.pool import draw as plot_pool_draw
from regexp.figures.specs import PlotSpec, draw_plots, plot_specs
from regexp.runs import layout as runs
from regexp.train.data import Dataset, make_data
from regexp.train.engine import Member, fit
from regexp.train.history import History
from regexp.train.init import pick_init
from regexp.train.model import MLP

log = logging.getLogger("regexp")


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def build_model(settings: Settings, n_in: int) -> MLP:
    model = MLP(n_in, settings.hidden_units, 1, settings.activation)
    return model.init_seeded(settings.seed, settings.init.mean, settings.init.stddev)


def save_weights(path: Path, model: torch.nn.Module | dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save

    tensors = model if isinstance(model, dict) else model.state_dict()
    state = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    runs.write_atomic(path, save(state))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def load_run(run_dir: Path | str) -> tuple[Settings, MLP, Dataset]:
    """Rebuild a finished run's settings, trained model (CPU) and data from its folder."""
    run = runs.RunDir(run_dir)
    settings = validate(OmegaConf.load(run.config_file))
    data = make_data(settings.data)
    model = build_model(settings, data.n_in)
    model.load_state_dict(load_weights(run.weights_file))
    return settings, model.eval(), data


def write_tensorboard(out: Path, history: History) -> None:
    """logger=tensorboard: the history's curves as TensorBoard scalars under out/tensorboard."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(out / "tensorboard")) as writer:
        for row in history.records():
            for key, value in row.items():
                if key != "epoch" and value == value:  # skip NaN: not evaluated that epoch
                    split, _, metric = key.partition("_")
                    writer.add_scalar(f"{metric}/{split}", value, int(row["epoch"]))


def _write_history(out: Path, history: History) -> None:
    runs.write_atomic(runs.RunDir(out).history_file, history.csv())


@dataclass
class Trained:
    """One job's outcome from a trained group (or a group of one)."""

    member: Member
    device: str
    data: Dataset  # the group's (one object for all its jobs)
    init: dict[str, Any] | None = None  # init.strategy search or grid: the chosen start


def train_group(settings: Sequence[Settings], label: str | None = None) -> list[Trained]:
    """Train jobs of one group_key as one program (a single run is a group of one).
    Raises on errors that concern the whole group (bad data, out of memory)."""
    first = settings[0]
    device = pick_device(first.device)
    data = make_data(first.data).to(device)
    inits, info = None, None
    if len(settings) == 1 and first.init.strategy != "default":
        start, info = pick_init(first, data)
        inits = [start]
    members = fit(settings, data, inits, label or first.name)
    return [Trained(m, str(device), data, info) for m in members]


def write_run(
    out: Path | str,
    settings: Settings,
    trained: Trained,
    extra: dict[str, Any] | None = None,
    plot_pool: Executor | None = None,
) -> dict[str, Any]:
    """Write a trained job's folder (weights, history, figures, metrics.json last); return
    its metrics. Errors are recorded as status "failed" in the folder, never raised. With a
    `plot_pool`, the figures are drawn there and metrics.json is written when they are done
    (the caller waits for the pool)."""
    out = Path(out)
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
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        save_weights(runs.RunDir(out).weights_file, member.state)
        _write_history(out, member.history)
        if settings.logger == "tensorboard":
            write_tensorboard(out, member.history)
        if settings.plots.enabled:
            model = MLP(trained.data.n_in, settings.hidden_units, 1, settings.activation)
            model.load_state_dict(member.state)
            data = trained.data.to("cpu")
            specs = plot_specs(out, model.eval(), data, settings, member.history)
            if plot_pool is not None:
                try:
                    drawn = plot_pool.submit(plot_pool_draw, specs)
                except BrokenExecutor:  # a pool process died on an earlier job: draw here
                    draw_plots(specs)
                else:
                    metrics["seconds"] = member.seconds + time.perf_counter() - t0
                    drawn.add_done_callback(lambda f: _finish_plotted(out, metrics, specs, f))
                    return metrics
            else:
                draw_plots(specs)
    except Exception as err:  # recorded in metrics.json; the job itself does not raise
        _record_failure(metrics, err)
    metrics["seconds"] = member.seconds + time.perf_counter() - t0
    runs.RunDir(out).write_metrics(metrics)
    return metrics


def run_in(
    out: Path | str, cfg: DictConfig | dict, settings: Settings | None = None
) -> dict[str, Any]:
    """Train the configured model and write its run folder into `out`; return the metrics.

    Any error is caught and recorded as status "failed" (with its one-line text) so a sweep's
    other jobs and its summary are never lost to one bad job. `settings`, when given, are
    cfg's, already validated."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        settings = settings or validate(cfg)
        [trained] = train_group([settings])
    except Exception as err:
        metrics: dict[str, Any] = {"status": "failed"}
        _record_failure(metrics, err)
        metrics["seconds"] = time.perf_counter() - t0
        runs.RunDir(out).write_metrics(metrics)
        return metrics
    return write_run(out, settings, trained)


def _record_failure(metrics: dict[str, Any], err: BaseException) -> None:
    metrics["status"] = "failed"
    metrics["error"] = f"{type(err).__name__}: {err}".splitlines()[0]
    log.error("run failed: %s", metrics["error"])
    log.debug("%s", "".join(traceback.format_exception(err)))


def _finish_plotted(out: Path, metrics: dict, specs: list[PlotSpec], drawn: Future) -> None:
    """A pool's plots are done: write metrics.json, last as always."""
    err = drawn.exception()
    if isinstance(err, BrokenExecutor):  # the pool's process died, not the plot: draw here
        try:
            draw_plots(specs)
            err = None
        except Exception as again:
            err = again
    if err is not None:
        _record_failure(metrics, err)
    runs.RunDir(out).write_metrics(metrics)


def objective_of(settings: Settings | None, metrics: dict[str, Any]) -> float:
    """The job's objective for Hydra's optimizing sweepers (NaN when it failed or diverged)."""
    from regexp.config import objective

    return objective.value(metrics, settings.objective) if settings is not None else math.nan


def run_job(cfg: DictConfig) -> float:
    """Hydra's task function: the job's folder is Hydra's output_dir; returns its objective
    (config key `objective`), which optimizing sweepers minimise or maximise."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:  # parallel launchers: threads and GPU per job
        from regexp.system.threads import configure_job

        configure_job(hc.launcher, hc.job.num)
    try:
        settings: Settings | None = validate(cfg)
    except Exception:  # run_in records the error in the job's folder
        settings = None
    return objective_of(settings, run_in(Path(hc.runtime.output_dir), cfg, settings))
