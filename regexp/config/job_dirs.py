"""A sweep's job folders, known before its first job starts: hydra.sweep.subdir, resolved for
each job as Hydra resolves it, must name a folder inside the sweep folder, and a different
one for every job (a constant subdir would have each job overwrite the one before; `../x`
would write outside the sweep)."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from regexp.config.errors import ConfigError
from regexp.config.overrides import parse_override

KEY = "hydra.sweep.subdir"
DEFAULT = "${hydra.job.num}"  # conf/config.yaml's: each job's number


def _job_subdir(cfg: DictConfig, num: int, job: Sequence[str]) -> str:
    """subdir as the batched launcher's job writer resolves it for job number num: with the
    fields Hydra sets per job (number, id, override_dirname, task overrides) on the sweep's
    config, not the job's own values (cfg: a copy this function may change). A subdir named
    after a config key (${seed}) is then one folder for all: name jobs by
    ${hydra.job.override_dirname} instead."""
    from regexp.config.hydra_shim import hydra_config, overrides_dirname

    task = [o for o in map(parse_override, job) if not o.is_hydra_override()]
    with open_dict(cfg.hydra):
        cfg.hydra.job.num, cfg.hydra.job.id = num, str(num)
        cfg.hydra.job.override_dirname = overrides_dirname(
            task, cfg.hydra.job.config.override_dirname
        )
        cfg.hydra.overrides.task = [o.input_line for o in task]
    try:
        with hydra_config(cfg):
            return str(OmegaConf.select(cfg, KEY, throw_on_missing=True))
    except OmegaConfBaseException as err:
        first = str(err).splitlines()[0]
        raise ConfigError(KEY, f"cannot be resolved before the sweep starts: {first}") from None


def check_subdirs(cfg: DictConfig, jobs: Sequence[Sequence[str]]) -> None:
    """ConfigError naming hydra.sweep.subdir unless each of jobs (their overrides, in job
    order; numbered from 0) gets a distinct folder inside the sweep folder. The default,
    each job's number, is not resolved job by job."""
    raw = OmegaConf.to_container(cfg.hydra.sweep, resolve=False).get("subdir")
    if raw == DEFAULT:
        return
    work = copy.deepcopy(cfg)
    seen: dict[str, int] = {}
    for num, job in enumerate(jobs):
        subdir = _job_subdir(work, num, job)
        name = os.path.normpath(subdir)
        if os.path.isabs(name) or name == "." or name.split(os.sep)[0] == "..":
            raise ConfigError(
                KEY, f"{subdir!r} (job {num}) is not a folder inside the sweep folder; give "
                f"a name inside it, such as {DEFAULT}"
            )  # fmt: skip
        if name in seen:
            raise ConfigError(
                KEY, f"jobs {seen[name]} and {num} would write into one folder {subdir!r}; "
                f"name each job's, by {DEFAULT} or ${{hydra.job.override_dirname}}"
            )  # fmt: skip
        seen[name] = num
