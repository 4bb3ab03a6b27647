"""regexp.runs.store: a job's identity (what changes it, what does not: a copy of the package
whose training code is edited gives new identities, its figure code does not); an ok job
stored by hard links and filled back with its original's numbers exactly, even after its
first folder is gone; damaged entries ignored with a warning; jobs not ok or interrupted
never stored; two writers of one entry leave one whole entry; reuse inside a stacked
program; the `regexp store` verb."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import regexp
from regexp.cli import main
from regexp.runs import store as stores
from regexp.runs.job import run_in
from regexp.runs.layout import NOT_DRAWN, RunDir
from regexp.runs.run_unit import Given, run_unit
from regexp.runs.store import Store, identity, key_of
from tests.conftest import settings

pytestmark = pytest.mark.usefixtures("quiet")

FAST = ("hidden_units=[4]", "train.epochs=20", "plots.enabled=false")


@pytest.fixture
def reuse(tmp_path, monkeypatch):
    """Reuse on, the store under this test's own outputs root."""
    monkeypatch.setenv("REGEXP_REUSE", "1")
    monkeypatch.setenv("REGEXP_OUTPUTS", str(tmp_path / "outputs"))
    return Store()


def _key(*overrides: str) -> str:
    return key_of(identity(settings(*FAST, *overrides)))


def test_identity_changes_with_what_decides_the_numbers_only():
    base = _key()
    for same in ("name=other", "plots.enabled=true", "plots.max_units=8", "logger=tensorboard",
                 "objective=val_loss", "reuse=false", "device=cpu"):  # fmt: skip
        assert _key(same) == base, same
    changed = ["seed=2", "data.seed=3", "optimizer.lr=0.003", "train.epochs=21", "penalty=l2",
               "train.compile=true", "train.eval_every=5", "activation=tanh", "init.stddev=0.1",
               "data.n_train=60", "optimizer=sgd"]  # fmt: skip
    keys = {_key(c) for c in changed}
    assert base not in keys and len(keys) == len(changed)


