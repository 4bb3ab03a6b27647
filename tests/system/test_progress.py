"""regexp.system.progress: off a terminal, a log line every 10 % of a program's epochs and of
a sweep's jobs; on one, rich bars, a sweep's bars and its groups' epoch bars in one display."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest
import torch
from rich.console import Console

from regexp.system import progress


@pytest.fixture
def terminal(monkeypatch):
    """Say whether stderr is a terminal (pytest's capture is not one)."""

    def say(yes: bool) -> None:
        monkeypatch.setattr(sys.stderr, "isatty", lambda: yes)

    say(False)
    return say


def _loss(value: float, k: int = 1) -> torch.Tensor:
    return torch.full((2, k), value)


def _logged(caplog, epochs: int, label: str, k: int = 1) -> list[str]:
    """The log lines of a program of `epochs` epochs whose loss is 0.5 / epoch."""
    with caplog.at_level(logging.INFO, logger="regexp"):
        with progress.progress_reporter(epochs, label) as report:
            for epoch in range(1, epochs + 1):
                report(epoch, _loss(0.5 / epoch, k))
    return caplog.messages


def test_off_a_terminal_epochs_are_logged_every_tenth_and_at_the_last(terminal, caplog):
    every_tenth = [*range(2, 25, 2), 25]
    want = [f"job: epoch {e}/25, loss {0.5 / e:.5g}" for e in every_tenth]
    assert _logged(caplog, 25, "job") == want


def test_a_program_of_few_epochs_logs_each_one(terminal, caplog):
    want = [f"g: epoch {e}/3, loss {0.5 / e:.5g}" for e in (1, 2, 3)]
    assert _logged(caplog, 3, "g", k=4) == want


@pytest.mark.parametrize(
    ("first_row", "shown"),
    [
        ([1.0, 2.0, 6.0], "3"),
        ([1.0, float("nan"), 3.0, float("inf")], "2"),
        ([float("nan")], "nan"),
    ],
)
def test_the_shown_loss_is_the_mean_over_the_models_still_finite(
    terminal, caplog, first_row, shown
):
    loss = torch.stack([torch.tensor(first_row), torch.full((len(first_row),), 9.0)])
    with caplog.at_level(logging.INFO, logger="regexp"):
        with progress.progress_reporter(1, "g") as report:
            report(1, loss)
    assert caplog.messages == [f"g: epoch 1/1, loss {shown}"]


def test_off_a_terminal_a_sweep_prints_a_line_every_tenth_of_its_jobs(capsys):
    sweep = progress.SweepProgress(total=20, programs=3)
    sweep.program_trained()
    for _ in range(20):
        sweep.job_done()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10
    first = re.fullmatch(
        r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]\[regexp\] sweep: job 2 of 20 \(10 %\), "
        r"1 of 3 programs trained, about \d+ s left",
        lines[0],
    )
    assert first, lines[0]
    assert [int(re.search(r"job (\d+) of", line)[1]) for line in lines] == list(range(2, 21, 2))
    assert "(100 %)" in lines[-1] and lines[-1].endswith("about 0 s left")


def test_a_sweep_of_few_jobs_prints_each_and_one_by_one_without_groups(capsys):
    sweep = progress.SweepProgress(total=3, programs=0)
    for _ in range(3):
        sweep.job_done()
    lines = capsys.readouterr().err.splitlines()
    assert [re.search(r"job \d of 3 \(\d+ %\), one by one", line)[0] for line in lines] == [
        "job 1 of 3 (33 %), one by one",
        "job 2 of 3 (66 %), one by one",
        "job 3 of 3 (100 %), one by one",
    ]


def _shown(bar) -> list[str]:
    """The lines of a sweep's display as a terminal of 120 columns shows them, bars and runs
    of spaces collapsed, without the time left (it depends on the test's speed)."""
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    console.print(bar.get_renderable())
    lines = console.file.getvalue().splitlines()
    return [" ".join(line.replace("━", " ").split()[:-1]) for line in lines]


def test_on_a_terminal_the_sweep_bar_counts_jobs_programs_and_figures(terminal):
    terminal(True)
    with progress.sweep_progress(4, 2) as sweep:
        assert _shown(sweep.bar) == ["sweep 0/4 jobs 0 of 2 programs trained"]
        sweep.figures_queued(0)
        assert _shown(sweep.bar) == ["sweep 0/4 jobs 0 of 2 programs trained"]  # no figure yet
        sweep.program_trained()
        sweep.figures_queued(2)
        sweep.job_done()
        sweep.figure_done()
        sweep.figures_queued(2)
        assert _shown(sweep.bar) == ["sweep 1/4 jobs 1 of 2 programs trained", "figures 1/4 drawn"]


def test_a_search_counts_live_pruned_and_finished_trials(terminal, capsys):
    """An Optuna search's bar: trials finished of n_trials, how many train now, how many the
    pruner stopped, how many ended otherwise; off a terminal, the same in its lines."""
    terminal(True)
    with progress.sweep_progress(5, 0, trials=True) as search:
        search.started(2)
        assert _shown(search.bar) == ["search 0/5 trials 2 live, 0 pruned, 0 finished"]
        search.job_done("pruned")
        search.started()  # its row refilled
        search.job_done("ok")
        assert _shown(search.bar) == ["search 2/5 trials 1 live, 1 pruned, 1 finished"]
    terminal(False)
    with progress.sweep_progress(2, 0, trials=True) as search:
        search.started(2)
        search.job_done("pruned")
        search.job_done("failed")
    lines = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert [line.rsplit(", about", 1)[0] for line in lines] == [
        "sweep: trial 1 of 2 (50 %), 1 live, 1 pruned, 0 finished",
        "sweep: trial 2 of 2 (100 %), 0 live, 1 pruned, 1 finished",
    ]


def test_off_a_terminal_no_bar_is_made(terminal):
    with progress.sweep_progress(5, 1) as sweep:
        assert sweep.bar is None


def test_on_a_terminal_a_groups_epochs_join_the_sweeps_display(terminal):
    terminal(True)
    with pytest.raises(RuntimeError), progress.sweep_progress(2, 1) as sweep:
        assert sweep.bar is not None and sweep.bar.live.is_started
        with progress.progress_reporter(10, "batched", sweep.bar) as report:
            (epochs,) = [t for t in sweep.bar.tasks if t.description == "batched"]
            assert epochs.total == 10 and epochs.fields["unit"] == "epochs"
            report(10, _loss(0.25))
            assert epochs.completed == 10 and epochs.fields["info"] == "loss 0.25"
        assert [t.description for t in sweep.bar.tasks] == ["sweep", "figures"]  # removed
        raise RuntimeError("the display is let go after an error too")
    assert not sweep.bar.live.is_started
