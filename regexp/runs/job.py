"""A job alone: the task function `regexp run` and `regexp sweep` hand to Hydra.

Hydra's run_job has made the job's folder (its .hydra/ files, its log file) when it calls
`task`, which trains the job as a program of one (regexp.runs.run_unit) into that folder and
returns its objective, the number optimizing sweepers minimise or maximise. A job of regexp's
Optuna sweeper, through whichever launcher, is a trial of its study (its Hydra config says
which: regexp.runs.study.lone_trial): it reports each validation pass to the study's pruner,
stops where the pruner says, and tells the study how it ended. Torch is imported once a job
runs, not when Hydra starts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from regexp.config.settings import Settings, validate


def task(cfg: DictConfig) -> float:
    """Hydra's task function: the job's folder is Hydra's output_dir; returns its objective
    (config key `objective`)."""
    hc = HydraConfig.get()
    trial = None
    if hc.mode == RunMode.MULTIRUN:  # parallel launchers: threads and GPU per job
        from regexp.system.threads import configure_job  # torch

        configure_job(hc.launcher, hc.job.num)
        if OmegaConf.select(hc, "sweeper.pruner") is not None:  # regexp's Optuna sweeper
            from regexp.runs.study import lone_trial  # optuna: a trial's job only

            trial = lone_trial(hc)
    return run_in(Path(hc.runtime.output_dir), cfg, trial).value


def run_in(out: Path | str, cfg: DictConfig | dict, trial: Any = None) -> Any:
    """Train the job cfg configures into `out` and write its folder; its Outcome (metrics and
    objective). trial: the job is this trial of an Optuna search (regexp.runs.search.TrialJobs
    of one). A job whose config does not validate, or that cannot be trained, gets a folder
    whose metrics.json says failed, with the error's first line (its trial left for the
    sweeper to tell)."""
    from regexp.runs import run_unit, write  # torch

    out = Path(out)
    t0 = time.perf_counter()
    settings: Settings | None = None
    try:
        settings = validate(cfg)
        [done] = run_unit.run_unit([settings], run_unit.Given(out), trials=trial)
    except Exception as err:
        out.mkdir(parents=True, exist_ok=True)
        return run_unit.outcome(settings, write.write_failed(out, err, time.perf_counter() - t0))
    return done
