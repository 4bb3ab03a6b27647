"""regexp.config.compose: one override parser (Hydra's), composing from regexp's conf/ or a user's
folders as hydra.main would, and the sweep expansion that checks every job."""

import pytest

from regexp.config.compose import (
    check,
    compose,
    expand_sweep,
    given_value,
    override_key,
    parse_override,
    source_of,
)
from regexp.config.errors import UsageError


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("seed=1", "seed"),
        ("+a.b=1", "a.b"),
        ("++hydra.sweep.dir=X", "hydra.sweep.dir"),
        ("hydra/launcher=joblib", "hydra/launcher"),
        ("~penalty", "penalty"),
    ],
)
def test_override_key_is_hydras(line, key):
    assert override_key(line) == key


def test_given_value_sees_every_prefix_and_the_last_wins():
    lines = ["seed=1,2", "hydra.sweep.dir=A", "++hydra.sweep.dir='B,C'"]
    assert given_value(lines, "hydra.sweep.dir") == "B,C"
    assert given_value(lines, "hydra.run.dir") is None


def test_a_malformed_override_is_one_usage_error():
    with pytest.raises(UsageError, match=r"^malformed override 'hidden_units=\[2'"):
        parse_override("hidden_units=[2")


def test_optimizing_sweep_syntax_is_checked_at_its_corners():
    jobs = expand_sweep(
        ["optimizer.lr=tag(log, interval(1e-3, 1e-1))", "train.epochs=tag(int, interval(1, 9))"],
        discrete=True,
    )
    assert jobs == [
        ["optimizer.lr=0.001", "train.epochs=1"],
        ["optimizer.lr=0.001", "train.epochs=9"],
        ["optimizer.lr=0.1", "train.epochs=1"],
        ["optimizer.lr=0.1", "train.epochs=9"],
    ]
    with pytest.raises(UsageError):  # Hydra's basic sweeper knows no intervals
        expand_sweep(["optimizer.lr=interval(0.1, 1)"])


@pytest.fixture
def user_conf(tmp_path):
    """A user's config folder: a good and a bad experiment, and one shadowing a data option."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(
        "# @package _global_\nhidden_units: [3]\nname: mine\n"
    )
    (tmp_path / "experiment" / "bad.yaml").write_text("# @package _global_\nhidden_units: 3\n")
    return tmp_path


def test_config_dir_is_searched(user_conf):
    source = source_of(config_dir=str(user_conf))
    assert check(["+experiment=mine"], source).hidden_units == (3,)
    with pytest.raises(UsageError, match="^hidden_units: must be a list"):
        check(["+experiment=bad"], source)
    with pytest.raises(UsageError, match="unknown option 'mine'"):
        check(["+experiment=mine"])  # not without the folder
    with pytest.raises(UsageError, match="allowed: bad, mine, model_1024units"):
        check(["+experiment=nope"], source)  # the user's options are listed too


def test_config_path_and_name_pick_the_primary_config(tmp_path):
    (tmp_path / "tiny.yaml").write_text(
        "defaults:\n  - config\n  - _self_\nhidden_units: [5]\n"
        "hydra:\n  searchpath: [pkg://regexp.conf]\n"
    )
    source = source_of(config_path=str(tmp_path), config_name="tiny")
    assert compose([], source).hidden_units == [5]


def test_config_folders_must_exist(tmp_path):
    with pytest.raises(UsageError, match="^--config-dir: no such folder"):
        source_of(config_dir=str(tmp_path / "nope"))


@pytest.mark.parametrize(
    "fixed",
    [
        ["hidden_units=[16,16]", "train.epochs=3", "hydra/launcher=basic"],
        ["penalty=l2", "penalty.lam=0.01", "hydra.sweep.dir=/tmp/x/${name}", "name=mine"],
        ["+experiment=model_somany"],
    ],
)
def test_a_sweep_plan_composes_once(fixed):
    """plan's one compose (the jobs' base with `hydra`, then the KEY=VALUE overrides) gives
    the config Hydra's compose of every fixed override gives, but for the two fields that
    name the overrides; its task part is the jobs' base as check_jobs composes it."""
    from omegaconf import OmegaConf

    from regexp.config.compose import check_jobs, split_values
    from regexp.config.plan import _composed

    cfg, bases = _composed(fixed, source_of())
    want = compose(fixed, with_hydra=True)
    for c in (cfg, want):
        c.hydra.overrides.task, c.hydra.job.override_dirname = [], ""
    assert OmegaConf.to_container(cfg) == OmegaConf.to_container(want)
    base_key, _ = split_values(fixed)
    alone = compose(base_key)
    assert OmegaConf.to_container(bases[base_key]) == OmegaConf.to_container(alone)
    assert OmegaConf.is_struct(bases[base_key]) and OmegaConf.is_struct(alone)
    jobs = [[*fixed, f"seed={i}"] for i in (1, 2)]
    assert check_jobs(jobs, source_of(), bases) == check_jobs(jobs, source_of())


def test_a_sweep_folder_named_after_the_overrides_takes_the_full_compose():
    from regexp.config.plan import _composed

    fixed = ["seed=3", "hydra.sweep.dir=/tmp/x/${hydra.job.override_dirname}"]
    cfg, bases = _composed(fixed, source_of())
    assert bases == {} and cfg.hydra.job.override_dirname == "seed=3"


def test_a_seed_sweep_is_checked_with_one_compose(monkeypatch):
    """plan_sweep of 16 seeds composes once: its config and every job's check share it."""
    import regexp.config.compose as config
    import regexp.config.plan as plan

    calls = []
    real = config.compose

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(config, "compose", counted)
    monkeypatch.setattr(plan, "compose", counted)
    seeds = ",".join(map(str, range(16)))
    got = plan.plan_sweep(["hidden_units=[4]", f"seed={seeds}", "train.epochs=2"], claim=False)
    assert [s.seed for s in got.settings] == list(range(16))
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("overrides", "pooled"),
    [
        (["hidden_units=[4]", "seed=1,2,3,4,5"], 5),  # one stacked group, plots on
        (["hidden_units=[4]", "seed=1,2,3", "plots.enabled=false"], 0),
        (["hidden_units=[4]", "seed=1,2,3", "hydra/launcher=basic"], 0),  # one by one
        (["hidden_units=[2],[8]", "seed=1"], 0),  # each job alone: drawn where it runs
        (["hidden_units=[2],[8]", "seed=1,2"], 4),  # two groups of two
        (["hidden_units=[4]", "seed=1,2", "hydra/launcher=batched_ray"], 0),  # not here
    ],
)
def test_the_plan_counts_the_figures_a_batched_sweep_draws_in_a_pool(overrides, pooled):
    """The CLI starts the figure pool (before torch) when the batched launcher will draw
    jobs' figures in one; it counts them as the launcher plans its units."""
    from regexp.config.plan import plan_sweep

    assert plan_sweep([*overrides, "train.epochs=2"], claim=False).pooled_figures == pooled


def test_the_batched_launchers_target_is_the_one_grouping_names():
    from hydra_plugins.regexp_launcher.batched_launcher import BatchedLauncher, BatchedLauncherConf
    from regexp.runs.grouping import BATCHED_LAUNCHER

    assert BatchedLauncherConf._target_ == BATCHED_LAUNCHER
    assert f"{BatchedLauncher.__module__}.{BatchedLauncher.__name__}" == BATCHED_LAUNCHER
