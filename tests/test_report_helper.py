"""ReportHelper: the sweep's ending done in a helper process prints and writes what the sweep
would have printed and written itself, and the sweep still ends right when the helper fails."""

import os
import signal
from pathlib import Path

import pytest

from regexp.read.ending import ReportHelper
from regexp.read.report import print_sweep
from tests.fixtures_runs import make_sweep

JOBS = [
    {"config": {"seed": 1, "penalty.lam": 0.01}, "overrides": ["seed=1"]},
    {"config": {"seed": 2, "penalty.lam": 0.1}, "overrides": ["seed=2"]},
    {"config": {"seed": 3}, "result": None},  # never finished
]

needs_two_cores = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="the helper starts only with a second core"
)


def _ending(tmp_path: Path, name: str, report) -> tuple[int, str, dict[str, str]]:
    sweep = make_sweep(tmp_path / name, JOBS)
    code = report(sweep)
    files = {p.name: p.read_text() for p in sweep.glob("summary.*") if p.suffix != ".png"}
    return code, str(sweep), files


@needs_two_cores
@pytest.mark.parametrize(
    ("pooled", "watch"), [(0, False), (0, True), (8, False)],
    ids=["process", "process-reading-ahead", "figure-pool"],
)  # fmt: skip
def test_the_helper_prints_and_writes_what_the_sweep_would(tmp_path, capsys, pooled, watch):
    """A helper process of its own (reading the sweep's finished jobs as they appear, when
    told where), or (a sweep whose figures a pool draws) the pool."""
    from regexp.figures import pool as plot_pool

    here = _ending(tmp_path, "left", lambda s: print_sweep(s, expected=3))
    printed_here = capsys.readouterr().out
    ahead = tmp_path / "rite" if watch else None  # the sweep's folder does not exist yet
    with ReportHelper(pooled_figures=pooled, watch=ahead) as helper:
        assert (helper.proc is not None) == (not pooled)
        assert (helper.pool is not None) == bool(pooled)
        assert plot_pool.shared() is helper.pool  # the batched launcher draws there
        there = _ending(tmp_path, "rite", lambda s: helper.report(s, expected=3))
    printed_there = capsys.readouterr().out
    assert here[0] == there[0] == 1  # a job is missing its metrics
    assert printed_there == printed_here.replace(here[1], there[1])
    assert there[2] == {k: v.replace(here[1], there[1]) for k, v in here[2].items()}
    assert (Path(there[1]) / "summary.png").stat().st_size > 5_000  # a 256-colour figure
    assert (Path(there[1]) / "report.html").is_file()
    assert plot_pool.shared() is None  # the pool ended with the helper


@needs_two_cores
def test_a_helper_that_died_leaves_the_work_to_the_sweep(tmp_path, capsys):
    with ReportHelper() as helper:
        assert helper.proc is not None
        os.kill(helper.proc.pid, signal.SIGKILL)
        helper.proc.wait()
        code, sweep, files = _ending(tmp_path, "s", lambda s: helper.report(s, expected=3))
    assert code == 1 and "summary.csv" in files
    assert f"sweep {sweep} (3 of 3 jobs)" in capsys.readouterr().out
    assert (Path(sweep) / "summary.png").is_file()


def test_an_unused_helper_ends_without_writing(tmp_path):
    helper = ReportHelper()
    proc = helper.proc
    helper.close()
    assert proc is None or proc.returncode == 0
    assert helper.proc is None


@needs_two_cores
def test_a_pool_whose_process_died_leaves_the_work_to_the_sweep(tmp_path, capsys):
    with ReportHelper(pooled_figures=8) as helper:
        assert helper.pool.submit(os.getpid).result() != os.getpid()
        helper.pool.submit(os._exit, 1)  # the pool is broken from here on
        code, sweep, files = _ending(tmp_path, "s", lambda s: helper.report(s, expected=3))
    assert code == 1 and "summary.csv" in files
    assert f"sweep {sweep} (3 of 3 jobs)" in capsys.readouterr().out
