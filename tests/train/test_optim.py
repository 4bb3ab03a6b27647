"""regexp.train.optim follows torch.optim step for step; its bias correction is the formula's."""

import copy
import math

import numpy as np
import pytest
import torch

from regexp.train.optim import EWMAOptimizer, build_optimizer

STEPS = 30
TOL = 1e-6


def small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


X = torch.linspace(-1, 1, 20).unsqueeze(1)
Y = torch.sin(3 * X)


def trajectory(make, prepare=None, steps=STEPS) -> torch.Tensor:
    """All parameters after each of `steps` full-batch steps, as rows."""
    net = small_net()
    opt = make(net.parameters())
    if prepare:
        prepare(net, opt)
    rows = []
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(X), Y).backward()
        opt.step()
        rows.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    return torch.stack(rows)


def zero_momentum_buffers(net, opt):
    # torch starts its buffer at g_1; the article's average starts at v_0 = 0.
    for p in net.parameters():
        opt.state[p]["momentum_buffer"] = torch.zeros_like(p)


CASES = {
    "sgd": (
        lambda p, f: build_optimizer(p, "sgd", 0.1, 0.9, 0.999, 1e-8, None) if f is None else
        EWMAOptimizer(p, 0.1, fused=f),
        lambda p: torch.optim.SGD(p, lr=0.1),
        None,
    ),
    "momentum": (
        lambda p, f: EWMAOptimizer(p, 0.1, beta1=0.9, fused=f),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.9),
        zero_momentum_buffers,
    ),
    "rmsprop": (
        lambda p, f: EWMAOptimizer(p, 1e-3, beta2=0.9, eps=1e-8, fused=f),
        lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-8),
        None,
    ),
    "adam": (
        lambda p, f: EWMAOptimizer(
            p, 0.01, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=(True, True), fused=f
        ),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
        None,
    ),
    "adam+weight_decay": (
        lambda p, f: EWMAOptimizer(
            p, 0.01, beta1=0.8, beta2=0.99, eps=1e-7, bias_correction=(True, True),
            weight_decay=0.05, fused=f,
        ),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.05),
        None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
@pytest.mark.parametrize("case", list(CASES))
def test_follows_torch_step_for_step(case, fused):
    ours, theirs, prepare = CASES[case]
    got = trajectory(lambda p: ours(p, fused))
    want = trajectory(theirs, prepare)
    assert (got - want).abs().max().item() <= TOL


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam"])
def test_build_optimizer_matches_the_explicit_member(name):
    got = trajectory(lambda p: build_optimizer(p, name, 1e-3, 0.9, 0.99, 1e-8, None))
    uses = {"momentum": dict(beta1=0.9), "rmsprop": dict(beta2=0.99)}.get(name, {})
    if name == "adam":
        uses = dict(beta1=0.9, beta2=0.99, bias_correction=(True, True))
    want = trajectory(lambda p: EWMAOptimizer(p, 1e-3, eps=1e-8, **uses, fused=False))
    assert (got - want).abs().max().item() <= TOL


def test_corrected_momentum_takes_torchs_first_step():
    # m̂_1 = (1 − β) g_1 / (1 − β) = g_1: torch's buffer start, so step 1 agrees exactly.
    got = trajectory(lambda p: EWMAOptimizer(p, 0.1, beta1=0.9, bias_correction=(True, True)))
    want = trajectory(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.9))
    assert (got[0] - want[0]).abs().max().item() <= TOL
    assert (got[5] - want[5]).abs().max().item() > 1e-3  # later the two averages differ


