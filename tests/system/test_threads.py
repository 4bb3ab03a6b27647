"""regexp.system.threads: per-job torch threads and GPUs under parallel launchers (jobs x
threads never oversubscribe the cores), threads_for's intra-op threads."""

from __future__ import annotations

import logging

import pytest
import torch

from regexp.system import threads


@pytest.mark.parametrize(
    ("launcher", "cores", "expected"),
    [
        (
            {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher", "n_jobs": -1},
            8,
            (1, True),
        ),
        (
            {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher", "n_jobs": 2},
            8,
            (4, True),
        ),
        (
            {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher", "n_jobs": -2},
            8,
            (1, True),
        ),
        (
            {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher", "n_jobs": 1},
            8,
            (8, False),
        ),
        (
            {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher", "n_jobs": 16},
            2,
            (1, True),
        ),
        (
            {
                "_target_": "hydra_plugins.hydra_submitit_launcher.x.SlurmLauncher",
                "cpus_per_task": 4,
            },
            64,
            (4, False),
        ),
        (
            {
                "_target_": "hydra_plugins.hydra_submitit_launcher.x.LocalLauncher",
                "cpus_per_task": None,
            },
            8,
            (None, False),
        ),
        (
            {
                "_target_": "hydra_plugins.hydra_ray_launcher.x.RayLauncher",
                "ray": {"remote": {"num_cpus": 2}},
            },
            8,
            (2, False),
        ),
        (
            {"_target_": "hydra_plugins.regexp_launcher.batched_launcher.BatchedLauncher"},
            8,
            (None, False),
        ),
    ],
)
def test_threads_per_job_never_oversubscribe(launcher, cores, expected):
    assert threads.plan(launcher, cores) == expected


def test_parallel_jobs_take_gpus_in_turn(monkeypatch):
    chosen: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher", "n_jobs": 3}
    for job in range(7):
        threads.configure_job(joblib, job)
    assert chosen == [0, 1, 2, 0, 1, 2, 0]
    threads.configure_job({"_target_": "...BatchedLauncher"}, 5)  # one job at a time: GPU 0
    assert chosen == [0, 1, 2, 0, 1, 2, 0]


@pytest.mark.parametrize(
    ("n_jobs", "workers"), [(None, 1), (0, 1), ("x", 1), (3, 3), (-1, 8), (-5, 4), (-7, 2), (-9, 1)]
)
def test_joblib_workers_follow_joblibs_convention(n_jobs, workers):
    """-1 = every core, -2 = all but one, ...; None = 1: 8 cores shared by the workers."""
    launcher = {
        "_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher",
        "n_jobs": n_jobs,
    }
    assert threads.plan(launcher, 8) == (8 // workers, workers > 1)


@pytest.mark.parametrize(
    ("remote", "expected"),
    [({"num_cpus": 1.5}, 1), ({"num_cpus": 0}, None), ({"num_cpus": "2"}, None), ({}, None)],
)
def test_ray_jobs_take_their_remote_cpus(remote, expected):
    launcher = {
        "_target_": "hydra_plugins.hydra_ray_launcher.x.RayLauncher",
        "ray": {"remote": remote},
    }
    assert threads.plan(launcher, 8) == (expected, False)


def test_a_job_sets_the_threads_its_launcher_allows(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher", "n_jobs": 4}
    threads.configure_job(joblib, 0)
    assert calls == [2]
    threads.configure_job({"_target_": "...BatchedLauncher"}, 0)  # torch's defaults kept
    assert calls == [2]


def test_a_job_whose_tuning_fails_still_runs_and_says_why(monkeypatch, caplog):
    def broken(launcher, cores):
        raise RuntimeError("no cores today")

    monkeypatch.setattr(threads, "plan", broken)
    with caplog.at_level(logging.WARNING, logger="regexp"):
        threads.configure_job({}, 3)  # no exception
    assert caplog.messages == ["job 3: could not set threads/GPU (no cores today)"]


@pytest.fixture
def three_threads():
    """torch on 3 threads during the test (a count no default here has), then as it was."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


def test_small_models_train_on_one_thread_and_the_count_comes_back(three_threads):
    with threads.threads_for(threads.SMALL_MODEL - 1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 3
    with pytest.raises(KeyError), threads.threads_for(10):
        raise KeyError("the count comes back after an error too")
    assert torch.get_num_threads() == 3


def test_big_models_keep_torchs_threads_and_train_threads_wins(three_threads):
    with threads.threads_for(threads.SMALL_MODEL):
        assert torch.get_num_threads() == 3
    with threads.threads_for(10, threads=2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 3
