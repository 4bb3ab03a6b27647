"""`regexp sweep --resume SWEEP_DIR`: the overrides that re-launch a sweep into its folder.

Hydra numbers job folders by the job's position in the sweep, and the positions come from the
sweep's overrides (saved in SWEEP_DIR/multirun.yaml), so re-launching the same overrides into
the same folder maps every job onto its old folder. The resume sweeper (hydra/sweeper=resume,
hydra_plugins/regexp_launcher/resume_sweeper.py) hands the launcher only the jobs that are
not done; an unfinished job's folder is removed (clean) before it runs again.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from regexp.config.errors import UsageError
from regexp.config.overrides import override_key, parse_override
from regexp.runs.layout import SweepDir

SWEEPER = "hydra/sweeper=resume"
# Hydra overrides of the first launch that a resume sets itself.
_REPLACED = ("hydra.sweep.dir", "hydra.mode", "hydra/sweeper")


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
    given = {override_key(o) for o in extra}
    kept = [o for o in hydra if override_key(o) not in given and override_key(o) not in _REPLACED]
    return [*task, *kept, *extra, SWEEPER, f"hydra.sweep.dir={sweep.path}"]
