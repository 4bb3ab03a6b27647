"""The engine against an independent plain-torch loop, and a program against its members alone.

Reference: regexp.train.model.MLP (nn.Linear layers) trained by torch.optim's own Adam, SGD and
RMSprop, the penalty written out as λ·Σw² / λ·Σ|w| per layer. Tolerances: stacked products
round differently from nn.Linear's (≈1e-10 in a gradient), and Adam divides by √v + ε, so a
near-zero gradient's rounding can grow up to lr/ε-fold in an update. Measured over 60 epochs
of [8, 8]: 1e-7–3e-5 relative on final metrics, so the tests allow 1e-4 (SGD-type updates
agree to ≈1e-7). L1 is checked under SGD: sign(w) near 0 makes Adam's rounding chaotic.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from regexp.runs.units import can_batch, stack_key
from regexp.runs.weights import build_model
from regexp.train.data import make_data, stack
from regexp.train.engine import fit
from tests.conftest import assert_same, job, settings

pytestmark = pytest.mark.usefixtures("quiet")


def reference(s, data):
    """A hand-written loop: (model, per-epoch pre-update objective)."""
    model = build_model(s, data.n_in)
    o = s.optimizer
    opt = {
        "adam": lambda p: torch.optim.Adam(p, o.lr, betas=(o.beta1, o.beta2), eps=o.eps),
        "sgd": lambda p: torch.optim.SGD(p, o.lr),
        "rmsprop": lambda p: torch.optim.RMSprop(p, o.lr, alpha=o.beta2, eps=o.eps),
    }[o.name](model.parameters())
    p = s.penalty
    l2 = p.lam if p.name in ("l2", "l1_l2") else (0.0,) * 3
    l1 = p.lam if p.name == "l1" else p.l1_lam if p.name == "l1_l2" else (0.0,) * 3
    losses = []
    for _ in range(s.train.epochs):
        loss = F.mse_loss(model(data.x_train), data.y_train)
        for layer, a, b in zip(model.layers, l2, l1):
            loss = loss + a * layer.weight.square().sum() + b * layer.weight.abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, np.array(losses)


@pytest.mark.parametrize(
    "overrides",
    [
        ["optimizer=adam"],
        ["optimizer=adam", "penalty=l2", "penalty.lam=[0.01,0.0,0.002]"],
        ["optimizer=rmsprop", "penalty=l2"],
        ["optimizer=sgd", "optimizer.lr=0.05", "penalty=l1", "penalty.lam=0.002"],
        ["optimizer=sgd", "optimizer.lr=0.05", "penalty=l1_l2", "penalty.l1_lam=0.001"],
    ],
)
def test_a_run_of_one_matches_a_plain_torch_loop(overrides):
    s = settings(*overrides)
    data = make_data(s.data)
    [member] = fit([s], data)
    model, losses = reference(s, data)
    tol = 1e-4 if s.optimizer.name != "sgd" else 1e-6
    np.testing.assert_allclose(member.history["train_loss"], losses, rtol=tol)
    for key, value in model.state_dict().items():
        scale = value.abs().max().item()
        assert (member.state[key] - value).abs().max().item() <= tol * scale + 1e-8, key
    with torch.no_grad():
        val = F.mse_loss(model(data.x_val), data.y_val).item()
    assert member.metrics["val_mse"] == pytest.approx(val, rel=tol)
    assert member.status == "ok" and member.epochs == 60


MIXED = {
    # Adam: seeds × λ (per layer too) × learning rates
    "adam": [
        (1, "l2", 0.01, 0.01),
        (2, "l2", 0.001, 0.01),
        (3, "none", 0.0, 0.005),
        (5, "l2", "[0.01,0.0,0.001]", 0.02),
    ],
    "sgd": [(1, "l1", 0.001, 0.05), (4, "l1_l2", 0.002, 0.1), (6, "l2", 0.01, 0.05)],
    "momentum": [(1, "l2", 0.001, 0.05), (2, "none", 0.0, 0.1)],
}


@pytest.mark.parametrize("optimizer", sorted(MIXED))
def test_a_mixed_program_matches_its_members_alone(optimizer):
    jobs = [job(optimizer, *row) for row in MIXED[optimizer]]
    assert len({stack_key(s) for s in jobs}) == 1 and all(can_batch(s) for s in jobs)
    data = make_data(jobs[0].data)
    for s, member in zip(jobs, fit(jobs, data)):
        assert_same(member, fit([s], data)[0])


@pytest.mark.parametrize(
    "extra",
    [
        ["penalty=l2", "penalty.lam=0.01"],
        ["data=classification", "data.n_train=100", "data.n_val=300", "activation=tanh"],
        ["train.batch_size=16", "activation=sigmoid", "optimizer=rmsprop"],  # own batch orders
    ],
)
def test_a_program_of_widths_and_data_draws_matches_its_members_alone(extra):
    """Padded widths and stacked draws: each member's history and metrics are its own alone,
    to float precision (1e-5 relative over 20 epochs)."""
    rows = [("[2,8]", 1, 1), ("[8,3]", 2, 2), ("[5,5]", 3, 1), ("[1,8]", 4, 3)]
    jobs = [settings(f"hidden_units={h}", f"seed={s}", f"data.seed={d}", "train.epochs=20",
                     *extra) for h, s, d in rows]  # fmt: skip
    assert len({stack_key(s) for s in jobs}) == 1
    data = stack([make_data(s.data) for s in jobs])
    for s, member in zip(jobs, fit(jobs, data)):
        alone = fit([s], make_data(s.data))[0]
        assert_same(member, alone, rtol=1e-5)
        for key, value in alone.state.items():
            assert member.state[key].shape == value.shape, key


def test_a_diverging_member_does_not_spoil_the_program():
    jobs = [job("sgd", seed, "none", 0.0, lr) for seed, lr in ((1, 0.05), (2, 1e6), (3, 0.05))]
    data = make_data(jobs[0].data)
    program = fit(jobs, data)
    assert [m.status for m in program] == ["ok", "diverged", "ok"]
    assert program[1].epochs < 60 and len(program[1].history) == program[1].epochs
    for s, member in zip(jobs, program):  # alone, each stops at the same epoch
        assert_same(member, fit([s], data)[0]) if member.status == "ok" else None
    alone = fit([jobs[1]], data)[0]
    assert alone.status == "diverged" and alone.epochs == program[1].epochs


def test_a_classification_program_reports_accuracy():
    extra = ["data=classification", "data.n_val=300", "data.n_train=100", "train.epochs=20"]
    jobs = [settings(*extra, f"seed={seed}") for seed in (1, 2)]
    data = make_data(jobs[0].data)
    for s, member in zip(jobs, fit(jobs, data)):
        alone = fit([s], data)[0]
        assert_same(member, alone, rtol=1e-5)
        assert {"val_accuracy", "train_accuracy", "val_bce"} <= set(member.history.columns)
        model = build_model(s, 2)
        model.load_state_dict(member.state)
        with torch.no_grad():
            right = ((model(data.x_val) > 0).float() == data.y_val).float().mean().item()
        assert member.metrics["val_accuracy"] == pytest.approx(right, abs=1e-7)


def test_mini_batches_average_the_pre_update_objective():
    s = settings("optimizer=sgd", "optimizer.lr=0.05", "train.batch_size=16", "train.epochs=3")
    data = make_data(s.data)
    [member] = fit([s], data)
    model = build_model(s, 1)
    opt = torch.optim.SGD(model.parameters(), 0.05)
    gen = torch.Generator().manual_seed(s.data.seed)  # the batch order follows the data seed
    n = len(data.x_train)
    for epoch in range(3):
        total = 0.0
        for idx in torch.randperm(n, generator=gen).split(16):
            loss = F.mse_loss(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx) / n
        assert member.history["train_loss"][epoch] == pytest.approx(total, rel=1e-6)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "momentum"])
def test_a_big_model_alone_takes_autograds_gradients_with_the_same_result(monkeypatch, optimizer):
    """K = 1 models over DIRECT_MIN_PARAMS skip the flat gradient buffer: same numbers."""
    from regexp.train import steps

    s = settings(f"optimizer={optimizer}", "penalty=l2", "penalty.lam=0.01", "train.epochs=30")
    data = make_data(s.data)
    monkeypatch.setattr(steps, "DIRECT_MIN_PARAMS", 1 << 60)
    flat = fit([s], data)[0]
    monkeypatch.setattr(steps, "DIRECT_MIN_PARAMS", 0)
    direct = fit([s], data)[0]
    assert_same(direct, flat, rtol=1e-6)


def test_after_a_fit_freed_memory_is_kept_for_the_next_step():
    """After fit() (which calls keep_freed_memory), blocks a step mallocs and frees come back
    from glibc's heap; with glibc's defaults the same steps fault every page in from the OS
    again (16 blocks of 1 MB held at once, as a step's activations are: freed together they
    pass the default trim threshold). Each side runs in a fresh process, as a setting made
    by an earlier test's fit stays in this one; the blocks come from libc's malloc itself,
    so no other allocation lands between them (torch's small objects would)."""
    import platform
    import subprocess
    import sys
    from pathlib import Path

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("keep_freed_memory tunes glibc's malloc")
    code = """if True:
        import ctypes, ctypes.util, resource, sys
        if sys.argv[1] == "fit":
            from tests.conftest import settings
            from regexp.train.data import make_data
            from regexp.train.engine import fit
            s = settings("train.epochs=1")
            fit([s], make_data(s.data))
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]

        def faults(steps):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(steps):
                blocks = [libc.malloc(1 << 20) for _ in range(16)]
                for b in blocks:
                    ctypes.memset(b, 1, 1 << 20)
                for b in blocks:
                    libc.free(b)
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

        faults(1)
        print(faults(10), 10 * 16 * (1 << 20) // resource.getpagesize())
    """
    root = Path(__file__).resolve().parents[2]
    seen = {}
    for side in ("fit", "defaults"):
        out = subprocess.run([sys.executable, "-c", code, side], cwd=root, check=True,
                             capture_output=True, text=True).stdout.split()  # fmt: skip
        seen[side] = int(out[-2]), int(out[-1])  # (page faults, pages the blocks span)
    faults, pages = seen["fit"]
    assert faults < pages // 10, seen
    faults, pages = seen["defaults"]
    assert faults > pages * 9 // 10, seen


def test_a_long_run_does_not_grow_the_heap():
    """What the loop keeps per epoch and per evaluation goes into buffers made before it: a
    small tensor kept each epoch used to split a freed activation block, so the next
    step's took fresh memory: the heap grew by an activation every epoch."""
    import resource

    s = settings("hidden_units=[1024]", "optimizer.lr=0.001", "train.epochs=2000",
                 "train.eval_every=1", "data.n_val=50")  # fmt: skip
    data = make_data(s.data)

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    before = rss_mb()
    fit([s], data)
    assert rss_mb() - before < 100  # MB; 2000 [1024]-activations of 50 rows are 400


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_metrics_in_chunks_of_models_equal_all_at_once(monkeypatch, task):
    from regexp.train import loss
    from regexp.train.model import seeded_layers

    widths = [1 if task == "regression" else 2, 16, 16, 1]
    layers = [seeded_layers(widths, seed, 0.0, 0.5) for seed in range(10)]
    params = [torch.stack(p).reshape(10, -1, p[0].shape[-1]) for p in zip(*layers)]
    x = torch.linspace(-1, 1, 300 * widths[0]).reshape(300, widths[0])
    y = (x[:, :1] > 0).float() if task == "classification" else torch.sin(3 * x[:, :1])
    pen = torch.rand(10)
    whole = loss.metrics(params, x, y, task, "relu", pen)
    monkeypatch.setattr(loss, "CHUNK_ELEMENTS", 3 * 300 * 16)  # chunks of 3 models: 3,3,3,1
    chunked = loss.metrics(params, x, y, task, "relu", pen)
    assert whole.keys() == chunked.keys()
    for key in whole:
        assert chunked[key].shape == (10,)
        torch.testing.assert_close(chunked[key], whole[key], rtol=1e-6, atol=1e-7)


ES = ["optimizer.lr=0.01", "train.epochs=300", "train.eval_every=10",
      "train.early_stopping.patience=20"]  # fmt: skip


@pytest.mark.parametrize("drop", [0.0, 2.0])  # drop at every stop, or never
def test_a_program_stops_its_models_where_they_stop_alone(monkeypatch, drop):
    """16 seeds of [32]: each stops at its own epoch, the epoch it stops at alone, with its
    weights and history bit for bit (a model computes the same in any stack), its history
    ending there; rows dropped at every stop or never."""
    from regexp.train import program

    monkeypatch.setattr(program, "DROP_SHARE", drop)
    jobs = [settings("hidden_units=[32]", f"seed={seed}", *ES) for seed in range(16)]
    data = make_data(jobs[0].data)
    got = fit(jobs, data)
    stops = [m.stopped_epoch for m in got]
    assert len({e for e in stops if e}) >= 4 and None in stops  # stops spread; some run out
    for s, member in zip(jobs, got):
        alone = fit([s], data)[0]
        assert (member.stopped_epoch, member.best_epoch) == (alone.stopped_epoch, alone.best_epoch)
        assert all(torch.equal(v, alone.state[k]) for k, v in member.state.items()), s.seed
        np.testing.assert_array_equal(member.history.to_numpy(), alone.history.to_numpy())
        assert member.epochs == len(member.history) == (member.stopped_epoch or 300)
        if member.stopped_epoch:
            assert member.stopped_epoch - member.best_epoch >= 20


def test_restore_best_weights_ends_with_the_best_epochs_weights_and_metrics():
    jobs = [settings("hidden_units=[32]", f"seed={seed}", *ES) for seed in range(4)]
    restore = "train.early_stopping.restore_best_weights=true"
    restoring = [settings("hidden_units=[32]", f"seed={seed}", *ES, restore) for seed in range(4)]
    data = make_data(jobs[0].data)
    plain, best = fit(jobs, data), fit(restoring, data)
    for p, b in zip(plain, best):
        assert (b.stopped_epoch, b.best_epoch) == (p.stopped_epoch, p.best_epoch)
        np.testing.assert_allclose(b.history.to_numpy(), p.history.to_numpy(), rtol=1e-6)
        for key in ("val_loss", "val_mse"):
            at_best = b.history[key][b.best_epoch - 1]
            assert b.metrics[key] == pytest.approx(at_best, rel=1e-6)
        model = build_model(jobs[0], 1)
        model.load_state_dict(b.state)
        with torch.no_grad():
            assert F.mse_loss(model(data.x_val), data.y_val).item() == pytest.approx(
                b.metrics["val_mse"], rel=1e-5)  # fmt: skip
        if b.best_epoch != b.epochs:  # the last epoch's weights are another model
            assert b.metrics["val_loss"] < p.metrics["val_loss"]


def test_early_stopping_on_a_classifiers_accuracy_and_a_diverging_model():
    """val_accuracy is maximised (mode auto); a model that diverges ends "diverged" with
    neither a stopped nor a best epoch."""
    extra = ["data=classification", "data.n_train=100", "data.n_val=300", "train.epochs=200",
             "train.eval_every=5", "train.early_stopping.patience=15",
             "train.early_stopping.monitor=val_accuracy"]  # fmt: skip
    jobs = [settings(*extra, f"seed={seed}", "optimizer.lr=0.03") for seed in (1, 2)]
    jobs.append(settings(*extra, "optimizer.lr=1e30"))
    data = make_data(jobs[0].data)
    got = fit(jobs, data)
    assert [m.status for m in got] == ["ok", "ok", "diverged"]
    assert (got[2].stopped_epoch, got[2].best_epoch) == (None, None)
    for s, member in zip(jobs[:2], got):
        accuracy = member.history["val_accuracy"]
        assert member.stopped_epoch is not None
        assert accuracy[member.best_epoch - 1] == np.nanmax(accuracy)
        assert_same(member, fit([s], data)[0])
