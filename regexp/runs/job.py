"""One job: Hydra's task function, and training a config into a run folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from regexp.config import objective
from regexp.config.settings import Settings, validate
from regexp.runs.group import train_group
from regexp.runs.layout import RunDir
from regexp.runs.record import made_by
from regexp.runs.write import record_failure, write_run
from regexp.system.threads import configure_job


def run_in(
    out: Path | str, cfg: DictConfig | dict, settings: Settings | None = None
) -> dict[str, Any]:
    """Train the configured model and write its run folder into `out`; return the metrics.

    Any error is caught and recorded as status "failed" (with its one-line text). `settings`,
    when given, are cfg's, already validated."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        settings = settings or validate(cfg)
        [trained] = train_group([settings])
    except Exception as err:
        metrics: dict[str, Any] = {"status": "failed", "made_by": made_by("cpu")}
        record_failure(metrics, err)
        metrics["seconds"] = time.perf_counter() - t0
        RunDir(out).write_metrics(metrics)
        return metrics
    return write_run(out, settings, trained)


def run_job(cfg: DictConfig) -> float:
    """Hydra's task function: the job's folder is Hydra's output_dir; returns its objective
    (config key `objective`), which optimizing sweepers minimise or maximise."""

    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:  # parallel launchers: threads and GPU per job
        configure_job(hc.launcher, hc.job.num)
    try:
        settings: Settings | None = validate(cfg)
    except Exception:  # run_in records the error in the job's folder
        settings = None
    metrics = run_in(Path(hc.runtime.output_dir), cfg, settings)
    return objective.of_job(settings and settings.objective, metrics)
