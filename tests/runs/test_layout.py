"""regexp.runs.layout: the run folder type owns the layout."""

import pytest

from regexp.runs.layout import RunDir, SweepDir


def test_run_folder_status_and_done(tmp_path):
    run = RunDir(tmp_path)
    assert not run.looks_like_run() and run.status() is None and not run.is_done()
    run.write_metrics({"status": "ok", "val_mse": float("nan")})
    assert run.looks_like_run() and run.status() == "ok"
    assert run.metrics() == {"status": "ok", "val_mse": None}  # JSON has no NaN
    assert not run.is_done()  # no weights yet: a resume runs it again
    run.weights_file.write_bytes(b"x")
    assert run.is_done()
    run.write_metrics({"status": "pruned"})  # an Optuna search's pruner stopped it: done
    assert run.status() == "pruned" and run.is_done()
    run.write_metrics({"status": "diverged"})
    assert run.status() == "diverged" and not run.is_done()
    run.metrics_file.write_text("{broken")
    assert run.status() is None
    with pytest.raises(ValueError):
        run.metrics()


def test_run_folder_reads_hydras_files(tmp_path):
    run = RunDir(tmp_path)
    run.hydra_dir.mkdir()
    run.config_file.write_text("hidden_units: [2]\nseed: 3\n")
    run.overrides_file.write_text("- seed=3\n")
    run.hydra_file.write_text("hydra:\n  job:\n    num: 7\n")
    assert run.config_tree() == {"hidden_units": [2], "seed": 3}
    assert run.overrides() == ["seed=3"]
    assert run.job_num() == 7
    run.hydra_file.write_text("hydra: [")
    assert run.job_num() is None


def test_sweep_folder_overrides(tmp_path):
    sweep = SweepDir(tmp_path)
    assert not sweep.is_sweep()
    sweep.multirun_file.write_text(
        "hydra:\n  overrides:\n    task:\n    - seed=1,2\n    hydra:\n    - hydra/launcher=joblib\n"
    )
    assert sweep.is_sweep()
    assert sweep.overrides() == (["seed=1,2"], ["hydra/launcher=joblib"])
    assert sweep.job(1).path == tmp_path / "1"


def test_a_job_knows_its_sweep_and_number(tmp_path):
    sweep = SweepDir(tmp_path / "s")
    (tmp_path / "s" / "named" / ".hydra").mkdir(parents=True)
    sweep.multirun_file.write_text("hydra: {}\n")
    (tmp_path / "s" / "named" / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    num: 7\n")
    assert sweep.job(3).sweep() == sweep and sweep.job(3).job_number() == 3
    assert RunDir(tmp_path / "s" / "named").job_number() == 7  # a custom subdir: hydra.yaml's
    lone = RunDir(tmp_path / "run")
    assert lone.sweep() is None and lone.job_number() is None
    assert RunDir(tmp_path / "12").job_number() == 12  # a number is a number
