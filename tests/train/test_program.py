"""regexp.train.program: empty rows are dropped once they are DROP_SHARE of the program, and
dropping changes no job's numbers; an ended job's row holds zeros while it waits."""

import pytest

from regexp.train import program
from regexp.train.data import make_data
from regexp.train.engine import fit
from regexp.train.steps import EagerStep
from tests.conftest import assert_same, job
from tests.train.test_watch import Script

pytestmark = [
    pytest.mark.usefixtures("quiet"),
    pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout"),
]


def test_empty_rows_are_dropped_at_the_share_and_nothing_else_changes(monkeypatch):
    """8 rows, DROP_SHARE 1/4: two pruned at epoch 10 (2 of 8: dropped), one at 20 (1 of 6:
    kept, frozen), one at 30 (2 of 6: dropped)."""
    assert program.DROP_SHARE == 0.25
    jobs = [job("adam", seed, "l2", 0.001, 0.01, "train.eval_every=10") for seed in range(8)]
    prune = {0: 10, 5: 10, 2: 20, 7: 30}
    data = make_data(jobs[0].data)
    kept, rows_left, zero = [], [], []
    keep, finish = EagerStep.keep, program.Program.finish

    def spy_keep(self, rows):
        kept.append(list(rows))
        keep(self, rows)
        rows_left.append(self.stack.theta.shape[0])

    def spy_finish(self, tick):
        done = finish(self, tick)
        empty = [r for r, j in enumerate(self.rows) if j is None]
        zero.append(all(not self.stack.theta[r].any() for r in empty))
        return done

    monkeypatch.setattr(EagerStep, "keep", spy_keep)
    monkeypatch.setattr(program.Program, "finish", spy_finish)
    dropped = fit(jobs, data, watch=Script(prune=prune))
    # rows after the first drop: jobs 1, 2, 3, 4, 6, 7; jobs 2 and 7 end in rows 1 and 5
    assert kept == [[1, 2, 3, 4, 6, 7], [0, 2, 3, 4]] and rows_left == [6, 4]
    assert all(zero)
    monkeypatch.setattr(program, "DROP_SHARE", 2.0)
    kept.clear()
    never = fit(jobs, data, watch=Script(prune=prune))
    assert kept == []
    for a, b in zip(dropped, never):
        assert_same(a, b, rtol=1e-6)
    assert [m.epochs for m in dropped] == [10, 60, 20, 60, 60, 10, 60, 30]
