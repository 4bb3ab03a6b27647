"""Every bad input gets one line naming the key, exit code 2, no traceback, no folder."""

import pytest

from regexp.cli import main

CASES = [
    (["hidden_units=abc"], "hidden_units: must be a list of positive integers"),
    (["hidden_units=[0]"], "hidden_units: must be a list of positive integers"),
    (["hidden_units=[-3]"], "hidden_units: must be a list of positive integers"),
    (["hidden_units=[2.5]"], "hidden_units: must be a list of positive integers"),
    (["penalty=l2", "penalty.lam=[0.1,0.2,0.3]"], "penalty.lam: a list needs one value per weight"),
    (["penalty=l2", "penalty.lam=-0.1"], "penalty.lam: must be a number >= 0"),
    (["penalty=l3"], "penalty: unknown option 'l3'; allowed: l1, l1_l2, l2, none"),
    (["optimizer=adamw"], "optimizer: unknown option 'adamw'; allowed: adam, momentum"),
    (
        ["data=mnist"],
        "data: unknown option 'mnist'; allowed: classification, "
        "classification_hard, csv, regression",
    ),
    (["train.epochs=0"], "train.epochs: must be an integer >= 1"),
    (["train.epochs=-5"], "train.epochs: must be an integer >= 1"),
    (["optimizer.lr=0"], "optimizer.lr: must be a number > 0"),
    (["optimizer.lr=-1"], "optimizer.lr: must be a number > 0"),
    (["optimizer.lr=fast"], "optimizer.lr: must be a number"),
    (["foo=1"], "foo: unknown key"),
    (["train.epoch=3"], "train.epoch: unknown key"),
    (["activation=gelu"], "activation: must be one of relu, tanh, sigmoid"),
    (["device=tpu"], "device: must be one of auto, cpu, cuda"),
    (["device=cuda"], "device: cuda was asked for but CUDA is not available"),
    (["hidden_units=[2"], "malformed override"),
    (["hidden_units=2,8"], "hidden_units: a comma makes a sweep"),
    (["seed=-1"], "seed: must be an integer >= 0"),
    (
        ["data=csv", "data.path=/nonexistent.csv", "data.features=[x]", "data.target=y"],
        "data.path: no such file: /nonexistent.csv",
    ),
    (["optimizer=adam", "optimizer.beta1=1.5"], "optimizer.beta1: must be in [0, 1)"),
    (["train.batch_size=0"], "train.batch_size: must be an integer >= 1"),
    (["init.strategy=grid"], "init.strategy: grid needs a model of at most 2 parameters"),
    (["init.strategy=best"], "init.strategy: must be one of default, search, grid"),
    # too big for an integer, for the machine, or long without --yes
    (["train.epochs=100000000000000000000"], "train.epochs: must be an integer of at most 18"),
    (["hidden_units=[1000000000]"], "hidden_units: a run needs about 8.07 TB of memory"),
    (["hidden_units=[4,10000000000000000000]"], "hidden_units: each entry must have at most"),
    (["train.epochs=2000000000"], "train.epochs: 2,000,000,000 is more than 1,000,000: a run"),
    (["train.epochs=2000000000", "--yes"], "train.epochs: a run needs about 966 GB of memory"),
    (["data.n_train=100000000"], "data.n_train: 100,000,000 is more than 1,000,000"),
    (["data.n_val=10000000000", "--yes"], "data.n_val: a run needs about"),
]


