"""Where the batched launcher's units of work run: here, as SLURM (or local) jobs through
submitit, or as Ray tasks. A unit is one stacked program (or one job alone), trained and
written in full by the worker, so a cluster gets one task per program, not one per job. The
worker gets the launcher (pickled, as Hydra's own submitit and Ray launchers send themselves)
and Hydra's singletons, and returns each job's JobReturn; folders, statuses and the summary
are the same as when the units run here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, setup_globals

log = logging.getLogger(__name__)

DISPATCHES = ("local", "submitit", "ray")


class Remote:
    """One unit's work for a worker process: set up Hydra's state, run, return JobReturns."""

    def __init__(self, run: Callable[[], list[JobReturn]], state: Any):
        self.run, self.state, self.cwd = run, state, os.getcwd()

    def __call__(self) -> list[JobReturn]:
        if os.path.isdir(self.cwd):  # relative sweep folders mean the driver's (shared FS)
            os.chdir(self.cwd)
        Singleton.set_state(self.state)
        setup_globals()
        return self.run()


def run_remotely(
    runs: Sequence[Callable[[], list[JobReturn]]], dispatch: str, options: dict, sweep_dir: Path
) -> list[list[JobReturn]]:
    """Each unit's JobReturns, in order; units run remotely at once, where dispatched."""
    state = Singleton.get_state()
    units = [Remote(run, state) for run in runs]
    if dispatch == "submitit":
        return _submitit(units, options, sweep_dir)
    if dispatch == "ray":
        return _ray(units, options)
    raise ValueError(f"hydra.launcher.dispatch: must be one of {DISPATCHES}, got {dispatch!r}")


def _submitit(units: list[Remote], options: dict, sweep_dir: Path) -> list[list[JobReturn]]:
    import submitit

    params = dict(options)
    cluster = params.pop("cluster", "local")
    folder = params.pop("folder", None) or str(sweep_dir / ".submitit" / "%j")
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
    jobs = [executor.submit(unit) for unit in units]
    log.info("submitted %d units as %s jobs: %s", len(jobs), cluster,
             ", ".join(str(j.job_id) for j in jobs))  # fmt: skip
    return [job.result() for job in jobs]


def _ray(units: list[Remote], options: dict) -> list[list[JobReturn]]:
    import ray

    init = dict(options.get("init") or {})
    if not ray.is_initialized():
        ray.init(**{k: v for k, v in init.items() if v is not None})
    remote_options = {k: v for k, v in (options.get("remote") or {}).items() if v is not None}
    run = ray.remote(**remote_options)(_call) if remote_options else ray.remote(_call)
    refs = [run.remote(unit) for unit in units]
    log.info("submitted %d units as Ray tasks", len(refs))
    return ray.get(refs)


def _call(unit: Remote) -> list[JobReturn]:
    return unit()
