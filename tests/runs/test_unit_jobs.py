"""regexp.runs.unit_jobs through regexp.runs.run_unit: a program's jobs written as each ends;
in an Optuna search each job a trial: pruned where the pruner says (status pruned, told
PRUNED), its freed row taking the next trial, which trains as it would alone (its own init,
λ, learning rate and step count); an interrupt leaves the trials that ended written and told,
the others RUNNING without a folder. And which new jobs fit a running program."""

import json
from dataclasses import replace

import pytest

optuna = pytest.importorskip("optuna")

from optuna.trial import TrialState  # noqa: E402

from regexp.config.search_space import search_space  # noqa: E402
from regexp.runs import study as studies  # noqa: E402
from regexp.runs.run_unit import run_unit  # noqa: E402
from regexp.runs.unit_jobs import fits  # noqa: E402
from regexp.train.data import make_data  # noqa: E402
from regexp.train.engine import fit  # noqa: E402
from tests.conftest import settings  # noqa: E402

pytestmark = [
    pytest.mark.usefixtures("quiet"),
    pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout"),
]
FIXED = ("hidden_units=[4]", "train.epochs=30", "train.eval_every=5", "plots.enabled=false",
         "penalty=l2")  # fmt: skip


class PruneAt(optuna.pruners.BasePruner):
    """Stops trial n at its step `at[n]`; raises `raise_at` = (trial, step) (a Ctrl-C)."""

    def __init__(self, at, raise_at=None):
        self.at, self.raise_at = at, raise_at

    def prune(self, study, trial):
        if (trial.number, trial.last_step) == self.raise_at:
            raise KeyboardInterrupt
        return trial.last_step >= self.at.get(trial.number, 10**9)


class Folders:
    """A launcher's Folders by trial number: root/N; records each close and which folders
    exist at that moment."""

    def __init__(self, root):
        self.root, self.closed = root, []

    def open(self, key):
        return self.root / str(key)

    def close(self, key, value):
        there = sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())
        self.closed.append((key, there))


def _search(tmp_path, pruner, n_trials=4, n_jobs=2):
    space = search_space(["optimizer.lr=interval(0.001, 0.05)",
                          "penalty.lam=tag(log, interval(1e-4, 1e-1))"])  # fmt: skip
    search = studies.open_search(None, tmp_path, "s", "minimize", {"name": "random", "seed": 3},
                                 None, space, (n_trials, n_jobs, 1.0))  # fmt: skip
    search.reports.pruner = pruner
    return search


def _program(search, folders):
    """The first batch as one program, refilled with the search's next trials."""
    batch = search.batch()
    trials = search.jobs([t.number for t in batch], lambda t: settings(*FIXED, *t.overrides))
    return run_unit([settings(*FIXED, *t.overrides) for t in batch], folders, batched=True,
                    trials=trials)  # fmt: skip


def _metrics(tmp_path, n):
    return json.loads((tmp_path / "runs" / str(n) / "metrics.json").read_text())


def test_a_pruned_trials_row_takes_the_next_trial_which_trains_as_it_would_alone(tmp_path):
    """Trial 0 pruned at epoch 10: trial 2 takes its row then, trial 3 takes trial 1's at
    epoch 30; each folder written when its trial ends, each trial told at once."""
    search = _search(tmp_path, PruneAt({0: 10}))
    (tmp_path / "runs").mkdir()
    folders = Folders(tmp_path / "runs")
    done = _program(search, folders)
    assert folders.closed == [(0, [0]), (1, [0, 1]), (2, [0, 1, 2]), (3, [0, 1, 2, 3])]
    pruned = _metrics(tmp_path, 0)
    assert (pruned["status"], pruned["epochs"], pruned["stopped_epoch"]) == ("pruned", 10, 10)
    history = (tmp_path / "runs" / "0" / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 10
    held = search.study.get_trials()
    assert [t.state for t in held] == [TrialState.PRUNED] + [TrialState.COMPLETE] * 3
    assert sorted(held[0].intermediate_values) == [5, 10]  # told PRUNED at its last report
    assert held[0].value == held[0].intermediate_values[10] == pruned["val_mse"]
    data = make_data(settings(*FIXED).data)
    for trial in held[1:]:
        metrics = _metrics(tmp_path, trial.number)
        assert metrics["status"] == "ok" and metrics["epochs"] == 30 and metrics["batched"] == 2
        assert trial.value == metrics["val_mse"] == done[trial.number].value
        assert sorted(trial.intermediate_values) == list(range(5, 31, 5))
        s = settings(*FIXED, *search.trial(trial).overrides)
        assert s.optimizer.lr == trial.params["optimizer.lr"]
        [alone] = fit([s], data)  # its own init, λ, learning rate and step count
        for key in ("train_mse", "val_mse", "penalty"):
            assert metrics[key] == pytest.approx(alone.metrics[key], rel=1e-4), (trial, key)


def test_an_interrupt_leaves_the_ended_trials_written_and_told_the_others_running(tmp_path):
    search = _search(tmp_path, PruneAt({0: 10}, raise_at=(2, 10)))
    (tmp_path / "runs").mkdir()
    folders = Folders(tmp_path / "runs")
    with pytest.raises(KeyboardInterrupt):
        _program(search, folders)
    assert folders.closed == [(0, [0])]
    assert _metrics(tmp_path, 0)["status"] == "pruned"
    held = search.study.get_trials()
    assert [t.state for t in held] == [TrialState.PRUNED, TrialState.RUNNING, TrialState.RUNNING]
    assert held[1].intermediate_values == {}  # a running trial's reports: none written yet
    assert search.running([0, 1, 2]) == [1, 2]


def test_without_a_search_a_job_that_stops_early_is_written_as_it_ends(tmp_path):
    stops = settings("hidden_units=[4]", "train.epochs=40", "plots.enabled=false",
                     "train.early_stopping.patience=1", "train.eval_every=1",
                     "optimizer.lr=0.5")  # fmt: skip
    runs = settings("hidden_units=[4]", "train.epochs=40", "plots.enabled=false")
    (tmp_path / "runs").mkdir()
    folders = Folders(tmp_path / "runs")
    done = run_unit([runs, stops], folders)
    assert folders.closed == [(1, [1]), (0, [0, 1])]
    assert 0 < done[1].metrics["stopped_epoch"] < 40 and done[0].metrics["epochs"] == 40


def test_a_new_job_fits_a_program_of_its_kind_no_wider_on_its_draw():
    program = [settings("hidden_units=[8,4]"), settings("hidden_units=[4,8]")]
    assert fits(program, settings("hidden_units=[8,8]", "optimizer.lr=0.1", "seed=5"))
    assert not fits(program, settings("hidden_units=[16,4]"))  # wider than the program
    assert not fits(program, settings("hidden_units=[8]"))  # another depth
    assert not fits(program, settings("train.epochs=61"))
    assert not fits(program, settings("data.seed=99"))  # the program trains one draw
    draws = [program[0], replace(program[1], data=replace(program[1].data, seed=7))]
    assert fits(draws, settings("data.seed=99"))  # a draw per model: its own
