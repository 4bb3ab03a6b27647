"""regexp.runs.study: the Optuna side of an Optuna sweep: distributions, samplers by name,
the study in SQLite reopened, and a job's value told (NaN as FAIL)."""

import math

import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import (  # noqa: E402
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState  # noqa: E402

from regexp.config.errors import ConfigError  # noqa: E402
from regexp.config.search_space import search_space  # noqa: E402
from regexp.runs import study as studies  # noqa: E402


def test_each_dimension_becomes_optunas_distribution():
    space = search_space(
        [
            "lam=tag(log, interval(1e-6, 1e-1))",
            "lr=interval(0.001, 0.1)",
            "units=int(interval(1, 64))",
            "epochs=range(10, 50, 10)",
            "step=range(0.1, 0.5, 0.1)",
            "hidden_units=choice([4],[8])",
            "seed=1",
        ]
    )
    assert studies.distributions(space) == {
        "lam": FloatDistribution(1e-6, 0.1, log=True),
        "lr": FloatDistribution(0.001, 0.1),
        "units": IntDistribution(1, 64),
        "epochs": IntDistribution(10, 40, step=10),
        "step": FloatDistribution(0.1, 0.4, step=0.1),
        "hidden_units": CategoricalDistribution(["[4]", "[8]"]),
    }


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["lam=tag(log, interval(0, 1))"], "lam: "),  # Optuna's own words: no log from 0
        (["seed=1"], "hydra.sweeper.params: nothing to search"),
    ],
)
def test_a_space_optuna_refuses_names_the_key(lines, message):
    with pytest.raises(ConfigError) as err:
        studies.distributions(search_space(lines))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("tpe", optuna.samplers.TPESampler),
        ("cmaes", optuna.samplers.CmaEsSampler),
        ("random", optuna.samplers.RandomSampler),
        ("qmc", optuna.samplers.QMCSampler),
    ],
)
def test_samplers_by_name_with_a_seed(name, cls):
    assert type(studies.make_sampler({"name": name, "seed": 3})) is cls


def test_the_same_seed_draws_the_same_trials_and_an_offset_others():
    space = {"x": FloatDistribution(0, 1)}

    def draws(offset):
        study = optuna.create_study(
            sampler=studies.make_sampler({"name": "random", "seed": 7}, offset)
        )
        return [study.ask(space).params["x"] for _ in range(3)]

    assert draws(0) == draws(0)
    assert draws(3) != draws(0)


def test_a_samplers_keyword_arguments_reach_it():
    """TPE draws its first n_startup_trials as a RandomSampler of its seed would, then from
    its model of the told values: with 4, the fifth trial is TPE's own; by default (10) not."""
    space = {"x": FloatDistribution(0, 1)}

    def draws(sampler, n: int = 6) -> list[float]:
        study = optuna.create_study(sampler=sampler)
        for _ in range(n):
            trial = study.ask(space)
            study.tell(trial, (trial.params["x"] - 0.3) ** 2)
        return [trial.params["x"] for trial in study.trials]

    random = draws(optuna.samplers.RandomSampler(seed=1))
    started = draws(studies.make_sampler({"name": "tpe", "seed": 1, "n_startup_trials": 4}))
    assert started[:4] == random[:4] and started[4] != random[4] and started[5] != random[5]
    assert draws(studies.make_sampler({"name": "tpe", "seed": 1})) == random


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"name": "bayes"}, "hydra.sweeper.sampler.name: must be one of tpe, cmaes, random, qmc"),
        ({"name": "tpe", "n_start": 4}, "hydra.sweeper.sampler: TPESampler: "),
    ],
)
def test_a_bad_sampler_names_its_key(conf, message):
    with pytest.raises(ConfigError) as err:
        studies.make_sampler(conf)
    assert str(err.value).startswith(message)


def test_the_study_lives_in_the_sweep_folder_and_reopens_with_its_trials(tmp_path):
    url = studies.storage_url(None, tmp_path)
    assert url == f"sqlite:///{tmp_path / 'study.db'}"
    assert studies.storage_url("sqlite:///elsewhere.db", tmp_path) == "sqlite:///elsewhere.db"
    assert studies.load_study(tmp_path) is None  # no study.db yet
    space = {"x": FloatDistribution(0, 1)}
    study = studies.open_study(None, tmp_path, "s", "minimize", {"name": "random", "seed": 1})
    told = [studies.tell(study, study.ask(space).number, v) for v in (0.5, math.nan, "x", 0.25)]
    assert told == [True, False, False, True]
    study.ask(space)  # asked, never told: an interrupted sweep's trial
    assert (tmp_path / "study.db").is_file()

    again = studies.open_study(None, tmp_path, "s", "minimize", {"name": "random", "seed": 1})
    states = [t.state for t in again.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE,
                      TrialState.RUNNING]  # fmt: skip
    assert studies.asked(again) == 5 and [t.number for t in studies.unfinished(again)] == [4]
    assert studies.failure_rate(again) == 0.5
    assert again.best_value == 0.25 and "best so far trial 3: 0.25" == studies.best_so_far(again)
    assert studies.load_study(tmp_path).study_name == "s"


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("garbage", "'garbage' is not a database URL; give sqlite:///PATH/study.db"),
        ("nosuch://x", "'nosuch://x' is not a database URL"),
        ("sqlite:////no/such/folder/s.db", "'sqlite:////no/such/folder/s.db': no such folder"),
        ("sqlite://", "'sqlite://' keeps the study in memory, lost at the end; give a file"),
        ("oracle://host/db", "'oracle://host/db' needs the "),
    ],
)
def test_a_storage_optuna_cannot_open_names_its_key(storage, message):
    with pytest.raises(ConfigError) as err:
        studies.check_storage(storage)
    assert str(err.value).startswith(f"hydra.sweeper.storage: {message}"), err.value


def test_a_storage_that_can_be_opened_passes(tmp_path):
    studies.check_storage(None)
    studies.check_storage(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert not (tmp_path / "elsewhere.db").exists()  # checked, not made


def test_the_trials_a_study_holds(tmp_path):
    assert studies.trials_held(None, tmp_path, "s") == 0  # no study.db
    study = studies.open_study(None, tmp_path, "s", "minimize", {"name": "random"})
    for _ in range(3):
        study.ask({"x": FloatDistribution(0, 1)})
    assert studies.trials_held(None, tmp_path, "s") == 3
    assert studies.trials_held(None, tmp_path, "other") == 0
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "study.db").write_text("not a database")
    with pytest.raises(ConfigError, match="^hydra.sweeper.storage: cannot read sqlite:///"):
        studies.trials_held(None, tmp_path / "bad", "s")
