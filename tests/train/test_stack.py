"""regexp.train.stack: models of one depth but different widths, and on different data draws,
in one padded buffer keep each model's own numbers: its init, its penalty, its gradients, its
update and its optimizer state equal those of the model trained alone. The padding is exactly
0 throughout; the rest agrees to float precision (sums over a padded layer add their terms in
another order): 1e-6 relative here."""

import pytest
import torch

from regexp.train.data import make_data, stack
from regexp.train.loss import PenaltyTable, objective, penalty
from regexp.train.model import MLP, seeded_layers
from regexp.train.stack import ROW_ALIGN, Stack
from regexp.train.steps import EagerStep
from tests.conftest import settings

pytestmark = pytest.mark.usefixtures("quiet")

# (hidden units, seed, data.seed): widths differ per layer, so each layer is padded
MODELS = [([3, 4], 1, 1), ([6, 2], 2, 2), ([1, 1], 3, 1), ([6, 4], 4, 3)]


def jobs(*extra: str) -> list:
    return [
        settings(f"hidden_units={list(h)}", f"seed={s}", f"data.seed={d}", *extra)
        for h, s, d in MODELS
    ]


def widths(s) -> list[int]:
    return [1, *s.hidden_units, 1]


def stack_of(members: list) -> Stack:
    inits = [seeded_layers(widths(s), s.seed) for s in members]
    return Stack([widths(s) for s in members], inits, "cpu")


def test_each_model_starts_from_its_own_init_and_its_padding_from_zero():
    members = jobs()
    program = stack_of(members)
    assert program.padded and [p.shape[1:] for p in program.params[::2]] == [(1, 6), (6, 4), (4, 1)]
    for k, s in enumerate(members):
        alone = MLP(1, s.hidden_units).init_seeded(s.seed).state_dict()
        mine = program.state_dict(k)
        assert mine.keys() == alone.keys()
        for key in alone:
            assert torch.equal(mine[key], alone[key]), key
    own = sum(sum((a + 1) * b for a, b in zip(widths(s), widths(s)[1:])) for s in members)
    assert program.mask.sum().item() == own  # the mask marks exactly each model's own entries
    assert torch.equal(program.theta * (1 - program.mask), torch.zeros_like(program.theta))


def test_padding_adds_nothing_to_a_models_penalty():
    members = jobs("penalty=l1_l2", "penalty.lam=[0.01,0.002,0.1]", "penalty.biases=true")
    program = stack_of(members)
    table = PenaltyTable.of([s.penalty for s in members], 3, torch.device("cpu"))
    pen = penalty(program.params, table)
    for k, s in enumerate(members):
        alone = stack_of([s])
        table_k = PenaltyTable.of([s.penalty], 3, torch.device("cpu"))
        assert pen[k].item() == pytest.approx(penalty(alone.params, table_k).item(), rel=1e-6)


def _own(program: Stack, k: int, flat: torch.Tensor) -> list[torch.Tensor]:
    """Model k's entries of each layer of a [K, P] buffer laid out like program.theta."""
    return [view[k][keep] for view, keep in zip(program.views(flat), program._own(k))]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_each_models_gradients_are_its_own_and_its_padding_gets_none(activation):
    members = jobs(f"activation={activation}", "penalty=l2", "penalty.lam=0.01")
    data = stack([make_data(s.data) for s in members])
    program = stack_of(members)
    table = PenaltyTable.of([s.penalty for s in members], 3, torch.device("cpu"))
    leaves = [p.detach().requires_grad_() for p in program.params]
    total, _ = objective(leaves, data.x_train, data.y_train, "regression", activation, table)
    grads = torch.cat([g.flatten(1) for g in torch.autograd.grad(total, leaves)], 1)
    mask = program.mask[:, : program.used]  # a row's alignment padding has no gradient
    if activation == "sigmoid":  # sigmoid(0) = 0.5: a padded unit's outgoing weights would move
        assert (grads * (1 - mask)).abs().max() > 0
    masked = grads * mask  # what the engine's step keeps
    for k, s in enumerate(members):
        alone = stack_of([s])
        mine = make_data(s.data)
        leaves_k = [p.detach().requires_grad_() for p in alone.params]
        table_k = PenaltyTable.of([s.penalty], 3, torch.device("cpu"))
        total_k, _ = objective(leaves_k, mine.x_train, mine.y_train, "regression", activation,
                               table_k)  # fmt: skip
        for got, want in zip(_own(program, k, masked), torch.autograd.grad(total_k, leaves_k)):
            torch.testing.assert_close(got, want[0], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("optimizer", "activation", "pen"),
    [
        ("adam", "relu", "l2"),
        ("rmsprop", "sigmoid", "l2"),
        ("momentum", "tanh", "l1"),
        ("sgd", "sigmoid", "l1_l2"),
    ],
)
def test_each_models_updates_and_optimizer_state_are_its_own(optimizer, activation, pen):
    """Ten steps of the engine's EagerStep: each model's weights, m and v equal its own alone;
    the padding of all three is exactly 0. (RMSprop's m is the fused kernel's scratch: g.)
    L1 under SGD-type updates only: sign(w) near 0 makes Adam's rounding chaotic."""
    members = jobs(f"optimizer={optimizer}", f"activation={activation}", f"penalty={pen}",
                      "penalty.lam=0.001", "optimizer.lr=0.01")  # fmt: skip
    data = stack([make_data(s.data) for s in members])

    def train(members_: list, x, y) -> tuple[Stack, EagerStep]:
        program = stack_of(members_)
        table = PenaltyTable.of([s.penalty for s in members_], 3, torch.device("cpu"))
        step = EagerStep(program, members_, table, "regression")
        for _ in range(10):
            step(x, y)
        return program, step

    program, step = train(members, data.x_train, data.y_train)
    pad = 1 - program.mask
    for state in (program.theta, step.m, step.v):
        if state is not None:
            assert torch.equal(state * pad, torch.zeros_like(state))
    for k, s in enumerate(members):
        mine = make_data(s.data)
        alone, alone_step = train([s], mine.x_train, mine.y_train)
        # m and v average gradients, whose entries near 0 carry the weights' rounding
        for ours, theirs, tol in ((program.theta, alone.theta, 1e-5), (step.m, alone_step.m, 1e-4),
                                  (step.v, alone_step.v, 1e-4)):  # fmt: skip
            if ours is None:
                continue
            scale = theirs.abs().max().item()
            for got, want in zip(_own(program, k, ours), alone.views(theirs)):
                torch.testing.assert_close(got, want[0], rtol=tol, atol=tol * scale)


def test_a_row_is_whole_vectors_long_and_its_alignment_padding_stays_zero():
    inits = [seeded_layers([1, 32, 1], seed) for seed in (1, 2, 3)]
    program = Stack([1, 32, 1], inits, "cpu")
    assert program.used == 97 and program.theta.shape == (3, 112) and 112 % ROW_ALIGN == 0
    assert (program.theta[:, 97:] == 0).all()
    assert [tuple(p.shape) for p in program.params] == [
        (3, 1, 32),
        (3, 1, 32),
        (3, 32, 1),
        (3, 1, 1),
    ]
    program.keep([2, 0])
    assert program.state_dict(0)["layers.1.bias"].item() == inits[2][3].item()
