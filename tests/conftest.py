"""Shared helpers: compose a config from overrides, as the CLI does; settings of small
training jobs and the comparison of two trained members."""

from __future__ import annotations

import logging
import signal

import numpy as np
import pytest

from regexp.config.compose import compose
from regexp.config.settings import validate


@pytest.fixture(autouse=True, scope="session")
def _every_test_trains_what_it_runs():
    """REGEXP_REUSE=0 for the whole session (module fixtures and subprocesses included),
    unless a test about the store of finished jobs says otherwise: a job filled from another
    test's run proves nothing."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGEXP_REUSE", "0")
        yield


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_the_commands_tests_start():
    """Where the suite runs with SIGINT ignored (a background job of a shell without job
    control), every command a test starts inherits that, and Python then installs no Ctrl-C
    handler in it: the interrupt tests' SIGINT would be shrugged off. The suite takes SIGINT
    back, as pytest in a terminal has it; a started command then gets the default."""
    before = signal.getsignal(signal.SIGINT)
    if before == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture(autouse=True)
def _outputs_where_the_test_says(monkeypatch):
    """A user's REGEXP_OUTPUTS would send the tests' runs (and their subprocesses') elsewhere."""
    monkeypatch.delenv("REGEXP_OUTPUTS", raising=False)


@pytest.fixture
def quiet():
    """No per-epoch log lines from training in this test."""
    logging.disable(logging.INFO)
    yield
    logging.disable(logging.NOTSET)


def settings(*overrides: str):
    """Validated settings of a 60-epoch [8, 8] job."""
    return validate(compose(["train.epochs=60", "hidden_units=[8,8]", *overrides]))


def job(optimizer, seed, pen, lam, lr, *extra):
    lam = [f"penalty.lam={lam}"] if pen != "none" else []
    return settings(f"optimizer={optimizer}", f"seed={seed}", f"penalty={pen}", *lam,
                    f"optimizer.lr={lr}", *extra)  # fmt: skip


def assert_same(got, want, rtol=1e-4):
    assert got.status == want.status and got.epochs == want.epochs
    assert list(got.history.columns) == list(want.history.columns)
    np.testing.assert_allclose(got.history.to_numpy(), want.history.to_numpy(), rtol=rtol)
    for key in ("train_mse", "val_mse", "train_loss", "val_loss", "penalty"):
        assert got.metrics[key] == pytest.approx(
            want.metrics[key], rel=rtol, abs=1e-9, nan_ok=True
        ), key


@pytest.fixture
def cfg_of():
    """compose(overrides) -> DictConfig, with fast training defaults for tests."""

    def make(*overrides: str, epochs: int = 50):
        return compose([f"train.epochs={epochs}", "plots.enabled=false", *overrides])

    return make
