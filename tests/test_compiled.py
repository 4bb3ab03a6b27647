"""train.compile=true (regexp/compiled.py) against the eager loops it replaces.

Tolerances: the compiled step does the same float32 arithmetic in another order (fused
kernels, the penalty as λ·Σw² per tensor instead of a norm squared), so the runs drift apart
by rounding only. Measured over 60 epochs of [8, 8]: one model against train(), 2e-7–6e-7
relative on every history value and 6e-8–3e-6 of the largest |w| of each weight tensor; a
stacked group against the eager train_group or against train(), up to 1e-5 and 2.5e-5 (the
stacked GEMMs round differently, and the division by √v + ε of Adam and RMSprop magnifies
rounding; the eager group is as far from train()). The tests allow 1e-4 on both, as
tests/test_batched.py does. L1 under Adam stays out: sign(w) near 0 makes Adam's rounding
chaotic (0.7 % apart after 100 epochs, see tests/test_batched.py), so L1 is checked under SGD.

Each distinct graph compiles once per process (seconds; less with inductor's on-disk cache
warm), so the fast tests share a few shapes; the optimizer family and mini-batches are `slow`.
"""

import dataclasses
import logging

import numpy as np
import pytest
import torch

from regexp.core.batched import can_batch, group_key, train_group
from regexp.core.config import compose
from regexp.core.data import make_data
from regexp.core.penalty import Penalty
from regexp.core.run import build_model, run_in
from regexp.core.settings import validate
from regexp.core.train import train

CPU = torch.device("cpu")
HISTORY_RTOL = 1e-4
WEIGHT_TOL = 1e-4  # times the largest |w| of the tensor


@pytest.fixture(autouse=True)
def quiet():
    logging.disable(logging.INFO)
    yield
    logging.disable(logging.NOTSET)


def _settings(*overrides, compiled=False):
    return validate(
        compose(["train.epochs=60", "hidden_units=[8,8]", f"train.compile={compiled}", *overrides])
    )


def _eager(s):
    return dataclasses.replace(s, train=dataclasses.replace(s.train, compile=False))


def _solo(s, data):
    model = build_model(s, data.n_in)
    result = train(model, data, s, Penalty(s.penalty, model, CPU))
    return model.state_dict(), result


def _assert_same_run(got, want):
    (state, result), (ref_state, ref) = got, want
    assert result.status == ref.status and result.epochs == ref.epochs
    assert list(result.history.columns) == list(ref.history.columns)
    np.testing.assert_allclose(
        result.history.to_numpy(), ref.history.to_numpy(), rtol=HISTORY_RTOL, atol=1e-12
    )
    if ref.status == "diverged":  # the weights are inf or NaN by then
        return
    for key, value in ref_state.items():
        tol = WEIGHT_TOL * value.abs().max().item() + 1e-9
        assert (state[key] - value).abs().max().item() <= tol, key


@pytest.mark.parametrize(
    "overrides",
    [
        ["optimizer=adam"],
        ["optimizer=adam", "penalty=l2", "penalty.lam=[0.01,0.0,0.002]", "penalty.biases=true"],
        [
            "optimizer=sgd",
            "optimizer.lr=0.05",
            "penalty=l1_l2",
            "penalty.lam=[0.01,0.001,0.0]",
            "penalty.l1_lam=[0.001,0.0,0.002]",
        ],
    ],
    ids=["adam", "adam-l2-per-layer", "sgd-l1_l2-per-layer"],
)
def test_compiled_train_matches_eager(overrides):
    s = _settings(*overrides, compiled=True)
    data = make_data(s.data)
    _assert_same_run(_solo(s, data), _solo(_eager(s), data))


def test_compiled_run_writes_a_complete_folder(tmp_path, cfg_of):
    # the graph of the "adam" case above: no new compile
    m = run_in(tmp_path, cfg_of("hidden_units=[8,8]", "train.compile=true", epochs=60))
    assert m["status"] == "ok"
    assert (tmp_path / "weights.safetensors").exists()


def test_compile_jobs_batch_but_apart_from_eager_ones():
    s = _settings(compiled=True)
    assert can_batch(s)
    assert group_key(s) != group_key(_eager(s))


def test_compiled_group_matches_eager_group():
    jobs = [  # seeds × λ (per layer too) × learning rates
        _settings(f"seed={seed}", f"optimizer.lr={lr}", f"penalty={pen}", f"penalty.lam={lam}")
        if pen != "none"
        else _settings(f"seed={seed}", f"optimizer.lr={lr}")
        for seed, pen, lam, lr in [
            (1, "l2", 0.01, 0.01),
            (2, "l2", 0.001, 0.01),
            (3, "none", 0.0, 0.005),
            (5, "l2", "[0.01,0.0,0.001]", 0.02),
        ]
    ]
    compiled = [
        dataclasses.replace(s, train=dataclasses.replace(s.train, compile=True)) for s in jobs
    ]
    data = make_data(jobs[0].data)
    got = train_group(compiled, [build_model(s, 1) for s in jobs], data, CPU)
    want = train_group(jobs, [build_model(s, 1) for s in jobs], data, CPU)
    for g, w in zip(got, want):
        _assert_same_run(g, w)


def test_a_diverging_member_of_a_compiled_group():
    jobs = [
        _settings("optimizer=sgd", f"optimizer.lr={lr}", f"seed={seed}", compiled=True)
        for seed, lr in [(1, 0.05), (2, 1e6), (3, 0.05)]
    ]
    data = make_data(jobs[0].data)
    results = train_group(jobs, [build_model(s, 1) for s in jobs], data, CPU)
    assert [r.status for _, r in results] == ["ok", "diverged", "ok"]
    assert results[1][1].epochs < 60
    for s, got in zip(jobs, results):  # each as its own eager run: same weights, same stop
        _assert_same_run(got, _solo(_eager(s), data))


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ["optimizer=momentum"],
        ["optimizer=momentum", "optimizer.bias_correction=true"],
        ["optimizer=rmsprop", "penalty=l2"],
        ["optimizer=adam", "optimizer.bias_correction=false"],
        # mini-batches: a second graph for the last, smaller batch (100 = 3 × 32 + 4)
        ["data=classification", "data.n_train=100", "data.n_val=300", "train.batch_size=32"],
    ],
)
def test_optimizer_family_and_mini_batches(overrides):
    s = _settings(*overrides, compiled=True)
    data = make_data(s.data)
    _assert_same_run(_solo(s, data), _solo(_eager(s), data))
    jobs = [dataclasses.replace(s, seed=seed) for seed in (1, 2)]
    got = train_group(jobs, [build_model(j, data.n_in) for j in jobs], data, CPU)
    for g, j in zip(got, jobs):
        _assert_same_run(g, _solo(_eager(j), data))
