"""regexp.runs.run_unit: jobs trained as one program (train), then written one folder each
where the launcher's Folders say (run_unit): every job's numbers first, in order, each folder
complete and marked "batched": K. A program that cannot be trained raises before any folder
is asked for (the launcher then runs its jobs one by one)."""

import json
from dataclasses import replace

import pytest
import torch

from regexp.config.errors import ConfigError
from regexp.figures import draw
from regexp.runs import run_unit as unit
from regexp.runs.layout import NOT_DRAWN
from regexp.runs.run_unit import pick_device, run_unit, train
from regexp.train.data import make_data
from regexp.train.engine import fit
from tests.conftest import settings

pytestmark = [
    pytest.mark.usefixtures("quiet"),
    # the engine's own filter (a 1-wide layer's strided .grad views) is reset per test
    pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout"),
]


@pytest.fixture(scope="module")
def jobs():
    """Three alike jobs (one stack_key): seeds, a penalty and a learning rate of their own."""
    base = settings("hidden_units=[4]", "train.epochs=8", "plots.enabled=false")
    return [
        base,
        replace(base, seed=base.seed + 1),
        settings("hidden_units=[4]", "train.epochs=8", "plots.enabled=false", "penalty=l2",
                 "penalty.lam=0.01", "optimizer.lr=0.05"),
    ]  # fmt: skip


def test_each_job_of_a_program_gets_its_own_trained_model_and_metrics(jobs):
    trained = train(jobs)
    assert len(trained) == 3
    assert all(t.device == "cpu" and t.init is None for t in trained)
    assert trained[0].data is trained[1].data  # one data set for the program
    vals = [t.member.metrics["val_mse"] for t in trained]
    assert len(set(vals)) == 3  # not one model's numbers copied
    assert trained[0].member.metrics["penalty"] == 0 < trained[2].member.metrics["penalty"]
    data = make_data(jobs[0].data)
    for s, t in zip(jobs, trained):  # each is what training it alone gives
        [alone] = fit([s], data)
        assert t.member.metrics["val_mse"] == pytest.approx(alone.metrics["val_mse"], rel=1e-4)
        assert t.member.epochs == 8 and t.member.status == "ok"


def test_a_job_alone_with_a_searched_init_records_the_choice():
    s = settings("hidden_units=[4]", "train.epochs=2", "init.strategy=search",
                 "init.candidates=4")  # fmt: skip
    [trained] = train([s])
    assert trained.init is not None and trained.init["candidates"] == 4


class _Folders:
    """A launcher's Folders: records each call and the torch threads at it; job i's folder is
    root/i; close(i) hears job i is written, and checks its metrics.json is there."""

    def __init__(self, root):
        self.root, self.calls, self.threads, self.closed = root, [], [], []

    def open(self, i):
        self.calls.append(i)
        self.threads.append(torch.get_num_threads())
        return self.root / str(i)

    def close(self, i, value):
        metrics = self.root / str(i) / "metrics.json"
        self.closed.append((i, value, metrics.is_file()))


def test_run_unit_writes_each_jobs_complete_folder_in_order(jobs, tmp_path):
    folders = _Folders(tmp_path)
    before = torch.get_num_threads()
    done = run_unit(jobs, folders, batched=True)
    assert folders.calls == [0, 1, 2]
    assert folders.closed == [(i, out.value, True) for i, out in enumerate(done)]
    assert folders.threads == [1, 1, 1] and torch.get_num_threads() == before
    for i, (s, out) in enumerate(zip(jobs, done)):
        folder = tmp_path / str(i)
        on_disk = json.loads((folder / "metrics.json").read_text())
        assert on_disk["batched"] == 3 and on_disk["status"] == "ok"
        assert on_disk["seed"] == s.seed and on_disk["val_mse"] == out.metrics["val_mse"]
        assert out.value == out.metrics["val_mse"]  # the objective: auto on regression
        assert (folder / "weights.safetensors").is_file()
        assert (folder / "history.csv").read_text().count("\n") == 1 + 8  # header + epochs
    assert len({out.value for out in done}) == 3


