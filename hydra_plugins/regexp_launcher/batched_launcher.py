"""Hydra launcher `hydra/launcher=batched`: sweep jobs that can share a program train as one.

Jobs whose validated settings agree on data, architecture and batch schedule (regexp.batched's
group_key) are trained together in chunks sized to memory; every job then goes through
Hydra's own run_job, so each still gets its folder, .hydra/ and callbacks, with the weights the
group trained. Other jobs, and any group whose stacked training fails, run one by one.
Hydra refuses launchers outside the hydra_plugins namespace, hence this package.
"""

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)


@dataclass
class BatchedLauncherConf:
    _target_: str = "hydra_plugins.regexp_launcher.batched_launcher.BatchedLauncher"
    memory_mb: int = 2048  # budget for one stacked chunk (params, grads, averages, activations)
    max_group: int = 256  # most models in one stacked program
    min_group: int = 2  # smaller groups run one by one
    # Models this large are memory bound: stacked, a 5 x 1024 step ran ~2x slower on 2 cores
    max_params: int = 1_000_000


ConfigStore.instance().store(
    group="hydra/launcher", name="batched", node=BatchedLauncherConf, provider="regexp"
)


@dataclass
class _Job:
    idx: int
    overrides: list[str]
    config: DictConfig
    settings: Any  # regexp.settings.Settings, or None when it does not validate


class BatchedLauncher(Launcher):
    def __init__(
        self,
        memory_mb: int = 2048,
        max_group: int = 256,
        min_group: int = 2,
        max_params: int = 1_000_000,
    ) -> None:
        self.memory_mb, self.max_group, self.min_group = memory_mb, max_group, min_group
        self.max_params = max_params
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self._bases: dict[tuple[str, ...], DictConfig] = {}  # composed once per group choice

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def _load(self, idx: int, overrides: Sequence[str]) -> _Job:
        from regexp.settings import validate

        assert self.hydra_context is not None and self.config is not None
        cfg = self._sweep_config(list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.id = idx
            cfg.hydra.job.num = idx
        try:
            settings = validate(cfg)
        except Exception:  # the job will fail in its own folder, with its own message
            settings = None
        return _Job(idx, list(overrides), cfg, settings)

    def _sweep_config(self, overrides: list[str]) -> DictConfig:
        """Hydra's load_sweep_config, composing once per choice of config groups.

        A full compose costs ~0.2 s a job, more than training a small model. Jobs that differ
        only in plain KEY=VALUE overrides get a copy of their base config with those applied as
        Hydra applies them, and Hydra's record of the job's overrides. Anything else, or any
        error, goes through Hydra's own path.
        """
        from hydra._internal.config_loader_impl import get_overrides_dirname
        from hydra.core.override_parser.overrides_parser import OverridesParser

        from regexp.configure import is_value_override

        loader = self.hydra_context.config_loader
        try:
            parsed = OverridesParser.create().parse_overrides(overrides)
            values = [o for o in parsed if is_value_override(o)]
            base_key = tuple(o.input_line for o in parsed if o not in values)
            if base_key not in self._bases:
                self._bases[base_key] = loader.load_sweep_config(self.config, list(base_key))
            cfg = copy.deepcopy(self._bases[base_key])
            for o in values:
                OmegaConf.update(cfg, o.key_or_group, o.value(), merge=True)
            app = [o for o in parsed if not o.is_hydra_override()]
            with open_dict(cfg.hydra):
                cfg.hydra.overrides.task = [o.input_line for o in app]
                dirname = cfg.hydra.job.config.override_dirname
                cfg.hydra.job.override_dirname = get_overrides_dirname(
                    overrides=app,
                    kv_sep=dirname.kv_sep,
                    item_sep=dirname.item_sep,
                    exclude_keys=dirname.exclude_keys,
                )
            OmegaConf.copy_cache(from_config=self.config, to_config=cfg)
            return cfg
        except Exception:
            return loader.load_sweep_config(self.config, overrides)

    def _run(self, job: _Job, trainer: Any = None, extra: dict | None = None) -> JobReturn:
        from regexp.experiment import run_in, train_one

        def task(cfg: DictConfig) -> dict:
            from hydra.core.hydra_config import HydraConfig

            out = Path(HydraConfig.get().runtime.output_dir)
            return run_in(out, cfg, trainer or train_one, extra)

        assert self.hydra_context is not None and self.config is not None
        ret = run_job(
            hydra_context=self.hydra_context,
            task_function=task,
            config=job.config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return ret

    def _run_group(self, jobs: list[_Job]) -> list[JobReturn]:
        """Train the group's models as one program, then write each job's folder."""
        from regexp.batched import train_group
        from regexp.data import make_data
        from regexp.experiment import build_model, pick_device

        first = jobs[0].settings
        try:  # building counts too: a job that raises here must not take the group down
            device = pick_device(first.device)
            data = make_data(first.data).to(device)
            models = [build_model(j.settings, data.n_in) for j in jobs]
            results = train_group([j.settings for j in jobs], models, data, device)
        except Exception as err:  # e.g. out of memory: the jobs still run, one by one
            log.warning(
                "batched training of %d jobs failed (%s); running them one by one", len(jobs), err
            )
            return [self._run(j) for j in jobs]
        returns = []
        for job, (state, result) in zip(jobs, results):

            def replay(model, data, settings, penalty, state=state, result=result):
                model.load_state_dict(state)
                return result

            returns.append(self._run(job, replay, {"batched": len(jobs)}))
        return returns

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from regexp.batched import can_batch, chunk_size, group_key
        from regexp.data import input_dim

        setup_globals()
        assert self.config is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs = [self._load(initial_job_idx + i, o) for i, o in enumerate(job_overrides)]
        groups: dict[tuple, list[_Job]] = {}
        for job in jobs:
            if job.settings is not None and can_batch(job.settings):
                groups.setdefault(group_key(job.settings), []).append(job)
            else:
                groups[("alone", job.idx)] = [job]
        log.info("Launching %d jobs in %d groups (batched)", len(jobs), len(groups))
        returns: dict[int, JobReturn] = {}
        for members in groups.values():
            s = members[0].settings
            widths = [input_dim(s.data), *s.hidden_units, 1] if s is not None else [0, 0]
            size = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
            if len(members) < self.min_group or s is None or size > self.max_params:
                for job in members:
                    log.info("\t#%d : %s", job.idx, " ".join(filter_overrides(job.overrides)))
                    returns[job.idx] = self._run(job)
                continue
            width = max(s.hidden_units, default=1)
            rows = max(s.data.n_train, s.data.n_val)
            step = min(self.max_group, chunk_size(size, width, rows, self.memory_mb))
            for start in range(0, len(members), step):
                chunk = members[start : start + step]
                log.info(
                    "\t#%s : %d jobs as one program",
                    ",".join(str(j.idx) for j in chunk),
                    len(chunk),
                )
                for job, ret in zip(chunk, self._run_group(chunk)):
                    returns[job.idx] = ret
        return [returns[j.idx] for j in jobs]
