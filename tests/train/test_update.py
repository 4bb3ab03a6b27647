"""regexp.train.update against the textbook formulas, step by step in float64: the per-step
coefficients fold Adam's bias corrections (m̂ = m/(1-β1^t), v̂ = v/(1-β2^t), ε after √v̂),
every member of the family is the one formula, and the series EWMA (window 1/(1-β), bias
correction, non-finite points passing through)."""

import math

import numpy as np
import pytest
import torch

from regexp.train.update import FAMILY, coefficients, corrects_bias, ewma, ewma_update, window

LR, B1, B2, EPS = 0.01, 0.9, 0.999, 1e-7
STEPS = 6


def _grads(steps=STEPS, shape=(3, 4), seed=0):
    gen = torch.Generator().manual_seed(seed)
    # near-zero entries too: where ε's place after the square root matters most
    return [torch.randn(shape, generator=gen, dtype=torch.float64) * 10.0 ** -(t % 4)
            for t in range(steps)]  # fmt: skip


def _textbook(name, theta, grads, correct, lr=LR, beta1=B1, beta2=B2, eps=EPS):
    """The EWMA article's rules, written out: parameters after each step."""
    m, v, out = torch.zeros_like(theta), torch.zeros_like(theta), []
    theta = theta.clone()
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t) if correct else m
        v_hat = v / (1 - beta2**t) if correct else v
        step = {
            "sgd": g,
            "momentum": m_hat,
            "rmsprop": g / (v_hat.sqrt() + eps),
            "adam": m_hat / (v_hat.sqrt() + eps),
        }[name]
        theta = theta - lr * step
        out.append(theta.clone())
    return out


def _ours(name, theta, grads, correct, lr=LR, beta1=B1, beta2=B2, eps=EPS):
    uses_m, uses_v = FAMILY[name]
    theta = theta.clone()
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    out = []
    for t, g in enumerate(grads, start=1):
        lr_t, eps_t = coefficients(name, lr, eps, correct, beta1**t, beta2**t)
        ewma_update([theta], [g], [m] if uses_m else [], [v] if uses_v else [],
                    lr_t, beta1, beta2, eps_t)  # fmt: skip
        out.append(theta.clone())
    return out


@pytest.mark.parametrize("name", sorted(FAMILY))
@pytest.mark.parametrize("correct", [False, True])
def test_every_member_follows_its_textbook_rule_step_by_step(name, correct):
    theta = torch.randn(3, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    grads = _grads()
    ours, textbook = _ours(name, theta, grads, correct), _textbook(name, theta, grads, correct)
    for t, (got, want) in enumerate(zip(ours, textbook), start=1):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-15, msg=f"step {t}")
    assert (got - theta).abs().max() > 1e-4  # it moved: the steps were compared, not zeros


def test_the_coefficients_are_lr_sqrt_c2_over_c1_and_eps_sqrt_c2():
    for t in (1, 2, 10, 1000):
        c1, c2 = 1 - B1**t, 1 - B2**t
        lr_t, eps_t = coefficients("adam", LR, EPS, True, B1**t, B2**t)
        assert lr_t == pytest.approx(LR * math.sqrt(c2) / c1, rel=1e-14)
        assert eps_t == pytest.approx(EPS * math.sqrt(c2), rel=1e-14)
    # uncorrected, or a member without the average, leaves lr and ε as they are
    assert coefficients("adam", LR, EPS, False, B1, B2) == (LR, EPS)
    assert coefficients("sgd", LR, EPS, True, B1, B2) == (LR, EPS)
    lr_t, eps_t = coefficients("momentum", LR, EPS, True, B1**3, B2**3)
    assert (lr_t, eps_t) == (pytest.approx(LR / (1 - B1**3)), EPS)
    lr_t, eps_t = coefficients("rmsprop", LR, EPS, True, B1**3, B2**3)
    assert lr_t == pytest.approx(LR * math.sqrt(1 - B2**3)) and eps_t < EPS


def test_only_adam_corrects_the_bias_by_default():
    assert [corrects_bias(n, None) for n in ("sgd", "momentum", "rmsprop", "adam")] == [
        False, False, False, True
    ]  # fmt: skip
    assert corrects_bias("momentum", True) and not corrects_bias("adam", False)