def test_a_folder_that_cannot_be_made_fails_that_job_only(jobs, tmp_path):
    class Folders(_Folders):
        def open(self, i):
            if i == 1:
                raise PermissionError("read-only")
            return super().open(i)

    folders = Folders(tmp_path)
    done = run_unit(jobs, folders)
    assert [i for i, _, _ in folders.closed] == [0, 1, 2]  # the launcher hears of each
    assert [o.metrics["status"] for o in done] == ["ok", "failed", "ok"]
    assert done[1].value != done[1].value  # NaN: a failed trial to an optimizing sweeper
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "2"]


def test_every_trained_jobs_numbers_are_written_before_figures_and_kept_on_ctrl_c(
    tmp_path, monkeypatch
):
    """An interrupt while the first job's figures are drawn: every job is ok on disk, its
    figures marked not drawn, and the interrupt still reaches the caller."""
    plotted = [settings("hidden_units=[4]", "train.epochs=3", f"seed={i}") for i in range(3)]

    def interrupted(specs):
        raise KeyboardInterrupt

    monkeypatch.setattr(draw, "draw_plots", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_unit(plotted, _Folders(tmp_path))
    for i in range(3):
        metrics = json.loads((tmp_path / str(i) / "metrics.json").read_text())
        assert metrics["status"] == "ok" and metrics["figures"] == NOT_DRAWN


def test_a_program_that_cannot_be_trained_raises_and_writes_nothing(jobs, tmp_path):
    missing = tmp_path / "gone.csv"
    data = replace(jobs[0].data, name="csv", path=str(missing), features=("x",), target="y")
    broken = [replace(s, data=data) for s in jobs]
    folders = _Folders(tmp_path)
    with pytest.raises(ConfigError, match=f"^data.path: no such file: {missing}$"):
        run_unit(broken, folders)
    assert folders.calls == [] and list(tmp_path.iterdir()) == []


def test_auto_picks_cuda_when_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
    assert pick_device("cpu") == torch.device("cpu")


def test_a_signal_while_the_folders_are_written_waits_for_every_trained_job(jobs, tmp_path):
    """SIGINT (or SIGTERM) as job 0's folder is made: all three trained jobs are written,
    ok, then the interrupt reaches the caller."""
    import os
    import signal

    from regexp.system.signals import Terminated, terminate_as_interrupt

    for signum, stop in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)):
        root = tmp_path / signum.name

        class Signalling(_Folders):
            sent = signum

            def open(self, i):
                if i == 0:
                    os.kill(os.getpid(), self.sent)
                return super().open(i)

        folders = Signalling(root)
        with terminate_as_interrupt(), pytest.raises(stop):
            run_unit(jobs, folders)
        assert [i for i, _, written in folders.closed if written] == [0, 1, 2]
        statuses = [json.loads((root / str(i) / "metrics.json").read_text())["status"]
                    for i in range(3)]  # fmt: skip
        assert statuses == ["ok"] * 3


def test_figures_go_to_a_pool_of_the_launchs_own_only_for_many_plotted_jobs(monkeypatch):
    """Below POOL_MIN_JOBS plotted jobs, or with one core, a job's figures are drawn where it
    was trained; from POOL_MIN_JOBS on, in a pool of a process per core that the launch owns,
    each process with the figures' modules imported before its first job."""
    started = []

    class Pool:
        def __init__(self, processes, preload):
            started.append((processes, preload))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(unit, "ProcessPool", Pool)
    monkeypatch.setattr(unit, "cpu_count", lambda: 2)
    with unit.figure_pool(unit.POOL_MIN_JOBS - 1) as pool:
        assert pool is None
    with unit.figure_pool(unit.POOL_MIN_JOBS) as pool:
        assert isinstance(pool, Pool) and started == [(2, "regexp.figures.draw")]
    monkeypatch.setattr(unit, "cpu_count", lambda: 1)
    with unit.figure_pool(10 * unit.POOL_MIN_JOBS) as pool:
        assert pool is None and len(started) == 1
