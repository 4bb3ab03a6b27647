"""train.compile=true: the same objective and update formula as one compiled graph.

The compiled step does the same float32 arithmetic in another order (one generated kernel
instead of torch's fused ones), so runs drift apart by rounding only: measured over 60 epochs
of [8, 8] with Adam and L2, up to 3e-7 relative on history values. The tests allow 1e-4.
Each distinct graph compiles once per process (seconds), so the fast tests share one shape;
the family is `slow`.
"""

import dataclasses
import re

import pytest

from regexp.runs.job import run_in
from regexp.runs.units import stack_key
from regexp.train.data import make_data
from tests.conftest import assert_same, job, settings

pytestmark = pytest.mark.usefixtures("quiet")


def eager(s):
    return dataclasses.replace(s, train=dataclasses.replace(s.train, compile=False))


def compiled(s):
    return dataclasses.replace(s, train=dataclasses.replace(s.train, compile=True))


def test_compile_jobs_batch_apart_from_eager_ones():
    s = settings()
    assert stack_key(compiled(s)) != stack_key(s)


def test_a_compiled_program_matches_the_eager_program_with_a_diverging_member():
    jobs = [job("adam", *row) for row in [(1, "l2", 0.01, 0.01), (3, "none", 0.0, 0.005),
                                           (5, "l2", "[0.01,0.0,0.001]", 0.02)]]  # fmt: skip
    jobs.append(job("adam", 2, "none", 0.0, 1e30))
    data = make_data(jobs[0].data)
    from regexp.train.engine import fit

    got, want = fit([compiled(s) for s in jobs], data), fit(jobs, data)
    assert [m.status for m in want] == ["ok", "ok", "ok", "diverged"]
    for g, w in zip(got, want):
        assert_same(g, w)


def test_a_compiled_run_writes_a_complete_folder_and_says_it_compiles(tmp_path, cfg_of, capsys):
    m = run_in(tmp_path, cfg_of("hidden_units=[8,8]", "train.compile=true", epochs=60)).metrics
    assert m["status"] == "ok"
    assert (tmp_path / "weights.safetensors").exists()
    lines = [line for line in capsys.readouterr().err.splitlines() if "compil" in line]
    assert len(lines) == 2, lines  # once before the first step, once after it: not per step
    assert "compiling the training step (train.compile=true)" in lines[0]
    assert re.search(r"compiled the training step in \d+\.\d s$", lines[1]), lines


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ["optimizer=momentum", "optimizer.bias_correction=true"],
        ["optimizer=rmsprop", "penalty=l2"],
        ["optimizer=sgd", "optimizer.lr=0.05", "penalty=l1_l2", "penalty.l1_lam=0.001"],
        # mini-batches: a second graph for the last, smaller batch (100 = 3 × 32 + 4)
        ["data=classification", "data.n_train=100", "data.n_val=300", "train.batch_size=32"],
    ],
)
def test_the_family_and_mini_batches(overrides):
    from regexp.train.engine import fit

    s = settings(*overrides)
    data = make_data(s.data)
    for g, w in zip(fit([compiled(s)], data), fit([s], data)):
        assert_same(g, w)


@pytest.mark.slow
def test_a_compiled_program_of_widths_and_draws_matches_the_eager_one():
    """Padded widths (sigmoid: the gradient mask matters) and stacked data draws."""
    from regexp.train.data import stack
    from regexp.train.engine import fit

    jobs = [settings(f"hidden_units={h}", f"seed={k}", f"data.seed={d}", "activation=sigmoid",
                     "penalty=l2") for h, k, d in (("[2,8]", 1, 1), ("[8,3]", 2, 2))]  # fmt: skip
    data = stack([make_data(s.data) for s in jobs])
    for g, w in zip(fit([compiled(s) for s in jobs], data), fit(jobs, data)):
        assert_same(g, w)


def test_compiled_early_stopping_stops_where_eager_does(monkeypatch):
    """The fast tests' shape (no rows dropped: K stays 4, the graph compiled once)."""
    from regexp.train import program
    from regexp.train.engine import fit

    monkeypatch.setattr(program, "DROP_SHARE_COMPILED", 2.0)
    es = ["train.eval_every=2", "train.early_stopping.patience=5",
          "train.early_stopping.restore_best_weights=true"]  # fmt: skip
    jobs = [job("adam", *row, *es) for row in [(1, "l2", 0.01, 0.01), (3, "none", 0.0, 0.005),
                                               (5, "l2", "[0.01,0.0,0.001]", 0.02)]]  # fmt: skip
    jobs.append(job("adam", 2, "none", 0.0, 1e30, *es))
    data = make_data(jobs[0].data)
    got, want = fit([compiled(s) for s in jobs], data), fit(jobs, data)
    assert [m.stopped_epoch for m in want] == [12, None, 44, None]
    for g, w in zip(got, want):
        assert (g.stopped_epoch, g.best_epoch) == (w.stopped_epoch, w.best_epoch)
        assert_same(g, w)


@pytest.mark.slow
def test_a_compiled_program_drops_and_refills_rows_as_the_eager_one():
    """Rows dropped (a new K: a new graph) and a pruned row refilled with a narrower model."""
    from regexp.train.engine import fit
    from tests.train.test_watch import Script

    jobs = [settings(f"seed={k}", "train.eval_every=5", "train.early_stopping.patience=10",
                     "optimizer.lr=0.03") for k in range(4)]  # fmt: skip
    new = settings("seed=9", "hidden_units=[4,8]", "train.eval_every=5", "train.epochs=40")
    data = make_data(jobs[0].data)
    runs = [fit([compiled(s) for s in jobs], data, watch=Script({1: 10}, [compiled(new)])),
            fit(jobs, data, watch=Script({1: 10}, [new]))]  # fmt: skip
    assert runs[1][1].status == "pruned" and runs[1][4].epochs == 40
    for g, w in zip(*runs):
        assert (g.status, g.stopped_epoch) == (w.status, w.stopped_epoch)
        assert_same(g, w)