def adam_by_formula(grads, lr, beta1, beta2, eps, corrected):
    """Parameter after each step for a given gradient sequence, in float64."""
    theta, m, v, out = np.zeros_like(grads[0]), 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t) if corrected else m
        v_hat = v / (1 - beta2**t) if corrected else v
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return np.stack(out)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
def test_adam_without_bias_correction_differs_as_predicted(fused):
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    grads = np.random.default_rng(0).normal(size=(5, 7))  # the same gradients for both

    def run(make):
        p = torch.zeros(7, requires_grad=True)
        opt = make([p])
        out = []
        for g in grads:
            p.grad = torch.tensor(g, dtype=torch.float32)
            opt.step()
            out.append(p.detach().numpy().copy())
        return np.stack(out)

    ours = run(
        lambda p: (
            build_optimizer(p, "adam", lr, beta1, beta2, eps, bias_correction=False)
            if fused
            else EWMAOptimizer(p, lr, beta1=beta1, beta2=beta2, eps=eps, fused=False)
        )
    )
    torchs = run(lambda p: torch.optim.Adam(p, lr=lr, betas=(beta1, beta2), eps=eps))
    np.testing.assert_allclose(ours, adam_by_formula(grads, lr, beta1, beta2, eps, False), atol=TOL)
    np.testing.assert_allclose(
        torchs, adam_by_formula(grads, lr, beta1, beta2, eps, True), atol=TOL
    )
    # Step 1: torch moves lr·g/(|g| + ε) ≈ lr per coordinate; uncorrected Adam moves
    # lr·(1 − β1)·g/(√(1 − β2)·|g| + ε), (1 − β1)/√(1 − β2) ≈ 3.16 times as far.
    ratio = ours[0] / torchs[0]
    predicted = (1 - beta1) / math.sqrt(1 - beta2)
    np.testing.assert_allclose(ratio, predicted, rtol=1e-4)


@pytest.mark.parametrize("bias_correction", [(True, False), (False, True), (False, False)])
def test_fused_and_foreach_agree_for_every_correction(bias_correction):
    def make(fused):
        return lambda p: EWMAOptimizer(
            p, 1e-3, beta1=0.9, beta2=0.99, eps=1e-3, bias_correction=bias_correction, fused=fused
        )

    assert (trajectory(make(True)) - trajectory(make(False))).abs().max().item() <= TOL


def test_parameters_without_gradients_keep_their_own_step_count():
    def run(fused):
        a, b = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
        opt = build_optimizer([a, b], "adam", 0.1, 0.9, 0.99, 1e-8, None)
        opt.param_groups[0]["fused"] = fused
        for t in range(4):
            opt.zero_grad()
            loss = (a**2).sum() + ((b**2).sum() if t >= 2 else 0)  # b has no grad at t = 0, 1
            loss.backward()
            opt.step()
        return opt, torch.cat([a.detach(), b.detach()])

    opt, fused = run(True)
    _, foreach = run(False)
    assert [s["step"] for s in opt.state.values()] == [4, 2]
    assert (fused - foreach).abs().max().item() <= TOL
    # b took two corrected Adam steps with a constant-sign gradient: ≈ lr each.
    assert fused[3:].tolist() == pytest.approx([0.8, 0.8], abs=1e-3)


def test_state_dict_round_trip_continues_identically():
    net = small_net()
    opt = build_optimizer(net.parameters(), "adam", 0.01, 0.9, 0.999, 1e-8, False)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(X), Y).backward()
        opt.step()
    clone = small_net()
    clone.load_state_dict(net.state_dict())
    opt2 = build_optimizer(clone.parameters(), "adam", 0.01, 0.9, 0.999, 1e-8, False)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # as if saved and reloaded
    for model, o in ((net, opt), (clone, opt2)):
        o.zero_grad()
        torch.nn.functional.mse_loss(model(X), Y).backward()
        o.step()
    for p, q in zip(net.parameters(), clone.parameters()):
        assert torch.equal(p, q)


def test_defaults_and_errors():
    p = [torch.zeros(1, requires_grad=True)]
    assert build_optimizer(p, "adam", 0.1, 0.9, 0.999, 1e-8, None).defaults["bias_correction"] == (
        True,
        True,
    )
    for name in ("sgd", "momentum", "rmsprop"):
        opt = build_optimizer(p, name, 0.1, 0.9, 0.999, 1e-8, None)
        assert opt.defaults["bias_correction"] == (False, False)
    assert build_optimizer(p, "momentum", 0.1, 0.9, 0.999, 1e-8, None).defaults["beta2"] is None
    with pytest.raises(ValueError, match="optimizer.name"):
        build_optimizer(p, "adagrad", 0.1, 0.9, 0.999, 1e-8, None)
    with pytest.raises(ValueError, match="optimizer.beta1"):
        build_optimizer(p, "adam", 0.1, 1.0, 0.999, 1e-8, None)
    with pytest.raises(ValueError, match="optimizer.beta2"):
        build_optimizer(p, "rmsprop", 0.1, 0.9, -0.1, 1e-8, None)
    with pytest.raises(ValueError, match="optimizer.lr"):
        build_optimizer(p, "sgd", float("nan"), 0.9, 0.999, 1e-8, None)
    with pytest.raises(ValueError, match="optimizer.eps"):
        build_optimizer(p, "adam", 0.1, 0.9, 0.999, -1.0, None)
