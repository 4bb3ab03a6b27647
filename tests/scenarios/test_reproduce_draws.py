"""`make reproduce DRAWS=N`: every section's sweep over the shipped data seed and seeds
1 .. N-1; DRAWS left out adds no data.seed; a bad DRAWS is one line and exit 2 (make -n:
the commands, none run)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from regexp.read.notebook_checks import SHIPPED_SEED

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make here")


def _make(*args: str) -> subprocess.CompletedProcess:
    # STAMP points at an existing file, so make does not plan an install first
    return subprocess.run(
        ["make", "-n", "--no-print-directory", "STAMP=Makefile", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _sweeps(out: str) -> dict[str, str]:
    """sweep folder -> its command line, for each `regexp sweep` make would run."""
    found = {}
    for line in out.replace("\\\n", " ").splitlines():
        if "regexp sweep" in line:
            folder = re.search(r"hydra\.sweep\.dir=(\S+)", line).group(1)
            found[folder] = line
    return found


def test_draws_put_every_section_on_the_shipped_seed_and_seeds_1_to_n_minus_1():
    done = _make("reproduce", "DRAWS=3", "REPRO=out/r")
    assert done.returncode == 0, done.stderr
    sweeps = _sweeps(done.stdout)
    assert sorted(sweeps) == [
        "out/r/classification", "out/r/layers", "out/r/penalties/a", "out/r/penalties/b",
        "out/r/units",
    ]  # fmt: skip
    for line in sweeps.values():
        # the shipped draw is the data configs' seed (tests/read/test_notebook.py pins it)
        assert re.findall(r"data\.seed=(\S+)", line) == [f"{SHIPPED_SEED},1,2"]
    assert "model_somany,model_somany_l2_0p01 " in sweeps["out/r/penalties/a"]
    # the section's folder goes first (a layout of old), then each half clears its own
    assert done.stdout.index("rm -rf out/r/penalties\n") < done.stdout.index("penalties/a")
    lines = [line for line in done.stdout.splitlines() if "regexp sweep" in line]
    assert "penalties/a" in lines[0] and "penalties/b" in lines[1]  # the longest first


def test_one_draw_is_the_default_and_adds_no_data_seed():
    done = _make("units", "REPRO=out/r")
    assert done.returncode == 0, done.stderr
    (line,) = _sweeps(done.stdout).values()
    assert "data.seed" not in line and "+experiment=model_2units_a," in line


@pytest.mark.parametrize("draws", ["0", "abc", "2.5", "-1"])
def test_a_bad_draws_is_one_line_and_exit_2(draws):
    done = _make("reproduce", f"DRAWS={draws}")
    assert done.returncode == 2
    assert f"DRAWS: must be a whole number of at least 1, got '{draws}'" in done.stderr
    assert "regexp sweep" not in done.stdout
