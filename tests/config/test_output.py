"""regexp.config.output: where outputs go, and folders claimed uniquely."""

import multiprocessing
import os
import threading
from datetime import datetime

import pytest

from regexp.config.errors import ConfigError
from regexp.config.output import (
    LOCK,
    claim,
    claim_dir,
    claim_named,
    claim_new,
    drop_empty_root,
    output_root,
)


def test_runs_in_the_same_second_get_distinct_folders(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    folders = {claim_dir(tmp_path, now) for _ in range(5)}
    assert sorted(p.name for p in folders) == [
        "03-04-05",
        "03-04-05-1",
        "03-04-05-2",
        "03-04-05-3",
        "03-04-05-4",
    ]
    assert all(p.parent == tmp_path / "2026-01-02" for p in folders)


def test_claim_keeps_a_free_name_and_suffixes_a_taken_one(tmp_path):
    assert claim(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert claim(tmp_path / "a" / "b") == tmp_path / "a" / "b-1"


def test_output_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("REGEXP_OUTPUTS", raising=False)
    assert str(output_root()) == "outputs"
    monkeypatch.setenv("REGEXP_OUTPUTS", str(tmp_path))
    assert output_root() == tmp_path


def _contend(path, key, resume, start, done, results):
    """One writer: wait for the others, claim path, report, hold the claim until all have."""
    from regexp.config.errors import ConfigError
    from regexp.config.output import claim_named

    start.wait()
    try:
        held = claim_named(path, key, resume=resume)
        results.put(("won", ""))
    except ConfigError as err:
        held = None
        results.put(("refused", str(err)))
    done.wait()
    if held is not None:
        held.release()


@pytest.mark.parametrize("resume", [False, True])
def test_of_writers_started_together_one_claims_a_named_folder(tmp_path, resume):
    """Eight processes claim one folder at the same moment: exactly one gets it, every other
    is refused naming the key and the holder; the folder then holds only the lock file. The
    same for eight `--resume` of one sweep folder (which holds results: they may)."""
    ctx = multiprocessing.get_context("fork")
    path = tmp_path / "sweep"
    if resume:
        path.mkdir()
        (path / "multirun.yaml").write_text("results\n")
    start, done, results = ctx.Barrier(8), ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(path, "k", resume, start, done, results))
             for _ in range(8)]  # fmt: skip
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(o for o, _ in outcomes) == ["refused"] * 7 + ["won"]
    for outcome, message in outcomes:
        if outcome == "refused":
            assert message.startswith(f"k: {path} is being written by pid "), message
    want = {LOCK, "multirun.yaml"} if resume else {LOCK}
    assert {p.name for p in path.iterdir()} == want


def test_of_threads_claiming_together_one_claims_a_named_folder(tmp_path):
    """The lock is per open file, not per process: threads of one process contend as well."""
    from concurrent.futures import ThreadPoolExecutor

    start = threading.Barrier(6)

    def take(_):
        start.wait()
        try:
            return claim_named(tmp_path / "run", "hydra.run.dir")
        except ConfigError:
            return None

    with ThreadPoolExecutor(6) as pool:
        held = [c for c in pool.map(take, range(6)) if c is not None]
    assert len(held) == 1
    held[0].release()
    with claim_named(tmp_path / "run", "hydra.run.dir"):  # free again once released
        pass


def test_timed_folders_claimed_together_are_distinct(tmp_path):
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        names = pool.map(_claim_timed, [tmp_path / "t"] * 8)
    assert sorted(names) == sorted(["t", *(f"t-{i}" for i in range(1, 8))])


def _claim_timed(path):
    held = claim_new(path)
    name = held.path.name
    held.release()
    return name


def test_a_folder_that_holds_results_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"^hydra.run.dir: .*run already holds results; give"):
        claim_named(tmp_path / "run", "hydra.run.dir")
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["metrics.json"]


def test_a_claimed_folder_that_was_left_empty_is_fresh_again(tmp_path):
    """A writer that ended before writing anything leaves only the lock file: claimable."""
    claim_named(tmp_path / "run", "k").release()
    with claim_named(tmp_path / "run", "k") as held:
        assert held.path == tmp_path / "run"
        with pytest.raises(ConfigError, match="is being written by pid"):
            claim_named(tmp_path / "run", "k")


def test_an_empty_outputs_variable_means_unset(monkeypatch):
    monkeypatch.setenv("REGEXP_OUTPUTS", "")
    drop_empty_root()
    assert "REGEXP_OUTPUTS" not in os.environ and str(output_root()) == "outputs"
    monkeypatch.setenv("REGEXP_OUTPUTS", "elsewhere")
    drop_empty_root()
    assert os.environ["REGEXP_OUTPUTS"] == "elsewhere"
