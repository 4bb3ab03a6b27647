"""fit's watch (regexp.train.watch): a job it stops ends there ("pruned", its history to that
epoch); a row it refills trains a new job exactly as that job alone (its own init, widths,
λ's, learning rate, step count 0, epochs budget, mini-batch order and data draw) while the
others go on, to float precision (1e-5 relative, as a mixed program's members, README)."""

import re

import pytest

from regexp.train.data import make_data, stack
from regexp.train.engine import fit
from regexp.train.watch import Watch
from tests.conftest import assert_same, job, settings

pytestmark = [
    pytest.mark.usefixtures("quiet"),
    pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout"),
]


class Script(Watch):
    """Stops job j at epoch prune[j]; refills rows with `refills` in order; keeps what it saw."""

    def __init__(self, prune=None, refills=()):
        self.prune, self.refills = dict(prune or {}), list(refills)
        self.passes, self.asked, self.done = [], [], {}

    def evaluated(self, jobs, epochs, values):
        assert all(len(v) == len(jobs) for v in values.values())
        self.passes += list(zip(jobs, epochs, values["val_loss"]))
        return [j for j, e in zip(jobs, epochs) if self.prune.get(j) == e]

    def refill(self, number):
        self.asked.append(number)
        return self.refills.pop(0) if self.refills else None

    def finished(self, number, member):
        self.done[number] = member


def test_a_pruned_job_ends_at_that_epoch_and_the_others_go_on():
    jobs = [job("adam", seed, "l2", 0.001, 0.01, "train.eval_every=5") for seed in (1, 2, 3)]
    data = make_data(jobs[0].data)
    watch = Script(prune={1: 25, 2: 60})  # job 2's last epoch: it ends there anyway
    got = fit(jobs, data, watch=watch)
    pruned = got[1]
    assert (pruned.status, pruned.stopped_epoch, pruned.epochs) == ("pruned", 25, 25)
    assert list(pruned.history["epoch"]) == list(range(1, 26))
    alone = fit([jobs[1]], data)[0]
    assert pruned.history["train_loss"] == pytest.approx(alone.history["train_loss"][:25], rel=1e-5)
    for i in (0, 2):
        assert_same(got[i], fit([jobs[i]], data)[0], rtol=1e-5)
        assert got[i].stopped_epoch is None and got[i].best_epoch is None
    # every pass of every live job, at its own epochs; each outcome handed over as it ended
    assert sorted(e for j, e, _ in watch.passes if j == 1) == list(range(5, 26, 5))
    assert sorted(e for j, e, _ in watch.passes if j == 0) == list(range(5, 61, 5))
    assert watch.done == dict(enumerate(got)) and watch.asked == [3, 3, 3]  # a row at a time


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["train.batch_size=16"],  # one draw: each row's own mini-batch order from now on
        ["data.seed=11"],  # stacked draws: the new job's own draw in its row
    ],
)
def test_a_refilled_row_trains_its_job_as_alone(extra):
    """Job 1 pruned at epoch 20; its row takes a job of other widths (narrower: padded), seed,
    penalty, learning rate and a longer budget, which runs past the others' 60 epochs."""
    draws = "data.seed=11" in extra
    jobs = [settings("hidden_units=[8,8]", f"seed={s}", "train.eval_every=10",
                     *(extra if not draws else [f"data.seed={10 + s}"]),
                     *[e for e in extra if e.startswith("train.")]) for s in (1, 2, 3)]  # fmt: skip
    new = settings("hidden_units=[3,8]", "seed=9", "penalty=l2", "penalty.lam=0.003",
                   "optimizer.lr=0.02", "train.epochs=70", "train.eval_every=10",
                   *extra)  # fmt: skip
    data = stack([make_data(s.data) for s in jobs]) if draws else make_data(jobs[0].data)
    watch = Script(prune={1: 20}, refills=[new])
    got = fit(jobs, data, watch=watch)
    assert len(got) == 4 and got[1].status == "pruned" and got[1].epochs == 20
    assert_same(got[3], fit([new], make_data(new.data))[0], rtol=1e-5)
    assert got[3].epochs == 70 and got[3].state["layers.0.weight"].shape == (3, 1)
    for i in (0, 2):  # the others as alone: the refill changed nothing of theirs
        assert_same(got[i], fit([jobs[i]], make_data(jobs[i].data))[0], rtol=1e-5)
    assert watch.asked == [3, 4, 4, 4]  # job 1's row, then the rows of 0, 2 and 3 as they end


def test_refilled_jobs_numbered_in_order_each_with_its_own_step_count():
    """Adam's bias correction by the job's own steps: three jobs in one row one after another,
    each equal to itself alone."""
    first = job("adam", 1, "none", 0.0, 0.01, "train.epochs=10", "train.eval_every=5")
    new = [job("adam", seed, "none", 0.0, 0.01, "train.epochs=15", "train.eval_every=5")
           for seed in (4, 5)]  # fmt: skip
    data = make_data(first.data)
    got = fit([first], data, watch=Script(refills=new))
    assert [m.epochs for m in got] == [10, 15, 15]
    for member, s in zip(got, [first, *new]):
        assert_same(member, fit([s], data)[0], rtol=1e-5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["hidden_units=[8]"], "refill job 1: hidden_units (depth) is 1, the program's 2"),
        (["hidden_units=[16,8]"], "widths [1, 16, 8, 1] exceed the program's [1, 8, 8, 1]"),
        (["optimizer=sgd"], "refill job 1: optimizer is 'sgd', the program's 'adam'"),
        (["train.eval_every=3"], "refill job 1: train.eval_every is 3, the program's 10"),
        (["data.seed=5"], "refill job 1: data.seed (the program trains on one draw) is 5, the "
                          "program's"),
    ],
)  # fmt: skip
def test_a_refill_that_does_not_fit_the_program_is_refused(extra, message):
    first = settings("train.epochs=10")
    with pytest.raises(ValueError, match=re.escape(message)):
        fit([first], make_data(first.data), watch=Script(refills=[settings(*extra)]))


def test_refilled_and_early_stopping_jobs_in_one_pass_stop_as_alone():
    """Rows of two cohorts (the first jobs, a refill) validated in one pass: each job's
    early stopping sees its own numbers."""
    jobs = [settings(f"seed={k}", "train.eval_every=5", "train.early_stopping.patience=10",
                     "optimizer.lr=0.03") for k in range(4)]  # fmt: skip
    new = settings("seed=9", "hidden_units=[4,8]", "train.eval_every=5", "train.epochs=40",
                   "train.early_stopping.patience=10", "optimizer.lr=0.03")  # fmt: skip
    data = make_data(jobs[0].data)
    got = fit(jobs, data, watch=Script({1: 10}, [new]))
    assert got[1].status == "pruned" and len({m.stopped_epoch for m in got}) >= 3
    for i, s in ((0, jobs[0]), (2, jobs[2]), (3, jobs[3]), (4, new)):
        alone = fit([s], data)[0]
        assert got[i].stopped_epoch == alone.stopped_epoch, i
        assert_same(got[i], alone, rtol=1e-5)
