"""regexp.runs.group: jobs trained as one program (train_group), then written one folder each
through the launcher's Folders (run_group): write(i, fill) once per job, in order, and
fill(folder) writes a complete folder marked "batched": K. A group that cannot be trained
raises (the launcher then runs its jobs one by one)."""

import json
from dataclasses import replace

import pytest
import torch

from regexp.config.errors import ConfigError
from regexp.runs.group import pick_device, run_group, train_group
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
    """Three alike jobs (one group_key): seeds, a penalty and a learning rate of their own."""
    base = settings("hidden_units=[4]", "train.epochs=8", "plots.enabled=false")
    return [
        base,
        replace(base, seed=base.seed + 1),
        settings("hidden_units=[4]", "train.epochs=8", "plots.enabled=false", "penalty=l2",
                 "penalty.lam=0.01", "optimizer.lr=0.05"),
    ]  # fmt: skip


def test_each_job_of_a_group_gets_its_own_trained_model_and_metrics(jobs):
    trained = train_group(jobs)
    assert len(trained) == 3
    assert all(t.device == "cpu" and t.init is None for t in trained)
    assert trained[0].data is trained[1].data  # one data set for the group
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
    [trained] = train_group([s])
    assert trained.init is not None and trained.init["candidates"] == 4


class _Folders:
    """A launcher's Folders: records each call, fills job i's folder under root/i."""

    def __init__(self, root):
        self.root, self.calls, self.threads = root, [], []

    def write(self, i, fill):
        self.calls.append(i)
        self.threads.append(torch.get_num_threads())
        return ("job", i, fill(self.root / str(i)))


def test_run_group_writes_each_jobs_complete_folder_in_order(jobs, tmp_path):
    folders = _Folders(tmp_path)
    before = torch.get_num_threads()
    rets = run_group(jobs, folders)
    assert folders.calls == [0, 1, 2]
    assert [r[:2] for r in rets] == [("job", 0), ("job", 1), ("job", 2)]
    assert folders.threads == [1, 1, 1] and torch.get_num_threads() == before
    for i, (s, (_, _, metrics)) in enumerate(zip(jobs, rets)):
        folder = tmp_path / str(i)
        on_disk = json.loads((folder / "metrics.json").read_text())
        assert on_disk["batched"] == 3 and on_disk["status"] == "ok"
        assert on_disk["seed"] == s.seed and on_disk["val_mse"] == metrics["val_mse"]
        assert (folder / "weights.safetensors").is_file()
        assert (folder / "history.csv").read_text().count("\n") == 1 + 8  # header + epochs
    assert len({r[2]["val_mse"] for r in rets}) == 3


def test_a_group_that_cannot_be_trained_raises_and_writes_nothing(jobs, tmp_path):
    missing = tmp_path / "gone.csv"
    data = replace(jobs[0].data, name="csv", path=str(missing), features=("x",), target="y")
    broken = [replace(s, data=data) for s in jobs]
    folders = _Folders(tmp_path)
    with pytest.raises(ConfigError, match=f"^data.path: no such file: {missing}$"):
        run_group(broken, folders)
    assert folders.calls == [] and list(tmp_path.iterdir()) == []


def test_auto_picks_cuda_when_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
    assert pick_device("cpu") == torch.device("cpu")
