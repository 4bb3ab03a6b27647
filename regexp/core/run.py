"""One run: wires data → model → train → evaluate and writes the run folder.

metrics.json is written last, so a folder without it reads as incomplete (killed or running).
"""

from __future__ import annotations

import io
import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from regexp.core import runs
from regexp.core.data import Dataset, make_data
from regexp.core.evaluate import evaluate
from regexp.core.figures import PlotSpec, draw_plots, plot_specs
from regexp.core.init import init_model
from regexp.core.model import MLP, n_params
from regexp.core.penalty import Penalty
from regexp.core.settings import Settings, validate
from regexp.core.train import TrainResult, threads_for, train

log = logging.getLogger("regexp")

# (model, data, settings, penalty) -> TrainResult; fits the model in place
Trainer = Callable[[MLP, Dataset, Settings, Penalty], TrainResult]


def train_one(model: MLP, data: Dataset, settings: Settings, penalty: Penalty) -> TrainResult:
    return train(model, data, settings, penalty, label=settings.name)


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def build_model(settings: Settings, n_in: int) -> MLP:
    model = MLP(n_in, settings.hidden_units, 1, settings.activation)
    return model.init_seeded(settings.seed, settings.init.mean, settings.init.stddev)


def save_weights(path: Path, model: torch.nn.Module) -> None:
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    runs.write_atomic(path, save(state))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def load_run(run_dir: Path | str) -> tuple[Settings, MLP, Dataset]:
    """Rebuild a finished run's settings, trained model (CPU) and data from its folder."""
    run_dir = Path(run_dir)
    settings = validate(OmegaConf.load(run_dir / ".hydra" / "config.yaml"))
    data = make_data(settings.data)
    model = build_model(settings, data.n_in)
    model.load_state_dict(load_weights(run_dir / runs.WEIGHTS))
    return settings, model.eval(), data


def write_tensorboard(out: Path, history: Any) -> None:
    """logger=tensorboard: the history's curves as TensorBoard scalars under out/tensorboard."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(out / "tensorboard")) as writer:
        for row in history.to_dict("records"):
            for key, value in row.items():
                if key != "epoch" and value == value:  # skip NaN: not evaluated that epoch
                    split, _, metric = key.partition("_")
                    writer.add_scalar(f"{metric}/{split}", value, int(row["epoch"]))


def _write_history(out: Path, history: Any) -> None:
    buf = io.StringIO()
    history.to_csv(buf, index=False)
    runs.write_atomic(out / runs.HISTORY, buf.getvalue())


def run_in(
    out: Path | str,
    cfg: DictConfig | dict,
    trainer: Trainer = train_one,
    extra: dict[str, Any] | None = None,
    settings: Settings | None = None,
    plot_pool: Executor | None = None,
) -> dict[str, Any]:
    """Train the configured model and write its run folder into `out`; return the metrics.

    Any error is caught and recorded as status "failed" (with its one-line text) so a sweep's
    other jobs and its summary are never lost to one bad job. `trainer` lets the batched
    launcher hand in weights it trained with other jobs; `extra` adds keys to metrics.json;
    `settings`, when given, are cfg's, already validated. With a `plot_pool`, the figures are
    drawn there and metrics.json is written when they are done (the caller waits for the pool).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    metrics: dict[str, Any] = {"status": "failed"}
    try:
        settings = settings or validate(cfg)
        device = pick_device(settings.device)
        metrics.update(name=settings.name, seed=settings.seed, device=str(device))
        data = make_data(settings.data).to(device)
        model, init_info = init_model(settings, data, build_model)
        if init_info is not None:  # init.strategy search or grid: the chosen start and scores
            metrics["init"] = init_info
        penalty = Penalty(settings.penalty, model, device)
        t_train = time.perf_counter()
        result = trainer(model, data, settings, penalty)
        # a batched launcher's trainer only replays: count the group's share instead
        t0 += (time.perf_counter() - t_train) - result.seconds
        with threads_for(n_params(model), settings.train.threads):
            pen = penalty().item() if penalty.active else 0.0
            metrics.update(status=result.status, **evaluate(model, data, pen))
        metrics.update(
            n_params=n_params(model),
            epochs=result.epochs,
            train_seconds=result.seconds,
            **(extra or {}),
        )
        save_weights(out / runs.WEIGHTS, model)
        _write_history(out, result.history)
        if settings.logger == "tensorboard":
            write_tensorboard(out, result.history)
        if settings.plots.enabled:
            specs = plot_specs(out, model.cpu(), data.to("cpu"), settings, result.history)
            if plot_pool is None:
                draw_plots(specs)
            else:
                try:
                    drawn = plot_pool.submit(draw_plots, specs)
                except BrokenExecutor:  # a pool process died on an earlier job: draw here
                    draw_plots(specs)
                else:
                    drawn.add_done_callback(lambda f: _finish_plotted(out, metrics, specs, f))
                    metrics["seconds"] = time.perf_counter() - t0
                    return metrics
    except Exception as err:  # recorded in metrics.json; the job itself does not raise
        _record_failure(metrics, err)
    metrics["seconds"] = time.perf_counter() - t0
    runs.write_json(out / runs.METRICS, metrics)
    return metrics


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
    runs.write_json(out / runs.METRICS, metrics)


def run_job(cfg: DictConfig) -> None:
    """Hydra's task function: the job's folder is Hydra's output_dir."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:  # parallel launchers: threads and GPU per job
        from regexp.core.threads import configure_job

        configure_job(hc.launcher, hc.job.num)
    run_in(Path(hc.runtime.output_dir), cfg)
