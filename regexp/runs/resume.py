"""`regexp sweep --resume SWEEP_DIR`: the overrides that re-launch a sweep into its folder.

Hydra numbers job folders by the job's position in the sweep, and the positions come from the
sweep's overrides (saved in SWEEP_DIR/multirun.yaml), so re-launching the same overrides into
the same folder maps every job onto its old folder. The resume sweeper (hydra/sweeper=resume,
hydra_plugins/regexp_launcher/resume_sweeper.py) hands the launcher only the jobs that are
not done; an unfinished job's folder is removed (clean) before it runs again. An optimizing
sweep resumes with its own sweeper instead (regexp's Optuna sweeper reopens its study).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from regexp.config import objective
from regexp.config.errors import UsageError
from regexp.config.overrides import override_key, parse_override
from regexp.config.plan import optimizing, plugin_class
from regexp.runs.layout import RunDir, SweepDir

SWEEPER = "hydra/sweeper=resume"
# Hydra overrides of the first launch that a resume sets itself (the sweeper: a basic sweep's).
_REPLACED = ("hydra.sweep.dir", "hydra.mode")


def clean(job_dir: Path, sweep_dir: Path) -> None:
    """Remove an unfinished job's folder (only ever a folder inside the sweep's)."""
    job_dir, sweep_dir = job_dir.resolve(), sweep_dir.resolve()
    if job_dir == sweep_dir or sweep_dir not in job_dir.parents:
        raise RuntimeError(f"refusing to remove {job_dir}: not a job folder of {sweep_dir}")
    if job_dir.is_symlink() or job_dir.is_file():
        job_dir.unlink()
    elif job_dir.exists():
        shutil.rmtree(job_dir)


def relaunch_overrides(sweep_dir: Path | str, extra: Sequence[str]) -> list[str]:
    """The first launch's overrides, with `extra` hydra overrides on top, into sweep_dir."""

    sweep = SweepDir(sweep_dir)
    saved = sweep.multirun_file
    try:
        task, hydra = sweep.overrides()
        target = sweep.sweeper_target()
    except FileNotFoundError:
        raise UsageError(f"--resume: no sweep in {sweep_dir} (no multirun.yaml)") from None
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise UsageError(f"--resume: unreadable {saved} ({type(err).__name__})") from None
    for o in extra:
        if not parse_override(o).is_hydra_override():
            raise UsageError(
                f"--resume: {override_key(o)}: a resumed sweep keeps its jobs; only hydra "
                "overrides (such as hydra/launcher=joblib) may change"
            )
    own = target is not None and optimizing(plugin_class(target, "hydra/sweeper"))
    replaced = {*_REPLACED, *(() if own else ("hydra/sweeper",)), *map(override_key, extra)}
    kept = [o for o in hydra if override_key(o) not in replaced]
    return [*task, *kept, *extra, *(() if own else (SWEEPER,)), f"hydra.sweep.dir={sweep.path}"]


def settle(job_dir: Path, sweep_dir: Path) -> float | None:
    """A job's folder as a resumed sweep finds it: the job's objective when it is done (ok,
    its weights written; the figures an interrupt left undrawn are drawn now), None when it
    must run again (what an unfinished job left is removed)."""
    folder = RunDir(job_dir)
    if folder.is_done():
        if folder.figures_missing():  # trained before an interrupt
            from regexp.runs.write import draw_missing  # torch

            draw_missing(job_dir)
        return objective_of(job_dir)
    if job_dir.exists():
        clean(job_dir, sweep_dir)
    return None


def objective_of(job_dir: Path) -> float:
    """A finished job's objective, read back from its folder (its config's `objective`, its
    metrics.json), as the job returned it; NaN where the folder does not say."""
    folder = RunDir(job_dir)
    try:
        cfg, metrics = folder.config_tree(), folder.metrics()
        task = (cfg.get("data") or {}).get("task") or "regression"
        key = objective.metric(str(cfg.get("objective", "auto")), str(task))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError):
        return math.nan
    return objective.value(metrics, key)
