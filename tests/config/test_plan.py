"""regexp.config.plan: a sweep's config and its jobs' checks from as few composes as it can."""

import pytest

from regexp.config.compose import compose, source_of


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

    from regexp.config.jobs import check_jobs
    from regexp.config.overrides import split_values
    from regexp.config.plan import _composed

    cfg, configs = _composed(fixed, source_of())
    want = compose(fixed, with_hydra=True)
    for c in (cfg, want):
        c.hydra.overrides.task, c.hydra.job.override_dirname = [], ""
    assert OmegaConf.to_container(cfg) == OmegaConf.to_container(want)
    base_key, _ = split_values(fixed)
    alone = OmegaConf.to_container(compose(base_key))
    job = configs.load(base_key)
    assert job.error is None and job.task == alone
    jobs = [[*fixed, f"seed={i}"] for i in (1, 2)]
    assert check_jobs(jobs, source_of(), configs) == check_jobs(jobs, source_of())


def test_a_sweep_folder_named_after_the_overrides_takes_the_full_compose():
    from regexp.config.plan import _composed

    fixed = ["seed=3", "hydra.sweep.dir=/tmp/x/${hydra.job.override_dirname}"]
    cfg, configs = _composed(fixed, source_of())
    assert configs.bases == {} and cfg.hydra.job.override_dirname == "seed=3"


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
