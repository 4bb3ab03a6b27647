"""regexp run / regexp sweep: Hydra's flags through the same checks, honest exit codes, output
folders the Hydra way, optimizing sweepers."""

import json

import pytest

from regexp.cli import main

FAST = ["train.epochs=5", "plots.enabled=false"]


@pytest.fixture
def user_conf(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGEXP_OUTPUTS", raising=False)
    folder = tmp_path / "myconf" / "experiment"
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text("# @package _global_\nhidden_units: [3]\nname: mine\n")
    (folder / "bad.yaml").write_text("# @package _global_\nhidden_units: 3\n")
    (folder / "here.yaml").write_text(
        "# @package _global_\nhydra:\n  run:\n    dir: mine/${now:%Y}\n  sweep:\n    dir: swept\n"
    )
    return tmp_path


def _one_line_error(capsys, text):
    err = capsys.readouterr().err
    assert err.startswith("regexp: error: ") and err.count("\n") == 1 and text in err, err


def test_user_config_dir_good_and_bad_run(user_conf, capsys):
    assert main(["run", "--config-dir", "myconf", "+experiment=bad", *FAST]) == 2
    _one_line_error(capsys, "hidden_units: must be a list of positive integers")
    assert not (user_conf / "outputs").exists()  # checked before any folder
    assert main(["run", "-cd", "myconf", "+experiment=mine", *FAST]) == 0
    (run,) = (user_conf / "outputs").glob("*/*")
    assert json.loads((run / "metrics.json").read_text())["name"] == "mine"
    assert (run / "regexp.log").is_file()


def test_a_user_file_named_like_a_shipped_one_gets_a_warning(user_conf, capsys):
    """Hydra reads regexp's conf/ before a --config-dir: say so instead of ignoring the file."""
    (user_conf / "myconf" / "experiment" / "model_8units.yaml").write_text(
        "# @package _global_\nhidden_units: [5]\n"
    )
    assert main(["run", "-cd", "myconf", "+experiment=model_8units", "--cfg", "job"]) == 0
    out, err = capsys.readouterr()
    assert err == (
        "regexp: warning: --config-dir: experiment/model_8units.yaml is also one of regexp's "
        "own configs, and Hydra reads regexp's; give yours another name\n"
    )
    assert "hidden_units:\n- 8\n" in out  # the shipped file's, as the warning says
    (user_conf / "myconf" / "experiment" / "model_8units.yaml").unlink()
    assert main(["run", "-cd", "myconf", "+experiment=mine", "--cfg", "job"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_user_config_dir_sweep_checks_every_job_first(user_conf, capsys):
    assert main(["sweep", "-cd", "myconf", "+experiment=mine,bad", *FAST]) == 2
    _one_line_error(capsys, "job 1 (+experiment=bad")
    assert not (user_conf / "outputs").exists()
    assert main(["sweep", "-cd", "myconf", "+experiment=mine", "seed=1,2", *FAST]) == 0
    (sweep,) = (user_conf / "outputs" / "multirun").glob("*/*")
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]


@pytest.mark.slow
def test_run_multirun_is_a_checked_sweep_with_a_summary(user_conf, capsys):
    assert main(["run", "-m", "seed=1,2", "hidden_units=3", *FAST]) == 2
    _one_line_error(capsys, "hidden_units: must be a list")
    assert main(["run", "-m", "seed=1,2", *FAST]) == 0
    (sweep,) = (user_conf / "outputs" / "multirun").glob("*/*")
    assert (sweep / "summary.csv").read_text().count("\n") == 3  # header + 2 jobs


@pytest.mark.slow
def test_double_plus_sweep_dir(user_conf):
    assert main(["sweep", "seed=1,2", "++hydra.sweep.dir=X", *FAST]) == 0
    assert (user_conf / "X" / "summary.csv").is_file() and (user_conf / "X" / "1").is_dir()


def test_exit_code_1_when_the_run_diverges(user_conf, capsys):
    code = main(["run", "optimizer=sgd", "optimizer.lr=1e6", "hidden_units=[64]", *FAST])
    assert code == 1
    assert "diverged" in capsys.readouterr().out


def test_outputs_from_a_config_file_the_environment_and_the_same_second(user_conf, monkeypatch):
    assert main(["run", "-cd", "myconf", "+experiment=here", *FAST]) == 0
    assert main(["run", "-cd", "myconf", "+experiment=here", *FAST]) == 0
    made = sorted(p.name for p in (user_conf / "mine").iterdir())
    year = made[0]
    assert made[1] == f"{year}-1"  # a time-named folder is never shared
    monkeypatch.setenv("REGEXP_OUTPUTS", str(user_conf / "root"))
    assert main(["run", *FAST]) == 0
    assert len(list((user_conf / "root").glob("*/*/metrics.json"))) == 1
    monkeypatch.setenv("REGEXP_OUTPUTS", "")  # set but empty: as unset, never under /
    assert main(["sweep", "seed=1,2", *FAST]) == 0
    assert len(list((user_conf / "outputs" / "multirun").glob("*/*/summary.csv"))) == 1


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["run", "--cfg", "job", "hidden_units=3"], "hidden_units: must be a list"),
        (["run", "--info", "all", "hidden_units=3"], "hidden_units: must be a list"),
        (["run", "--resolve"], "--resolve goes with --cfg"),
        (["run", "--cfg", "nope"], "argument --cfg/-c: invalid choice"),
        (["run", "-cd", "no/such/folder"], "--config-dir: no such folder"),
        (["sweep", "--cfg", "job", "seed=1,x"], "seed: must be an integer"),
        # the preset's search space needs penalty=l1/l2 ...
        (["sweep", "hydra/sweeper=optuna_lam_lr"], "penalty.lam: unknown key"),
        # Hydra shows one thing at a time
        (["run", "--cfg", "job", "--info"], "--cfg, --info: give one of them"),
        (["sweep", "-c", "hydra", "-i", "defaults", "seed=1,2"], "--cfg, --info: give one"),
        (["run", "--info", "--shell-completion"], "--info, --shell-completion: give one"),
    ],
)
def test_hydra_flags_go_through_the_same_checks(user_conf, capsys, argv, text):
    assert main(argv) == 2
    _one_line_error(capsys, text)
    assert not (user_conf / "outputs").exists()


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["sweep", "--cfg", "job", "seed=5,6", "hidden_units=[3],[4]"], "- 3\n"),
        (["run", "-m", "--cfg", "job", "seed=5,6"], "seed: 5\n"),
        (
            ["sweep", "hydra/sweeper=optuna_lam_lr", "penalty=l2", "seed=5", "--cfg", "job"],
            "seed: 5\n",
        ),
    ],
)
def test_cfg_of_a_sweep_shows_its_first_job(user_conf, capsys, argv, shown):
    """Hydra shows no multirun's config: regexp shows the sweep's first job's (an optimizing
    sweep's: its fixed overrides), and makes no folder."""
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert shown in captured.out and "Traceback" not in captured.err
    assert not (user_conf / "outputs").exists()


