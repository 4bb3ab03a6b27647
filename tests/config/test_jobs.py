"""regexp.config.jobs: a sweep's jobs expanded as Hydra's basic sweeper does, and their configs
loaded once per base."""

import pytest

from regexp.config.compose import check
from regexp.config.errors import UsageError
from regexp.config.jobs import check_jobs, count_jobs, expand_sweep


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


def test_fast_sweep_check_equals_a_full_compose_per_job(monkeypatch):
    from regexp.config import compose as configure
    from regexp.config import jobs as configs

    composed = []
    real_compose = configure.compose

    def counted(o, *a):
        composed.append(o)
        return real_compose(o, *a)

    monkeypatch.setattr(configure, "compose", counted)
    monkeypatch.setattr(configs, "compose", counted)

    jobs = expand_sweep(
        [
            "seed=1,2",
            "penalty=l2,l1",
            "penalty.lam=0.1,[0.1,0.2]",
            "hidden_units=[3],[4,5]",
            "optimizer.lr=0.5",
            "+experiment=model_8units",
        ]
    )
    ok = [j for j in jobs if not ("hidden_units=[4,5]" in j and "penalty.lam=[0.1,0.2]" in j)]
    assert len(ok) == 12
    assert check_jobs(ok) == [check(j) for j in ok]
    # 2 penalty choices composed once each for check_jobs, then once per job for check
    assert len(composed) == 2 + len(ok)
    with pytest.raises(UsageError, match=r"^job 1 \(.*\): penalty.lam: a list needs one value"):
        check_jobs([["penalty=l2", "hidden_units=[3]"], ["penalty=l2", "penalty.lam=[1,2,3]"]])
    with pytest.raises(UsageError, match=r"^job 0 \(nope=1\): nope: unknown key"):
        check_jobs([["nope=1"], ["seed=2"]])


@pytest.mark.parametrize(
    "lines",
    [
        ["seed=1,2,3", "hidden_units=[2],[4]"],
        ["seed=range(0,10)", "lr=range(0.1,0.55,0.1)"],
        ["seed=range(10,0,-3)", "x=1"],
        ["seed=range(0,0)"],
        ["seed=1,2", "seed=5,6,7"],  # the later line of a key replaces the earlier one
        ["seed=shuffle(range(0,5))", "hidden_units=[2],[4]", "lr=0.1"],
        ["x=1"],
    ],
)
def test_a_sweep_is_counted_without_listing_it(lines):
    assert count_jobs(lines) == len(expand_sweep(lines))


def test_a_huge_sweep_is_counted_at_once():
    assert count_jobs(["seed=range(0,1000000000000)", "hidden_units=[2],[4]"]) == 2 * 10**12
