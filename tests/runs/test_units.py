"""regexp.runs.units: which jobs share a program, and the launcher's units of work."""

import dataclasses
import functools

import pytest

from regexp.runs.units import Unit, chunk_size, plan_units, stack_key
from tests.conftest import settings

LIMITS = dict(memory_mb=2048, max_group=256, min_group=2, max_params=1_000_000)


@functools.cache
def s(*overrides: str):
    return settings("plots.enabled=false", *overrides)


def job(hidden: tuple[int, ...] = (8,), seed: int = 1, data_seed: int | None = None):
    """s()'s settings with other widths and seeds (no compose: the grid has 128 jobs)."""
    base = s()
    data = base.data if data_seed is None else dataclasses.replace(base.data, seed=data_seed)
    return dataclasses.replace(base, hidden_units=hidden, seed=seed, data=data)


def test_widths_and_data_draws_share_a_key_and_depth_task_and_schedule_do_not():
    base = stack_key(s("hidden_units=[8]"))
    for same in (["hidden_units=[64]"], ["data.seed=5"], ["seed=3", "penalty=l2"]):
        assert stack_key(s("hidden_units=[8]", *same)) == base, same
    for other in (
        ["hidden_units=[8,8]"],
        ["activation=tanh"],
        ["data.n_train=40"],
        ["data.noise=0.3"],
        ["data=classification"],
        ["train.batch_size=16"],
        ["train.epochs=61"],
        ["optimizer=sgd"],
    ):
        assert stack_key(s("hidden_units=[8]", *other)) != base, other


def test_the_width_grid_trains_in_a_few_programs_covering_every_job_once():
    widths = [2, 4, 8, 16, 32, 64, 128, 256]
    jobs = [job((w,), k) for w in widths for k in range(16)]
    units = plan_units(jobs, **LIMITS)
    assert all(u.program for u in units) and len(units) < len(widths)
    assert sorted(i for u in units for i in u.jobs) == list(range(len(jobs)))
    by_width = {jobs[u.jobs[0]].hidden_units: {jobs[i].hidden_units for i in u.jobs} for u in units}
    assert by_width[(256,)] == {(256,)}  # the widest shares with no narrow model
    assert len(by_width[(2,)]) > 1  # the narrowest share a program


def test_three_widths_of_the_mission_train_as_two_programs():
    jobs = [job((w,)) for w in (2, 8, 1024)]
    assert plan_units(jobs, **LIMITS) == [Unit([0, 1], True), Unit([2], True)]


def test_data_draws_train_as_one_program_and_lone_jobs_stay_alone():
    draws = [job((16, 16), data_seed=d) for d in range(32)]
    assert plan_units(draws, **LIMITS) == [Unit(list(range(32)), True)]
    searched = s("init.strategy=search", "init.candidates=4")
    jobs = [job((4,)), job((1024, 1024)), searched, None, job((4,), 2)]
    units = plan_units(jobs, **LIMITS)
    assert Unit([0, 4], True) in units
    for i in (1, 2, 3):
        assert Unit([i], False) in units
    assert plan_units([s()], **LIMITS) == [Unit([0], False)]  # under min_group: Hydra's run_job


def test_programs_are_chunked_to_memory_with_each_models_own_draw_counted():
    shared = [job((4,), k) for k in range(64)]
    draws = [job((4,), data_seed=k) for k in range(64)]
    memory = dict(LIMITS, memory_mb=1)
    n_shared = max(len(u.jobs) for u in plan_units(shared, **memory))
    n_draws = max(len(u.jobs) for u in plan_units(draws, **memory))
    assert n_shared == chunk_size(job((4,)), 1) < 64
    assert n_draws == chunk_size(job((4,)), 1, own_data=True) < n_shared


@pytest.mark.parametrize("draws", [False, True])
def test_alike_jobs_keep_their_order(draws):
    seeds = (1, 2, 1)
    jobs = [
        job(h, 1 if draws else k, k if draws else None) for h, k in zip([(4,), (4,), (3,)], seeds)
    ]
    assert plan_units(jobs, **LIMITS) == [Unit([0, 1, 2], True)]