def test_per_model_numbers_as_tensors_give_each_model_its_own_update():
    """Stacked models with their own lr, β's and correction: each row moves as it would alone."""
    k = 3
    lr = torch.tensor([0.01, 0.003, 0.05], dtype=torch.float64).view(k, 1, 1)
    beta1 = torch.tensor([0.9, 0.8, 0.5], dtype=torch.float64).view(k, 1, 1)
    beta2 = torch.tensor([0.999, 0.99, 0.9], dtype=torch.float64).view(k, 1, 1)
    eps = torch.full((k, 1, 1), 1e-7, dtype=torch.float64)
    correct = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64).view(k, 1, 1)
    theta = torch.randn(k, 2, 3, generator=torch.Generator().manual_seed(1))  # float32
    grads = [g.float() for g in _grads(shape=(k, 2, 3))]
    p, m, v = theta.clone(), torch.zeros_like(theta), torch.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        lr_t, eps_t = coefficients("adam", lr, eps, correct, beta1**t, beta2**t)
        ewma_update([p], [g], [m], [v], lr_t, beta1, beta2, eps_t)
    for i in range(k):
        want = _textbook("adam", theta[i].double(), [g[i].double() for g in grads],
                         bool(correct[i]), lr[i].item(), beta1[i].item(), beta2[i].item(),
                         1e-7)[-1]  # fmt: skip
        torch.testing.assert_close(p[i].double(), want, rtol=1e-5, atol=1e-7)


def test_the_first_average_starts_from_zero():
    """m_1 = (1 - β1) g_1 and v_1 = (1 - β2) g_1² (m_0 = v_0 = 0, no correction inside)."""
    g = torch.tensor([2.0, -4.0], dtype=torch.float64)
    p, m, v = (torch.zeros(2, dtype=torch.float64) for _ in range(3))
    ewma_update([p], [g], [m], [v], 0.1, 0.9, 0.99, 0.0)
    torch.testing.assert_close(m, 0.1 * g)
    torch.testing.assert_close(v, 0.01 * g * g)


# ---------------------------------------------------------------- a series' EWMA


@pytest.mark.parametrize(("beta", "points"), [(0.5, 2.0), (0.9, 10.0), (0.98, 50.0)])
def test_the_window_is_one_over_one_minus_beta(beta, points):
    assert window(beta) == pytest.approx(points)


def _ewma_by_hand(x, beta, correct):
    v, out = 0.0, []
    for t, value in enumerate(x, start=1):
        v = beta * v + (1 - beta) * value
        out.append(v / (1 - beta**t) if correct else v)
    return np.array(out)


@pytest.mark.parametrize("correct", [True, False])
def test_the_series_ewma_is_the_recurrence_with_or_without_correction(correct):
    x = np.random.default_rng(0).normal(size=40).cumsum()
    got = ewma(x, 0.9, bias_correction=correct)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _ewma_by_hand(x, 0.9, correct), rtol=1e-12)
    if correct:
        assert got[0] == x[0]  # corrected, the first point is itself
    else:
        assert got[0] == pytest.approx(0.1 * x[0])  # uncorrected, it starts near 0


def test_bias_correction_removes_the_start_up_bias_of_a_constant():
    """Uncorrected, a constant c reads c·(1 - β^t): 63 % of c after one window; corrected, c."""
    beta = 0.9
    uncorrected = ewma(np.full(30, 2.0), beta, bias_correction=False)
    np.testing.assert_allclose(uncorrected, 2.0 * (1 - beta ** np.arange(1, 31)), rtol=1e-12)
    assert uncorrected[int(window(beta)) - 1] / 2.0 == pytest.approx(1 - 1 / math.e, abs=0.03)
    assert ewma(np.full(30, 2.0), beta).tolist() == [2.0] * 30


def test_non_finite_points_pass_through_and_do_not_advance_t():
    x = np.array([1.0, np.nan, 3.0, np.inf, 2.0, -np.inf, 5.0])
    got = ewma(x, 0.8)
    finite = np.isfinite(x)
    np.testing.assert_array_equal(got[~finite], x[~finite])  # nan, inf, -inf kept in place
    np.testing.assert_allclose(got[finite], _ewma_by_hand(x[finite], 0.8, True), rtol=1e-12)
    assert np.isnan(ewma([np.nan, np.nan], 0.5)).all()


def test_ewma_takes_lists_and_tensors_and_refuses_bad_input():
    x = [1.0, 2.0, 4.0]
    np.testing.assert_array_equal(ewma(torch.tensor(x), 0.5), ewma(x, 0.5))
    np.testing.assert_array_equal(ewma(x, 0.0), x)  # β = 0: no smoothing
    with pytest.raises(ValueError, match=r"^beta must lie in \[0, 1\), got 1.0$"):
        ewma(x, 1.0)
    with pytest.raises(ValueError, match=r"^beta must lie in \[0, 1\), got -0.1$"):
        ewma(x, -0.1)
    with pytest.raises(ValueError, match=r"^ewma expects a 1-D series, got shape \(2, 2\)$"):
        ewma([[1.0, 2.0], [3.0, 4.0]], 0.5)
