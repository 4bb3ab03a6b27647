"""Torch threads: per job for sweeps whose launcher runs several jobs at once (and the GPU),
per program for small models (threads_for), and the cores this process may use.

Called at the start of each job (regexp.runs.job.run_job). joblib runs n_jobs processes on one
machine: each gets cores // n_jobs torch threads, so jobs x threads never oversubscribes the
cores, and with several GPUs job k trains on GPU k mod #GPUs instead of all on GPU 0.
submitit and Ray give each job its own cores (cpus_per_task, num_cpus) and GPUs (through
CUDA_VISIBLE_DEVICES), so only the thread count follows them. The batched and basic
launchers run one job at a time and keep torch's defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

from regexp.system.pools import cpu_count

log = logging.getLogger("regexp")


def _joblib_workers(n_jobs: Any, cores: int) -> int:
    # joblib's convention: -1 = every core, -2 = all but one, ...; None = 1.
    if not isinstance(n_jobs, int) or n_jobs == 0:
        return 1
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def plan(launcher: Mapping[str, Any], cores: int) -> tuple[int | None, bool]:
    """(torch threads for one job or None to leave torch alone, whether jobs share the GPUs)."""
    target = str(launcher.get("_target_", ""))
    if "hydra_joblib_launcher" in target:
        workers = _joblib_workers(launcher.get("n_jobs", -1), cores)
        return max(1, cores // workers), workers > 1
    if "hydra_submitit_launcher" in target:
        cpus = launcher.get("cpus_per_task")
        return (cpus if isinstance(cpus, int) and cpus > 0 else None), False
    if "hydra_ray_launcher" in target:
        cpus = (launcher.get("ray") or {}).get("remote", {}).get("num_cpus")
        return (max(1, int(cpus)) if isinstance(cpus, int | float) and cpus > 0 else None), False
    return None, False


def configure_job(launcher: Mapping[str, Any], job_num: int) -> None:
    """Set this job's torch threads and CUDA device from the sweep's launcher config."""

    try:
        threads, share_gpus = plan(launcher, cpu_count())
        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if share_gpus and torch.cuda.is_available() and torch.cuda.device_count() > 1:
            gpu = job_num % torch.cuda.device_count()
            torch.cuda.set_device(gpu)  # device "cuda" (device=auto) now means this GPU
            log.info("job %d: %s torch threads, GPU %d", job_num, threads, gpu)
    except Exception as err:  # a tuning step: the job still runs with torch's defaults
        log.warning("job %d: could not set threads/GPU (%s)", job_num, err)


SMALL_MODEL = 200_000  # parameters; below this a step is per-op overhead, not arithmetic


@contextmanager
def threads_for(n_params: int, threads: int | None = None) -> Iterator[None]:
    """train.threads, or by default one intra-op thread for small models: extra threads only
    add barrier waits, which a busy machine makes long (docs/speed.md, trick 14d)."""

    before = torch.get_num_threads()
    if threads is None and n_params < SMALL_MODEL:
        threads = 1
    if threads is not None and threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
