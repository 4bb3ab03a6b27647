"""An Optuna search's trials as the batched launcher runs them (BatchedLauncher.launch_search):
n_jobs trials at a time (the search's batch), planned into units as a launch's jobs are
(regexp.runs.units); each program trains in regexp.runs.run_unit with its trials, so a row
that a pruned or finished trial frees takes the search's next trial at once, and each trial's
folder is written, and the trial told, as soon as it ends. A trial that cannot join a
stacked program runs alone through Hydra's run_job, and reports to the study itself.
"""

import logging
from typing import Any

from hydra.core.utils import JobStatus
from hydra.types import TaskFunction

from hydra_plugins.regexp_launcher.sweep_jobs import Job, SweepJobs
from regexp.runs.units import plan_units
from regexp.system.progress import SweepProgress, sweep_progress

log = logging.getLogger(__name__)


def run_search(
    jobs: SweepJobs, search: Any, task_function: TaskFunction, limits: tuple[int, ...]
) -> None:
    """Every trial of the search, trained here with the sweep's progress and a figure pool of
    the search's own (the trials' count decides, as a launch's jobs do)."""
    from regexp.runs.run_unit import figure_pool  # torch: once a search starts

    total = search.left()
    batch = search.batch()
    if not batch:
        return
    loaded = {t.number: jobs.load(t.number, t.overrides) for t in batch}
    plotted = next(iter(loaded.values())).settings
    plots = total if plotted is not None and plotted.plots.enabled else 0
    with figure_pool(plots) as pool, sweep_progress(total, 0, True) as progress:
        try:
            while loaded:
                stacked = [j.settings if jobs.stackable(j) else None for j in loaded.values()]
                found = list(loaded.values())
                for unit in plan_units(stacked, *limits):
                    trials = [found[i] for i in unit.jobs]
                    _unit(jobs, trials, unit.program, search, task_function, pool, progress)
                loaded = {t.number: jobs.load(t.number, t.overrides) for t in search.batch()}
            if pool is not None:
                pool.wait()  # every trial's figures drawn and its metrics.json rewritten
        except KeyboardInterrupt:
            if pool is not None:
                pool.cancel()  # trials that ended keep their folders, figures not drawn
                pool.wait()
            raise


def _unit(
    jobs: SweepJobs, unit: list[Job], program: bool, search: Any, task_function: TaskFunction,
    pool: Any, progress: SweepProgress,
) -> None:  # fmt: skip
    """A unit's trials: a program through run_unit, its freed rows refilled with the search's
    next trials that fit it; a trial alone through Hydra's run_job. A program that cannot be
    trained leaves its trials still running to run one by one."""
    from regexp.runs.run_unit import run_unit  # torch: once a search starts

    if program:
        folders = jobs.unit_folders({job.idx: job for job in unit}, task_function)

        def load(trial: Any) -> Any:
            """A new trial's settings, its folder made where Hydra would (None: not stacked)."""
            job = folders.unit[trial.number] = jobs.load(trial.number, trial.overrides)
            return job.settings if jobs.stackable(job) else None

        log.info("\t#%s : %d trials as one program, its freed rows refilled",
                 ",".join(str(j.idx) for j in unit), len(unit))  # fmt: skip
        try:
            trials = search.jobs([job.idx for job in unit], load)
            run_unit([j.settings for j in unit], folders, pool, progress, True, trials)
        except Exception as err:  # e.g. out of memory: its running trials go one by one
            log.warning("batched training of %d trials failed (%s); running them one by one",
                        len(unit), err)  # fmt: skip
            unit = [folders.unit[n] for n in search.running(list(folders.unit))]
        else:
            jobs.reset_logging()
            return
    for job in unit:
        log.info("\t#%d : a trial alone", job.idx)
        progress.started()
        ret = jobs.run(job, task_function)
        done = ret.status == JobStatus.COMPLETED
        progress.job_done(search.settle(job.idx, ret.return_value if done else None))
