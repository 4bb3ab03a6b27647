"""`regexp sweep --resume SWEEP_DIR`: re-launch a sweep's jobs into their old folders.

Hydra numbers job folders by the job's position in the sweep, and the positions come from the
sweep's overrides (saved in SWEEP_DIR/multirun.yaml), so re-launching the same overrides into
the same folder maps every job onto its old folder. The resume sweeper (hydra/sweeper=resume)
wraps whichever launcher the sweep uses: jobs whose folder is complete with status ok are
never handed to the launcher, so their folders stay byte for byte as they were (Hydra's
run_job would rewrite .hydra/ and the log); every other job's folder is removed, then the job
runs again with its old number.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from regexp.config.compose import override_key, parse_override
from regexp.config.errors import UsageError
from regexp.runs.layout import RunDir, SweepDir

log = logging.getLogger("regexp")

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
    import yaml

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


class ResumingLauncher:
    """Hands a launcher only the jobs still to do, in runs of consecutive job numbers."""

    def __init__(self, launcher: Any, config: Any, hydra_context: Any) -> None:
        self.launcher, self.config, self.hydra_context = launcher, config, hydra_context

    def job_dir(self, idx: int, overrides: Sequence[str]) -> Path:
        from omegaconf import OmegaConf, open_dict

        sweep = self.config.hydra.sweep
        if OmegaConf.to_container(sweep, resolve=False).get("subdir") == "${hydra.job.num}":
            return Path(str(sweep.dir)) / str(idx)
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.num = idx
        return Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)

    def _skipped(self, overrides: Sequence[str], job_dir: Path) -> Any:
        from hydra.core.utils import JobReturn, JobStatus

        ret = JobReturn(overrides=list(overrides), working_dir=str(job_dir))
        ret.status, ret.return_value = JobStatus.COMPLETED, None
        return ret

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[Any]:
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        returns: list[Any] = []
        todo: list[int] = []  # positions in job_overrides of the current run of jobs to do

        def flush() -> None:
            if todo:
                batch = [job_overrides[i] for i in todo]
                returns.extend(
                    self.launcher.launch(batch, initial_job_idx=initial_job_idx + todo[0])
                )
                todo.clear()

        done = 0
        for i, overrides in enumerate(job_overrides):
            job_dir = self.job_dir(initial_job_idx + i, overrides)
            if RunDir(job_dir).is_done():
                flush()
                returns.append(self._skipped(overrides, job_dir))
                done += 1
                continue
            if job_dir.exists():
                clean(job_dir, sweep_dir)
            todo.append(i)
        flush()
        log.info(
            "resume: %d of %d jobs already ok, %d run again",
            done,
            len(returns),
            len(returns) - done,
        )
        return returns
