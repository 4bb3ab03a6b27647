"""hydra_plugins.regexp_launcher.batched_launcher: the launcher Hydra instantiates."""

from hydra_plugins.regexp_launcher.batched_launcher import BatchedLauncher, BatchedLauncherConf


def test_the_launchers_config_targets_its_class():
    assert (
        BatchedLauncherConf._target_ == f"{BatchedLauncher.__module__}.{BatchedLauncher.__name__}"
    )


def test_figures_go_to_a_pool_of_the_launchers_own_only_for_many_plotted_jobs(monkeypatch):
    """Below MIN_JOBS plotted jobs, or with one core, a job's figures are drawn where it was
    trained; from MIN_JOBS on, in a pool of a process per core that the launch owns."""
    from regexp.figures import pool as pools

    started = []

    class Pool:
        def __init__(self, processes):
            started.append(processes)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr("hydra_plugins.regexp_launcher.batched_launcher.FigurePool", Pool)
    monkeypatch.setattr("hydra_plugins.regexp_launcher.batched_launcher.cores", lambda: 2)
    with BatchedLauncher._pool(pools.MIN_JOBS - 1) as pool:
        assert pool is None
    with BatchedLauncher._pool(pools.MIN_JOBS) as pool:
        assert isinstance(pool, Pool) and started == [2]
    monkeypatch.setattr("hydra_plugins.regexp_launcher.batched_launcher.cores", lambda: 1)
    with BatchedLauncher._pool(10 * pools.MIN_JOBS) as pool:
        assert pool is None and started == [2]
