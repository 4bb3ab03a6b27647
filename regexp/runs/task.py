"""The task function `regexp run` and `regexp sweep` hand to Hydra (no torch until it runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import DictConfig

if TYPE_CHECKING:
    from regexp.figures.pool import FigurePool


class Task:
    """regexp.runs.job.run_job, carrying the figure pool its owner (the CLI) started for a
    sweep: a launcher that draws figures finds it here, in the task_function its setup()
    gets, Hydra's public way to a launcher."""

    def __init__(self, figure_pool: FigurePool | None = None):
        self.figure_pool = figure_pool

    def __call__(self, cfg: DictConfig) -> float:
        from regexp.runs.job import run_job  # torch: imported once a job runs

        return run_job(cfg)

    def __getstate__(self) -> dict:
        return {"figure_pool": None}  # sent to other processes (joblib, submitit): no pool
