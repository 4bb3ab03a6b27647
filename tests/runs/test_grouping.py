"""regexp.runs.grouping: which jobs train as one program (group_key) and a launcher's units of
work: groups chunked to memory and max_group, the rest one job a unit, every job once."""

from dataclasses import replace

import pytest

from regexp.config.settings import PenaltySettings
from regexp.runs.grouping import can_batch, chunk_size, group_key, plan_units
from tests.conftest import settings


@pytest.fixture(scope="module")
def base():
    return settings("hidden_units=[4]", "optimizer=adam")  # 1 -> 4 -> 1: 13 parameters


def _search(s):
    return replace(s, init=replace(s.init, strategy="search"))


def test_jobs_that_differ_in_seed_penalty_or_optimizer_numbers_share_a_key(base):
    alike = [
        replace(base, seed=base.seed + 1),
        replace(base, penalty=PenaltySettings("l2", lam=(0.1, 0.01), biases=True)),
        replace(base, optimizer=replace(base.optimizer, lr=0.5, beta1=0.5, beta2=0.9, eps=1e-3)),
        replace(base, optimizer=replace(base.optimizer, bias_correction=False)),
        replace(base, name="other", plots=replace(base.plots, enabled=not base.plots.enabled)),
    ]
    assert {group_key(s) for s in alike} == {group_key(base)}


@pytest.mark.parametrize(
    "change",
    [
        lambda s: replace(s, hidden_units=(5,)),
        lambda s: replace(s, activation="tanh"),
        lambda s: replace(s, device="cpu" if s.device != "cpu" else "auto"),
        lambda s: replace(s, optimizer=replace(s.optimizer, name="rmsprop")),
        lambda s: replace(s, data=replace(s.data, seed=s.data.seed + 1)),
        lambda s: replace(s, data=replace(s.data, noise=0.5)),
        lambda s: replace(s, train=replace(s.train, epochs=s.train.epochs + 1)),
        lambda s: replace(s, train=replace(s.train, batch_size=8)),
        lambda s: replace(s, train=replace(s.train, eval_every=7)),
        lambda s: replace(s, train=replace(s.train, threads=2)),
        lambda s: replace(s, train=replace(s.train, compile=True)),
        _search,
    ],
)
def test_jobs_that_differ_in_data_architecture_or_schedule_do_not(base, change):
    assert group_key(change(base)) != group_key(base)


def test_only_default_inits_batch(base):
    assert can_batch(base) and not can_batch(_search(base))


def test_chunk_size_counts_parameters_grads_averages_and_activations():
    per_model = 4 * (4 * 13 + 3 * 4 * 1000)  # bytes: 4 copies of the weights, 3 activations
    assert chunk_size(13, 4, 1000, memory_mb=1) == 2**20 // per_model
    assert chunk_size(13, 4, 1000, memory_mb=10 * per_model / 2**20) == 10
    assert chunk_size(10**9, 1024, 10**6, memory_mb=1) == 1  # at least one model


def test_units_group_alike_jobs_and_leave_the_rest_alone(base):
    wide = replace(base, hidden_units=(8,))
    jobs = [
        base,  # 0: group A
        wide,  # 1: group B
        replace(base, seed=2),  # 2: A
        None,  # 3: did not load: alone
        _search(base),  # 4: searched init: alone
        replace(base, seed=3),  # 5: A
        replace(base, seed=4),  # 6: A
        replace(wide, seed=2),  # 7: B
    ]
    units = plan_units(jobs, memory_mb=1024, max_group=2, min_group=2, max_params=10**6)
    assert units == [[0, 2], [5, 6], [1, 7], [3], [4]]
    big = plan_units(jobs, memory_mb=1024, max_group=64, min_group=2, max_params=10**6)
    assert big == [[0, 2, 5, 6], [1, 7], [3], [4]]
    assert sorted(i for unit in big for i in unit) == list(range(len(jobs)))


def test_small_groups_and_big_models_run_one_by_one(base):
    jobs = [base, replace(base, seed=2), replace(base, seed=3), replace(base, hidden_units=(8,))]
    few = plan_units(jobs, memory_mb=1024, max_group=64, min_group=3, max_params=10**6)
    assert few == [[0, 1, 2], [3]]
    big = plan_units(jobs, memory_mb=1024, max_group=64, min_group=2, max_params=12)
    assert big == [[0], [1], [2], [3]]  # 13 parameters > 12


def test_a_group_is_chunked_to_the_memory_budget(base):
    jobs = [replace(base, seed=i) for i in range(5)]
    rows = max(base.data.n_train, base.data.n_val)
    two = 2 * 4 * (4 * 13 + 3 * 4 * rows) / 2**20  # room for exactly two models
    units = plan_units(jobs, memory_mb=two, max_group=64, min_group=2, max_params=10**6)
    assert units == [[0, 1], [2, 3], [4]]
