"""hydra_plugins.regexp_launcher.optuna_sweeper: the sweeper Hydra instantiates for
hydra/sweeper=optuna, its trials launched in runs of job numbers, and its settings checked by
the CLI before any folder (one line naming the key, exit 2)."""

from types import SimpleNamespace

import pytest
from hydra import compose, initialize_config_module
from hydra.plugins.sweeper import Sweeper
from hydra.utils import instantiate

from hydra_plugins.regexp_launcher.optuna_sweeper import OptunaSweeper, consecutive_runs
from regexp.cli import main
from regexp.config.objective import register_resolvers

PRESET = ["hydra/sweeper=optuna_lam_lr", "penalty=l2", "train.epochs=2", "plots.enabled=false"]


def test_hydra_makes_this_sweeper_from_hydra_sweeper_optuna_with_its_settings():
    register_resolvers()  # the presets' direction follows the objective, as in the CLI
    overrides = ["hydra/sweeper=optuna_lam_lr", "hydra.sweeper.n_trials=5"]
    with initialize_config_module("regexp.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
    sweeper = instantiate(cfg.hydra.sweeper)  # as Hydra's Plugins.instantiate_sweeper does
    # Hydra's plugin scan runs the plugin modules again: the same class, a new class object
    made = type(sweeper)
    assert isinstance(sweeper, Sweeper)
    assert (made.__module__, made.__qualname__) == (OptunaSweeper.__module__, "OptunaSweeper")
    assert (sweeper.n_trials, sweeper.study_name, sweeper.direction) == (5, "lam_lr", "minimize")
    assert sweeper.sampler == {"name": "tpe", "seed": 123}
    assert sweeper.pruner == {"name": "none"}


def test_trials_launch_in_runs_of_consecutive_numbers():
    trials = [SimpleNamespace(number=n) for n in (4, 5, 9, 10, 11, 2)]
    runs = [[t.number for t in run] for run in consecutive_runs(trials)]
    assert runs == [[4, 5], [9, 10, 11], [2]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hydra.sweeper.n_trials=0"], "hydra.sweeper.n_trials: must be at least 1; got 0"),
        (["hydra.sweeper.n_jobs=0"], "hydra.sweeper.n_jobs: must be at least 1; got 0"),
        (["hydra.sweeper.max_failure_rate=2"], "hydra.sweeper.max_failure_rate: must lie in"),
        (["hydra.sweeper.direction=down"], "hydra.sweeper.direction: must be one of minimize"),
        (["hydra.sweeper.sampler.name=bayes"], "hydra.sweeper.sampler.name: must be one of tpe"),
        (["+hydra.sweeper.sampler.n_start=4"], "hydra.sweeper.sampler: TPESampler: "),
        (["optimizer.lr=tag(lg, interval(1e-3, 1e-1))"], "optimizer.lr: unknown tag 'lg'"),
        (["penalty.lam=tag(log, interval(0, 1e-1))"], "penalty.lam: "),  # no log scale from 0
        (["optimizer.lr=interval(0.1, 0.01)"], "optimizer.lr: interval(0.1, 0.01) starts above"),
        (["optimizer.lr=interval(-1, 0.1)"], "optimizer.lr: must be a number > 0"),  # a corner
        (["hydra.sweeper.n_trials=many"], "hydra.sweeper.n_trials"),
        # a pruner Optuna has not, or arguments its pruner refuses
        (
            ["hydra.sweeper.pruner.name=asha"],
            "hydra.sweeper.pruner.name: must be one of none, median, successive_halving, hyperband",
        ),
        (
            ["hydra.sweeper.pruner.name=median", "+hydra.sweeper.pruner.warmup=3"],
            "hydra.sweeper.pruner: MedianPruner: ",
        ),
        (
            [
                "hydra.sweeper.pruner.name=successive_halving",
                "+hydra.sweeper.pruner.reduction_factor=1",
            ],
            "hydra.sweeper.pruner: SuccessiveHalvingPruner: The value of `reduction_factor` is 1",
        ),
        (
            ["hydra.sweeper.pruner.name=hyperband", "+hydra.sweeper.pruner.min_resource=0"],
            "hydra.sweeper.pruner: HyperbandPruner: ",
        ),
        # a storage Optuna cannot open
        (["hydra.sweeper.storage=garbage"], "hydra.sweeper.storage: 'garbage' is not a database"),
        (["hydra.sweeper.storage=sqlite:////no/such/dir/s.db"], "no such folder /no/such/dir"),
        (["hydra.sweeper.storage=sqlite://"], "keeps the study in memory, lost at the end"),
        (["hydra.sweeper.storage=oracle://h/db"], "hydra.sweeper.storage: 'oracle://h/db' needs"),
        # an integer search whose typed bounds the cast would round (every λ = 0)
        (["penalty.lam=int(interval(0.5, 0.7))"], "penalty.lam: int(interval(0.5, 0.7)) rounds"),
        (["seed=tag(int, interval(0.5, 9.5))"], "seed: tag(int, interval(0.5, 9.5)) rounds its"),
    ],
)
def test_bad_settings_get_one_line_before_any_folder(tmp_path, monkeypatch, capsys, args, message):
    pytest.importorskip("optuna")
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", *PRESET, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regexp: error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "outputs").exists()


def test_hydras_plugin_scan_of_the_sweeper_imports_no_optuna():
    """Hydra executes every plugin module at each start: a run or a basic sweep pays nothing."""
    import subprocess
    import sys

    code = (
        "import sys, hydra_plugins.regexp_launcher.optuna_sweeper; print('optuna' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_resume_asking_for_fewer_trials_than_its_study_holds_is_refused(
    tmp_path, monkeypatch, capsys
):
    """n_trials counts a study's trials in all: a resume with fewer than it holds would ask
    for none and print "6 of 3 trials"; it is refused naming the key, the folder unchanged."""
    pytest.importorskip("optuna")
    from optuna.distributions import FloatDistribution

    from regexp.runs import study as studies

    monkeypatch.chdir(tmp_path)
    assert main(["sweep", *PRESET, "hydra.sweeper.n_trials=2", "train.epochs=2",
                 "plots.enabled=false", "hydra.sweep.dir=s"]) == 0  # fmt: skip
    study = studies.open_study(None, tmp_path / "s", "lam_lr", "minimize", {"name": "random"})
    for _ in range(4):  # as if a wider resume had asked for more
        study.ask({"x": FloatDistribution(0, 1)})
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "s").rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["sweep", "--resume", "s", "hydra.sweeper.n_trials=3"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "regexp: error: hydra.sweeper.n_trials: 3 is fewer than the 6 trials the study in s "
        "holds: it counts the study's trials in all; give 6 or more\n"
    )
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "s").rglob("*") if p.is_file()} == before