def test_cfg_prints_the_users_composed_config(user_conf, capsys):
    assert main(["run", "--cfg", "job", "-cd", "myconf", "+experiment=mine"]) == 0
    out = capsys.readouterr().out
    assert "hidden_units:\n- 3\n" in out and "name: mine" in out


def test_help_is_hydras_with_the_groups_and_the_app_named_regexp(user_conf, capsys):
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("regexp is powered by Hydra.")
    assert "== Configuration groups ==" in out
    assert "penalty: l1, l1_l2, l2, none" in out and "optimizer: adam, momentum" in out


@pytest.mark.slow
def test_optuna_sweep_improves_on_its_first_trial(user_conf):
    pytest.importorskip("optuna", reason="pip install 'regexp[optuna]'")
    argv = ["sweep", "hydra/sweeper=optuna_lam_lr", "penalty=l2", "plots.enabled=false"]
    argv += ["train.epochs=200", "hydra.sweeper.n_trials=6", "hydra.sweep.dir=opt"]
    assert main(argv) == 0
    objective = [
        json.loads((user_conf / "opt" / str(k) / "metrics.json").read_text())["val_mse"]
        for k in range(6)
    ]
    assert min(objective[1:]) < objective[0]
    from regexp.runs.layout import RunDir

    lams = {RunDir(user_conf / "opt" / str(k)).config_tree()["penalty"]["lam"] for k in range(6)}
    assert len(lams) == 6 and all(1e-6 <= lam <= 1e-1 for lam in lams)  # the preset's range


