"""Two writers into one named folder, started together (real processes): one succeeds with
its own results, the other is refused with one line and exit code 2 having written nothing.
A few rounds each, for a run and for a sweep (the claim itself: tests/config/test_output.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

FAST = ["train.epochs=5", "plots.enabled=false", "hidden_units=[4]"]
REFUSED = re.compile(
    r"regexp: error: hydra\.(run|sweep)\.dir: \S+ (is being written by pid \d+ on \S+; wait "
    r"for it to end, or give another folder|already holds results; .*)\n"
)


def _together(argvs: list[list[str]], cwd: Path) -> list[tuple[int, str]]:
    procs = [subprocess.Popen([sys.executable, "-m", "regexp", *argv], cwd=cwd, text=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for argv in argvs]  # fmt: skip
    return [(p.wait(timeout=300), p.stderr.read()) for p in procs]


def _seed(run: Path) -> int:
    return json.loads((run / "metrics.json").read_text())["seed"]


def _winner(outcomes: list[tuple[int, str]]) -> int:
    """The index of the writer that succeeded; the other's refusal checked."""
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    won = next(i for i, (code, _) in enumerate(outcomes) if code == 0)
    err = outcomes[1 - won][1]
    assert REFUSED.fullmatch(err), err  # one line, no traceback
    return won


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_two_sweeps_into_one_folder_one_succeeds_the_other_writes_nothing(tmp_path, round_):
    seeds = [(1, 2), (3, 4)]
    argvs = [["sweep", *FAST, f"seed={a},{b}", "hydra.sweep.dir=S"] for a, b in seeds]
    won = _winner(_together(argvs, tmp_path))
    sweep = tmp_path / "S"
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
    assert [_seed(sweep / str(j)) for j in (0, 1)] == list(seeds[won])
    summary = (sweep / "summary.csv").read_text().splitlines()
    assert len(summary) == 3 and all(",ok," in row for row in summary[1:])


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_two_runs_into_one_folder_one_succeeds_the_other_writes_nothing(tmp_path, round_):
    argvs = [["run", *FAST, f"seed={seed}", "hydra.run.dir=R"] for seed in (1, 2)]
    won = _winner(_together(argvs, tmp_path))
    assert _seed(tmp_path / "R") == won + 1
    assert not (tmp_path / "outputs").exists()