@pytest.mark.parametrize(("overrides", "message"), CASES)
def test_bad_run_input(overrides, message, tmp_path, monkeypatch, capsys):
    import torch

    if overrides == ["device=cuda"] and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    monkeypatch.chdir(tmp_path)
    assert main(["run", *overrides]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regexp: error: "), err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "outputs").exists()


def test_csv_missing_column(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{i * 2}\n" for i in range(20)))
    assert main(["run", "data=csv", "data.path=d.csv", "data.features=[x,z]", "data.target=y"]) == 2
    err = capsys.readouterr().err
    assert "data.features: column 'z' not in d.csv; columns: x, y" in err


def test_unknown_verb(capsys):
    assert main(["train"]) == 2
    assert "unknown verb 'train'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ewma", "--betas", "1.5"], "ewma: argument --betas: beta must lie in [0, 1), got 1.5"),
        (["landscape", "--steps", "x"], "landscape: argument --steps: must be an integer >= 2"),
        (["compare", "--sort"], "compare: argument --sort: expected one argument"),
        (["compare", "/nope"], "no such file or folder: /nope"),
        (["fix"], "fix needs a run folder first"),
        (["sweep", "--resume", "/nope"], "--resume: no sweep in /nope (no multirun.yaml)"),
        (["ewma", "--days", "100000000"], "--days: 100,000,000 is more than 1,000,000"),
        (["sweep", "seed=range(0,1000000)"], "the sweep has 1,000,000 jobs, more than 10,000"),
        (["sweep", "seed=range(0,10**12)"], "malformed override"),
        (["sweep", "seed=range(0,1000000000000)", "--yes"], "jobs: their list alone needs"),
        (
            ["sweep", "hydra/sweeper=optuna_lam_lr", "penalty=l2", "hydra.sweeper.n_trials=20000"],
            "the sweep has 20,000 jobs",
        ),
    ],
)
def test_bad_verb_arguments_get_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"regexp: error: {err.removeprefix('regexp: error: ')}"
    assert message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("argv", [["run", "--help"], ["--help"], ["compare", "--help"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(argv):
    """`regexp run --help | head -1`: the pipe closes under the command, which ends without
    a traceback, as a process killed by SIGPIPE would (141)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "regexp", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    proc.stdout.close()  # before the command has written anything
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode in (0, 141), (proc.returncode, err)


OPTUNA = ["hydra/sweeper=optuna_lam_lr", "penalty=l2", "hydra.sweeper.n_trials=2"]
SWEEP_CASES = [
    # job folders shared or outside the sweep
    (["seed=1,2", "hydra.sweep.subdir=x"], "hydra.sweep.subdir: jobs 0 and 1 would write into one"),
    (["seed=1,2", "hydra.sweep.subdir=s${hydra.job.override_dirname}"], ""),  # the control
    (["seed=1,2", "hydra.sweep.subdir=${seed}"], "jobs 0 and 1 would write into one folder"),
    (["seed=1,2", "hydra.sweep.subdir=../escape"], "'../escape' (job 0) is not a folder inside"),
    (["seed=1,2", "hydra.sweep.subdir=/tmp/j${hydra.job.num}"], "'/tmp/j0' (job 0) is not a"),
    # a launcher's settings its plugin refuses once started
    (
        ["seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0"],
        "hydra.launcher.n_jobs: "
        "must be a number of processes other than 0 (-1: one per core), got 0",
    ),
    (["seed=1,2", "hydra.launcher.max_group=0"], "hydra.launcher.max_group: must be an integer"),
    (["seed=1,2", "hydra.launcher.dispatch=foo"], "hydra.launcher.dispatch: must be one of"),
    (
        ["seed=1,2", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=-1"],
        "hydra.launcher.timeout_min: must be an integer >= 1, got -1",
    ),
    # Hydra's keys and an optimizing sweep's
    (
        ["seed=1,2", "hydra.sweeper.n_trials=3"],
        "hydra.sweeper.n_trials: not a setting of hydra/"
        "sweeper=checked (its settings: max_batch_size, params); hydra/sweeper=optuna has it",
    ),
    ([*OPTUNA, "hydra.sweeper.storage=garbage"], "hydra.sweeper.storage: 'garbage' is not a"),
    ([*OPTUNA, "hydra.sweeper.storage=sqlite:////no/dir/s.db"], "no such folder /no/dir"),
    (
        [*OPTUNA, "penalty.lam=int(interval(0.5, 0.7))"],
        "penalty.lam: int(interval(0.5, 0.7)) rounds its bounds 0.5 and 0.7 to integers",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), SWEEP_CASES)
def test_bad_sweep_input(overrides, message, tmp_path, monkeypatch, capsys):
    """A sweep's settings that would fail (or write where they should not) once it started:
    one line, exit code 2, no folder."""
    monkeypatch.chdir(tmp_path)
    if not message:  # distinct and inside: it runs (the control)
        assert main(["sweep", *overrides, "train.epochs=2", "plots.enabled=false"]) == 0
        assert sorted(p.name for p in next(tmp_path.glob("outputs/multirun/*/*")).iterdir()
                      if p.is_dir()) == [f"splots.enabled=False,seed={i},train.epochs=2"
                                         for i in (1, 2)]  # fmt: skip
        return
    assert main(["sweep", *overrides]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regexp: error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err, err
    assert not (tmp_path / "outputs").exists() and not (tmp_path.parent / "escape").exists()


def test_a_slurm_launcher_where_there_is_no_slurm(tmp_path, monkeypatch, capsys):
    from regexp.config import launchers

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(launchers.shutil, "which", lambda name: None)
    for preset in ("submitit_slurm", "batched_submitit_slurm"):
        assert main(["sweep", "seed=1,2", f"hydra/launcher={preset}"]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"regexp: error: hydra/launcher={preset}: no SLURM here (no srun or sbatch on "
            "PATH); run the sweep on the cluster's login node, or pick a local launcher such "
            "as submitit_local\n"
        )
    assert not (tmp_path / "outputs").exists()


def test_a_sweep_that_does_not_fit_its_disk_is_refused_before_any_folder(
    tmp_path, monkeypatch, capsys
):
    import types

    from regexp.config import size

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        size.shutil, "disk_usage", lambda path: types.SimpleNamespace(free=10**5, total=10**9)
    )
    assert main(["sweep", "seed=1,2,3", "hydra.sweep.dir=s"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regexp: error: hydra.sweep.dir: the sweep of 3 jobs writes about ")
    assert err.endswith("more than the 100 kB free on the disk of s; free some, or give a folder "
                        "on another disk\n")  # fmt: skip
    assert not (tmp_path / "s").exists()