def test_a_csv_data_sets_contents_are_its_identity_not_its_name(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,y\n0,1\n1,2\n2,3\n3,4\n4,5\n")
    shutil.copy(a, b)
    csv = ("data=csv", "data.features=[x]", "data.target=y")
    assert _key(*csv, f"data.path={a}") == _key(*csv, f"data.path={b}")
    b.write_text("x,y\n0,1\n1,2\n2,3\n3,4\n4,6\n")
    assert _key(*csv, f"data.path={a}") != _key(*csv, f"data.path={b}")


def _fingerprints(package: Path) -> list[str]:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from regexp.runs import store; "
        "print(store.training_code(), store.figure_code())"
    )
    done = subprocess.run([sys.executable, "-c", code, str(package)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return done.stdout.split()


def test_editing_the_training_code_gives_new_identities_and_figure_code_does_not(tmp_path):
    package = tmp_path / "copy"
    shutil.copytree(Path(regexp.__file__).parent, package / "regexp",
                    ignore=shutil.ignore_patterns("__pycache__", "conf"))  # fmt: skip
    shutil.copytree(Path(regexp.__file__).parents[1] / "conf", package / "regexp" / "conf")
    before = _fingerprints(package)
    assert before == [stores.training_code(), stores.figure_code()]
    draw = package / "regexp" / "figures" / "draw.py"
    draw.write_text(draw.read_text() + "\n# a figure changed\n")
    after_figure = _fingerprints(package)
    assert after_figure[0] == before[0] and after_figure[1] != before[1]
    loss = package / "regexp" / "train" / "loss.py"
    loss.write_text(loss.read_text() + "\n# the loss changed\n")
    assert _fingerprints(package)[0] != before[0]


def test_a_stored_job_is_filled_back_exactly_even_after_its_folder_is_gone(reuse, tmp_path):
    cfg = settings(*FAST, "plots.enabled=true")
    first = run_in(tmp_path / "first", _cfg(*FAST, "plots.enabled=true"))
    assert first.metrics["status"] == "ok" and len(reuse.entries()) == 1
    entry = reuse.find(cfg)
    stored = RunDir(entry.path)
    assert os.path.samefile(stored.weights_file, tmp_path / "first" / "weights.safetensors")
    shutil.rmtree(tmp_path / "first")
    again = run_in(tmp_path / "again", _cfg(*FAST, "plots.enabled=true", "name=renamed"))
    metrics = json.loads((tmp_path / "again" / "metrics.json").read_text())
    for key in ("train_mse", "val_mse", "train_loss", "val_loss", "epochs", "seconds"):
        assert metrics[key] == first.metrics[key], key  # exactly: nothing was trained
    assert metrics["reused_from"] == str((tmp_path / "first").resolve())
    assert metrics["name"] == "renamed" and "figures" not in metrics
    assert sorted(p.name for p in (tmp_path / "again" / "plots").iterdir()) == sorted(
        p.name for p in stored.plots_dir.iterdir()
    )
    assert again.value == metrics["val_mse"]


def _cfg(*overrides: str):
    from regexp.config.compose import compose

    return compose(list(overrides))


def test_changed_plot_settings_draw_the_figures_again_from_the_stored_weights(reuse, tmp_path):
    run_in(tmp_path / "first", _cfg(*FAST, "plots.enabled=true"))
    run_in(tmp_path / "again", _cfg(*FAST, "plots.enabled=true", "plots.max_units=2"))
    metrics = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert "reused_from" in metrics and "figures" not in metrics
    layers = tmp_path / "again" / "plots" / "layers.png"
    assert layers.is_file() and not os.path.samefile(layers, tmp_path / "first" / "plots" /
                                                     "layers.png")  # fmt: skip


def test_reuse_false_and_regexp_reuse_0_train_again(reuse, tmp_path, monkeypatch):
    run_in(tmp_path / "first", _cfg(*FAST))
    run_in(tmp_path / "off", _cfg(*FAST, "reuse=false"))
    assert "reused_from" not in json.loads((tmp_path / "off" / "metrics.json").read_text())
    monkeypatch.setenv("REGEXP_REUSE", "0")
    run_in(tmp_path / "env", _cfg(*FAST))
    assert "reused_from" not in json.loads((tmp_path / "env" / "metrics.json").read_text())


def test_a_damaged_entry_is_ignored_with_a_warning_then_replaced(reuse, tmp_path, caplog):
    run_in(tmp_path / "first", _cfg(*FAST))
    [entry] = reuse.entries()
    metrics_file = entry / "metrics.json"
    metrics_file.unlink()  # the store's link, not the job's file
    metrics_file.write_text('{"status": "ok", "val_mse": 0.0}')  # edited in place
    run_in(tmp_path / "again", _cfg(*FAST))
    assert "ignoring the damaged entry" in caplog.text
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert "reused_from" not in again and again["val_mse"] > 0  # trained again
    assert reuse.find(settings(*FAST)) is not None  # and stored whole once more
    (reuse.root / "tmp" / "half").mkdir(parents=True)  # a writer killed mid-entry: not seen
    assert len(reuse.entries()) == 1


def test_jobs_not_ok_or_with_figures_to_draw_are_never_stored(reuse, tmp_path):
    s = settings(*FAST)
    folder = tmp_path / "job"
    run_in(folder, _cfg(*FAST, "reuse=false"))  # trained, not stored
    run = RunDir(folder)
    for change in ({"status": "diverged"}, {"status": "failed"}, {"figures": NOT_DRAWN}):
        run.write_metrics({**json.loads(run.metrics_file.read_text()), **change})
        assert reuse.put(folder, s) is None, change
    assert reuse.entries() == []


def _put_at_once(args: tuple) -> str:
    folder, root, barrier = args
    barrier.wait()
    entry = Store(root).put(Path(folder), settings(*FAST))
    return str(entry.path)


def test_two_writers_of_one_job_leave_one_whole_entry(reuse, tmp_path):
    folders = []
    for i in range(6):  # six copies of one job, each stored by its own process
        run_in(tmp_path / f"job{i}", _cfg(*FAST, "reuse=false"))
        folders.append(tmp_path / f"job{i}")
    context = multiprocessing.get_context("fork")
    barrier = context.Manager().Barrier(len(folders))
    with context.Pool(len(folders)) as pool:
        paths = pool.map(_put_at_once, [(f, reuse.root, barrier) for f in folders])
    assert len(set(paths)) == 1 and len(reuse.entries()) == 1
    assert reuse.find(settings(*FAST)) is not None
    assert not list((reuse.root / "tmp").iterdir())  # the losers cleaned up


def test_in_a_stacked_program_reused_jobs_are_filled_and_the_rest_train_as_one(reuse, tmp_path):
    jobs = [settings(*FAST, f"seed={i}") for i in range(4)]
    run_unit(jobs[:2], Given(tmp_path / "a0", tmp_path / "a1"), batched=True)
    folders = [tmp_path / f"b{i}" for i in range(4)]
    done = run_unit(jobs, Given(*folders), batched=True)
    metrics = [json.loads((f / "metrics.json").read_text()) for f in folders]
    assert ["reused_from" in m for m in metrics] == [True, True, False, False]
    assert [m["batched"] for m in metrics] == [2, 2, 2, 2]  # the reused: of their own program
    assert [o.metrics["status"] for o in done] == ["ok"] * 4
    assert len(reuse.entries()) == 4


def test_a_regexp_run_is_reused_and_says_so(reuse, tmp_path, capsys):
    args = ["run", *FAST]
    assert main([*args, f"hydra.run.dir={tmp_path / 'r1'}"]) == 0
    assert main([*args, f"hydra.run.dir={tmp_path / 'r2'}"]) == 0
    out = capsys.readouterr().out
    assert f"reused: trained earlier in {(tmp_path / 'r1').resolve()}" in out


def test_the_store_verb_counts_and_clears_and_refuses_bad_flags(reuse, tmp_path, capsys):
    run_in(tmp_path / "first", _cfg(*FAST))
    assert main(["store"]) == 0
    assert f"store {reuse.root}: 1 job(s)," in capsys.readouterr().out
    assert main(["store", "--clear"]) == 0
    assert capsys.readouterr().out == f"store {reuse.root}: removed 1 job(s)\n"
    assert main(["store"]) == 0 and ": 0 job(s), 0 bytes" in capsys.readouterr().out
    assert main(["store", "--bogus"]) == 2
    assert capsys.readouterr().err == "regexp: error: store: unrecognized arguments: --bogus\n"


def test_identity_holds_every_settings_key_but_those_that_cannot_change_numbers():
    s = settings(*FAST)
    config = identity(s)["config"]
    fields = {f.name for f in dataclasses.fields(s)}
    assert set(config) == fields - set(stores.NOT_IDENTITY)
