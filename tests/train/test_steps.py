"""regexp.train.steps: each model's own step count, and the rows of a program changing under
a step (freeze, keep, place), eager and compiled alike. A model placed into a row after the
others took steps updates as it would alone: Adam's bias correction counts its own steps."""

import pytest
import torch

from regexp.train.data import make_data
from regexp.train.loss import PenaltyTable
from regexp.train.model import seeded_layers
from regexp.train.stack import Stack
from regexp.train.steps import CompiledStep, EagerStep
from tests.conftest import job

pytestmark = pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout")

WIDTHS = [1, 8, 8, 1]


def program(jobs, kind):
    stack = Stack([WIDTHS] * len(jobs), [seeded_layers(WIDTHS, s.seed) for s in jobs], "cpu")
    table = PenaltyTable.of([s.penalty for s in jobs], 3, torch.device("cpu"))
    return kind(stack, jobs, table, "regression")


def state(step, row):
    """(θ, m, v) of one row, whichever step keeps them."""
    theta = step.stack.theta[row].clone()
    if isinstance(step, EagerStep):
        return theta, step.m[row].clone(), step.v[row].clone()
    flat = [torch.cat([t[row].reshape(-1) for t in ts]) for ts in (step.ms, step.vs)]
    return theta, *flat


KINDS = [EagerStep, pytest.param(CompiledStep, marks=pytest.mark.slow)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_model_placed_after_others_took_steps_steps_as_alone(kind):
    """Rows 0 and 1 take 7 steps; row 1 is then frozen for 3 and row 0's neighbour gets a new
    model placed: 12 more steps of it equal 12 steps alone, row 0 equals 19 steps alone."""
    data = make_data(job("adam", 1, "none", 0.0, 0.01).data)
    x, y = data.x_train, data.y_train
    jobs = [job("adam", 1, "l2", 0.001, 0.01), job("adam", 2, "none", 0.0, 0.02)]
    new = job("adam", 7, "l2", 0.01, 0.005, "optimizer.beta2=0.99")
    step = program(jobs, kind)
    for _ in range(7):
        step(x, y)
    frozen = state(step, 1)
    step.freeze([1])
    for _ in range(3):
        step(x, y)
    for got, want in zip(state(step, 1), frozen):  # frozen: θ, m and v as they were
        assert torch.equal(got, want)
    step.place(1, new, WIDTHS, seeded_layers(WIDTHS, new.seed))
    for _ in range(12):
        step(x, y)
    for row, s, steps in ((0, jobs[0], 22), (1, new, 12)):
        alone = program([s], kind)
        for _ in range(steps):
            alone(x, y)
        for got, want in zip(state(step, row), state(alone, 0)):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_keep_drops_rows_and_the_rest_go_on_as_before(kind):
    data = make_data(job("adam", 1, "none", 0.0, 0.01).data)
    x, y = data.x_train, data.y_train
    jobs = [job("adam", seed, "l2", 0.001 * seed, 0.01) for seed in (1, 2, 3)]
    full, kept = program(jobs, kind), program(jobs, kind)
    for _ in range(5):
        full(x, y), kept(x, y)
    kept.freeze([1])
    kept.keep([0, 2])
    assert kept.stack.theta.shape[0] == 2 and kept.table.l2.shape[0] == 2
    for _ in range(5):
        full(x, y), kept(x, y)
    for row, was in ((0, 0), (1, 2)):
        for got, want in zip(state(kept, row), state(full, was)):
            torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-8)
