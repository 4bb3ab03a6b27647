"""`make reproduce DRAWS=N`: every section's sweep over the shipped data seed and seeds
1 .. N-1 (SEEDS_FROM .. otherwise); DRAWS left out adds no data.seed; DRAWS=auto re-runs the
sections with more draws while `regexp notebook --decide` asks for them; a bad DRAWS is one
line and exit 2 (make -n: the commands, none run; DRAWS=auto's loop with a stand-in report)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from regexp.read.notebook_lessons import SHIPPED_SEED, SWEEPS

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
        "out/r/classification/l2_0p001", "out/r/classification/l2_0p01",
        "out/r/classification/none", "out/r/layers", "out/r/penalties/l1_0p001",
        "out/r/penalties/l2_0p001", "out/r/penalties/l2_0p01", "out/r/penalties/none",
        "out/r/units",
    ]  # fmt: skip
    for line in sweeps.values():
        # the shipped draw is the data configs' seed (tests/read/test_notebook.py pins it)
        assert re.findall(r"data\.seed=(\S+)", line) == [f"{SHIPPED_SEED},1,2"]
    assert "+experiment=model_somany_l2_0p01 " in sweeps["out/r/penalties/l2_0p01"]
    assert "rm -rf out/r/penalties/none\n" in done.stdout  # each sweep clears its own folder
    lines = [line for line in done.stdout.splitlines() if "regexp sweep" in line]
    assert all("penalties/" in line for line in lines[:4])  # the longest first


def test_every_sweep_the_report_can_name_is_a_make_target_of_its_models():
    """`regexp notebook --decide` names sweeps from SWEEPS; make runs each over its models."""
    for target, models in SWEEPS.items():
        done = _make(target, "REPRO=out/r")
        assert done.returncode == 0, done.stderr
        (line,) = _sweeps(done.stdout).values()
        experiments = re.search(r"\+experiment=(\S+)", line).group(1)
        assert experiments.split(",") == list(models), target


def test_one_draw_is_the_default_and_adds_no_data_seed():
    done = _make("units", "REPRO=out/r")
    assert done.returncode == 0, done.stderr
    (line,) = _sweeps(done.stdout).values()
    assert "data.seed" not in line and "+experiment=model_2units_a," in line


@pytest.mark.parametrize("draws", ["0", "abc", "2.5", "-1"])
def test_a_bad_draws_is_one_line_and_exit_2(draws):
    done = _make("reproduce", f"DRAWS={draws}")
    assert done.returncode == 2
    assert f"DRAWS: must be a whole number of at least 1, or auto, got '{draws}'" in done.stderr
    assert "regexp sweep" not in done.stdout


@pytest.mark.parametrize(
    "setting,message",
    [
        ("DRAWS_MAX=4", "DRAWS_MAX: must be a whole number of at least DRAWS_FIRST (5), got '4'"),
        ("SEEDS_FROM=x", "SEEDS_FROM: must be a whole number, got 'x'"),
        ("DRAWS_BATCH=0", "DRAWS_BATCH: must be a whole number of at least 1, got '0'"),
        ("DRAWS_FOR=ours", "DRAWS_FOR: must be published or all, got 'ours'"),
    ],
)
def test_a_bad_draws_plan_is_one_line_and_exit_2(setting, message):
    done = _make("reproduce", "DRAWS=auto", setting)
    assert done.returncode == 2 and message in done.stderr
    assert "regexp sweep" not in done.stdout


def test_seeds_from_starts_the_extra_draws_elsewhere_after_the_shipped_one():
    done = _make("units", "DRAWS=4", "SEEDS_FROM=11", "REPRO=out/r")
    assert done.returncode == 0, done.stderr
    (line,) = _sweeps(done.stdout).values()
    assert re.findall(r"data\.seed=(\S+)", line) == [f"{SHIPPED_SEED},11,12,13"]


def _stand_in(tmp_path: Path, answers: list[str], code: int = 0) -> tuple[Path, Path]:
    """A stand-in for `regexp notebook`: it records its arguments and prints the next of
    answers (the draws the folder should hold next), as --decide does."""
    queue, calls = tmp_path / "answers", tmp_path / "calls"
    queue.write_text("".join(f"{a}\n" for a in answers))
    script = tmp_path / "notebook"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\nhead -n 1 {queue}\nsed -i 1d {queue}\nexit {code}\n'
    )
    script.chmod(0o755)
    return script, calls


def _rounds(out: str, sweep: str = "units") -> list[list[str]]:
    """The data.seed list of one sweep (a folder under out/r), in the order make would run
    them."""
    lines = out.replace("\\\n", " ").splitlines()
    return [re.findall(r"data\.seed=(\S+)", line)[0].split(",")
            for line in lines if f"hydra.sweep.dir=out/r/{sweep} " in f"{line} "]  # fmt: skip


def test_auto_adds_a_batch_of_draws_to_the_sweeps_the_report_names(tmp_path):
    """Every sweep on 5 draws; the report asks for 10 draws of penalties-none and units, then
    15 of penalties-none, then says every lesson is decided: each sweep has the draws it was
    asked for, from SEEDS_FROM, then the report over the plan."""
    script, calls = _stand_in(tmp_path, ["10 penalties-none units", "15 penalties-none", "0"])
    done = _make("reproduce", "DRAWS=auto", "SEEDS_FROM=11", "REPRO=out/r", f"NB_NOTEBOOK={script}")
    assert done.returncode == 0, done.stderr
    assert [len(r) for r in _rounds(done.stdout, "penalties/none")] == [5, 10, 15]
    assert [len(r) for r in _rounds(done.stdout)] == [5, 10]
    for sweep in ("penalties/l2_0p01", "classification/none", "layers"):
        assert [len(r) for r in _rounds(done.stdout, sweep)] == [5], sweep
    assert _rounds(done.stdout, "penalties/none")[2] == [
        str(SHIPPED_SEED), *map(str, range(11, 25))
    ]  # fmt: skip
    plan = "--first 5 --batch 5 --draws-max 20 --draws-for published"
    assert calls.read_text().splitlines() == [f"out/r {plan} --decide"] * 3
    assert done.stdout.rstrip().splitlines()[-1] == f"{script} out/r {plan}"


def test_auto_stops_at_the_first_round_when_all_is_decided_and_on_a_failed_report(tmp_path):
    script, calls = _stand_in(tmp_path, ["0"])
    done = _make("reproduce", "DRAWS=auto", "DRAWS_MAX=10", "REPRO=out/r", f"NB_NOTEBOOK={script}")
    assert done.returncode == 0 and [len(r) for r in _rounds(done.stdout)] == [5]
    assert calls.read_text() == (
        "out/r --first 5 --batch 5 --draws-max 10 --draws-for published --decide\n"
    )
    (tmp_path / "broken").mkdir()
    broken, _ = _stand_in(tmp_path / "broken", [], code=2)  # runs missing: exit 2
    done = _make("reproduce", "DRAWS=auto", "REPRO=out/r", f"NB_NOTEBOOK={broken}")
    assert done.returncode != 0 and [len(r) for r in _rounds(done.stdout)] == [5]
