"""The task function `regexp run` and `regexp sweep` hand to Hydra (no torch until it runs)."""

from __future__ import annotations

from omegaconf import DictConfig


def task(cfg: DictConfig) -> float:
    """regexp.runs.job.run_job, imported when a job runs: torch takes a second to import."""
    from regexp.runs.job import run_job

    return run_job(cfg)
