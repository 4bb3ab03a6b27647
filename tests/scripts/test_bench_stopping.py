"""scripts/bench_stopping.py (how much a program gains by dropping the rows of models that
stopped) at a tiny size: every side runs and is printed, and the stops it asks for happen.
No timing is asserted."""

from __future__ import annotations

import pytest

from regexp.train.data import make_data
from regexp.train.engine import fit
from tests.scripts.conftest import load

pytestmark = pytest.mark.usefixtures("quiet")


def test_every_side_runs_and_prints_its_row(capsys):
    script = load("bench_stopping")
    assert script.main(["--epochs", "64", "--repeats", "1", "--models", "[32]x16"]) == 0
    out = capsys.readouterr().out
    assert "1. CPU ms a step and of the drop" in out and "2. half the models stop" in out
    assert out.count("[32]x16") == 2  # a row in each table


def test_its_watch_stops_the_first_half_at_their_epochs_and_sets_the_share():
    script = load("bench_stopping")
    settings = script.jobs([8], 4, 64)
    watch = script.Stops(4, 64, share=0.25)
    members = fit(settings, make_data(settings[0].data), watch=watch)
    assert [m.stopped_epoch for m in members] == [16, 32, None, None]
    assert [m.status for m in members] == ["pruned", "pruned", "ok", "ok"]
    assert watch.drop_share == 0.25 and script.Stops(4, 64, 1.0, stops=False).at == {}
