"""regexp.runs.resume: an optimizing sweep resumes with its own sweeper; a done job's objective
read back from its folder (hand-made folders, no training)."""

from __future__ import annotations

import math

import pytest

from regexp.runs.resume import SWEEPER, objective_of, relaunch_overrides, settle
from tests.fixtures_runs import make_run, metrics

SAVED = """hydra:
  sweeper: {{_target_: {target}}}
  overrides:
    hydra: [hydra/sweeper=optuna_lam_lr, hydra.sweeper.n_trials=32, hydra.sweep.dir=old,
            hydra.mode=MULTIRUN]
    task: [penalty=l2]
"""


@pytest.mark.parametrize(
    ("target", "sweeper"),
    [
        (
            "hydra_plugins.regexp_launcher.optuna_sweeper.OptunaSweeper",
            "hydra/sweeper=optuna_lam_lr",
        ),
        ("hydra_plugins.regexp_launcher.checked_sweeper.CheckedSweeper", SWEEPER),
    ],
)
def test_an_optuna_sweep_resumes_with_its_own_sweeper(tmp_path, target, sweeper):
    (tmp_path / "multirun.yaml").write_text(SAVED.format(target=target))
    got = relaunch_overrides(tmp_path, ["hydra.sweeper.n_trials=48"])
    assert got[0] == "penalty=l2" and got[-1] == f"hydra.sweep.dir={tmp_path}"
    assert "hydra.sweeper.n_trials=48" in got and "hydra.sweeper.n_trials=32" not in got
    assert sweeper in got and [o for o in got if o.startswith("hydra/sweeper=")] == [sweeper]


def test_a_done_jobs_objective_is_read_back(tmp_path):
    ok = make_run(tmp_path / "0", result=metrics(0.25, val_accuracy=0.5))
    assert objective_of(ok) == 0.25
    accuracy = make_run(tmp_path / "1", config={"data.task": "classification"},
                        result=metrics(0.25, val_accuracy=0.75))  # fmt: skip
    assert objective_of(accuracy) == 0.75
    assert math.isnan(objective_of(make_run(tmp_path / "2", result=metrics(None, "failed"))))
    assert math.isnan(objective_of(tmp_path / "nowhere"))


def test_a_pruned_job_is_done_and_never_run_again(tmp_path):
    """A trial the pruner stopped is finished as asked: a resume keeps its folder as it is
    (its value NaN: no objective of a pruned trial counts)."""
    folder = make_run(tmp_path / "s" / "0", result=metrics(0.2, "pruned"))
    (folder / "weights.safetensors").write_bytes(b"w")
    before = sorted(p.name for p in folder.iterdir())
    assert math.isnan(settle(folder, tmp_path / "s"))
    assert sorted(p.name for p in folder.iterdir()) == before
