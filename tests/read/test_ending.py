"""regexp.read.ending: a sweep's ending done in a pool's process prints and writes what the
sweep would have printed and written itself, and the sweep still ends right when that
process dies."""

import os
from pathlib import Path

import pytest

from regexp.figures.pool import FigurePool
from regexp.read.ending import ending_pool, finish, import_ending
from tests.fixtures_runs import make_sweep

JOBS = [
    {"config": {"seed": 1, "penalty.lam": 0.01}, "overrides": ["seed=1"]},
    {"config": {"seed": 2, "penalty.lam": 0.1}, "overrides": ["seed=2"]},
    {"config": {"seed": 3}, "result": None},  # never finished
]

needs_two_cores = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="the pool starts only with a second core"
)


def _ending(tmp_path: Path, name: str, pool) -> tuple[int, str, dict[str, str]]:
    sweep = make_sweep(tmp_path / name, JOBS)
    code = finish(sweep, 3, pool)
    files = {p.name: p.read_text() for p in sweep.glob("summary.*") if p.suffix != ".png"}
    return code, str(sweep), files


@needs_two_cores
def test_the_pool_prints_and_writes_what_the_sweep_would(tmp_path, capsys):
    here = _ending(tmp_path, "left", None)
    printed_here = capsys.readouterr().out
    with ending_pool() as pool:
        assert isinstance(pool, FigurePool) and pool.started == 1
        assert pool.call(os.getpid) != os.getpid()
        there = _ending(tmp_path, "rite", pool)
    printed_there = capsys.readouterr().out
    assert here[0] == there[0] == 1  # a job is missing its metrics
    assert "1 job(s) not ok, 0 missing" in printed_here
    assert printed_there == printed_here.replace(here[1], there[1])
    assert there[2] == {k: v.replace(here[1], there[1]) for k, v in here[2].items()}
    assert (Path(there[1]) / "summary.png").stat().st_size > 5_000  # a 256-colour figure
    assert (Path(there[1]) / "report.html").is_file()


@needs_two_cores
def test_a_pool_whose_process_died_leaves_the_work_to_the_sweep(tmp_path, capsys):
    with FigurePool(1, warm_up=import_ending) as pool:
        pool.executor.submit(os._exit, 1)  # the pool is broken from here on
        code, sweep, files = _ending(tmp_path, "s", pool)
    assert code == 1 and "summary.csv" in files
    assert f"sweep {sweep} (3 of 3 jobs)" in capsys.readouterr().out
    assert (Path(sweep) / "summary.png").is_file()


def test_one_core_has_no_pool(monkeypatch):
    monkeypatch.setattr("regexp.read.ending.cores", lambda: 1)
    with ending_pool() as pool:
        assert pool is None


HEAVY = ("optuna", "sqlalchemy", "matplotlib.pyplot")


def _imported() -> list[str]:
    import sys

    return [m for m in HEAVY if m in sys.modules]


@needs_two_cores
def test_a_searchs_pool_has_optunas_study_and_plots_imported_before_the_ending():
    with ending_pool(search=True) as pool:
        assert pool.call(_imported) == list(HEAVY)
    with ending_pool() as pool:  # a basic sweep's ending needs none of them
        assert pool.call(_imported) == []
