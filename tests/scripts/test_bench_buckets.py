"""scripts/bench_buckets.py (the cost rule's fitting) at one epoch and one repeat: it fits the
constants of regexp.runs.buckets from the engine's fits and trains the width grid three ways.
No timing is asserted: only that every step still runs and prints what it fitted."""

from __future__ import annotations

import re

import pytest

from tests.scripts.conftest import load

pytestmark = pytest.mark.usefixtures("quiet")


def test_it_fits_the_constants_and_plans_the_width_grid(capsys):
    script = load("bench_buckets")
    script.main(["--epochs", "1", "--repeats", "1"])
    now = script.buckets  # regexp.runs.buckets, whose constants it fits
    out = capsys.readouterr().out
    timed = re.findall(r"^\[[\d, ]+\] x(\d+): [\d.]+ ms/epoch", out, re.M)
    assert len(timed) == len(script.ONE_LAYER) + len(script.DEEP)
    overhead = rf"^STEP_OVERHEAD = -?[\d,]+ unit-rows \(now {now.STEP_OVERHEAD:,}\)$"
    assert re.search(overhead, out, re.M)
    assert re.search(rf"^MACS_PER_UNIT ~ (-?\d+|inf|nan) \(now {now.MACS_PER_UNIT}\)$", out, re.M)
    plans = re.findall(r"^width grid, (.+) \((\d+)\): [\d.]+ s CPU$", out, re.M)
    assert [name for name, _ in plans] == [
        "each width its own program", "the rule's plan", "one program padded to [256]"]  # fmt: skip
    assert plans[0][1] == "8" and plans[2][1] == "1" and 1 <= int(plans[1][1]) <= 8