def test_cli_run_writes_the_contract_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["run", "train.epochs=20", "hidden_units=[4]", "name=tiny"])
    assert code == 0
    (run_dir,) = list((tmp_path / "outputs").glob("*/*"))
    for name in (
        "metrics.json",
        "history.csv",
        "weights.safetensors",
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
        "plots/layers.png",
        "plots/history.png",
        "plots/activations_layer0.png",
    ):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["name"] == "tiny" and metrics["epochs"] == 20
    for key in (
        "train_mse",
        "val_mse",
        "train_loss",
        "val_loss",
        "penalty",
        "n_params",
        "seconds",
        "device",
        "seed",
    ):
        assert key in metrics
    assert f"run folder: {run_dir.relative_to(tmp_path)}" in capsys.readouterr().out


def test_cli_run_into_a_given_folder_reports_divergence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", "optimizer=sgd", "optimizer.lr=1e30", "train.epochs=20", "plots.enabled=false"]
    assert main([*args, "hydra.run.dir=mine"]) == 1
    assert json.loads((tmp_path / "mine" / "metrics.json").read_text())["status"] == "diverged"


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (OSError(28, "No space left on device", "/x/e.csv"), "/x/e.csv: No space left on device"),
        (OSError(13, "Permission denied"), "the command: Permission denied"),
        (ValueError("boom\nmore"), "ValueError: boom"),
    ],
)
def test_an_unexpected_error_is_one_line_naming_what(monkeypatch, capsys, error, line):
    """No traceback from any verb: an error nothing expected (a full disk, a bug) is one
    line, exit code 1; REGEXP_TRACEBACK=1 shows where it came from."""
    import regexp.tools.ewma as ewma

    def failing(argv):
        raise error

    monkeypatch.setattr(ewma, "cli", failing)
    assert main(["ewma"]) == 1
    assert capsys.readouterr().err == f"regexp: error: {line} (REGEXP_TRACEBACK=1 shows where)\n"
    monkeypatch.setenv("REGEXP_TRACEBACK", "1")
    with pytest.raises(type(error)):
        main(["ewma"])


def test_an_error_that_stops_hydra_is_one_line(user_conf, monkeypatch, capsys):
    """A launcher that fails (a full disk while a job's folder is written): one line, not
    Hydra's stack trace, and the sweep's summary all the same; HYDRA_FULL_ERROR=1 raises."""
    import errno
    import os

    import hydra_plugins.regexp_launcher.batched_launcher as batched
    from regexp.runs import units

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # the launcher's module as loaded, and what Hydra's plugin scan (which may execute it
    # anew) imports into it
    monkeypatch.setattr(batched, "plan_units", full)
    monkeypatch.setattr(units, "plan_units", full)
    assert main(["sweep", *FAST, "seed=1,2", "hydra.sweep.dir=s"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "regexp: error: the sweep: No space left on device\n"
    assert "2 missing" in captured.out and "HYDRA_FULL_ERROR" not in os.environ
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(OSError):
        main(["sweep", *FAST, "seed=1,2", "hydra.sweep.dir=s2"])
    assert os.environ["HYDRA_FULL_ERROR"] == "1"


def test_the_regexp_scripts_module_loads_nothing_of_the_cli_until_it_runs():
    """A spawned helper (the figure pool, the sweep's ending) runs the `regexp` script again,
    which imports regexp.__main__: the CLI's modules wait for entry(); `python -m regexp` is
    the same command."""
    import subprocess
    import sys

    probe = "import regexp.__main__, sys; print('regexp.cli' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.split() == ["False"], done.stderr
    done = subprocess.run([sys.executable, "-m", "regexp", "--help"], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("usage: regexp VERB"), done.stderr
