"""hydra_plugins.regexp_launcher.batched_launcher: the launcher Hydra instantiates."""

from hydra_plugins.regexp_launcher.batched_launcher import BatchedLauncher, BatchedLauncherConf


def test_the_launchers_config_targets_its_class():
    assert (
        BatchedLauncherConf._target_ == f"{BatchedLauncher.__module__}.{BatchedLauncher.__name__}"
    )
