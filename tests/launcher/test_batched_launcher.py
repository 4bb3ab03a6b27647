"""hydra_plugins.regexp_launcher.batched_launcher: the launcher Hydra instantiates."""

from hydra import compose, initialize_config_module
from hydra.plugins.launcher import Launcher
from hydra.utils import instantiate

from hydra_plugins.regexp_launcher.batched_launcher import BatchedLauncher


def test_hydra_makes_this_launcher_from_hydra_launcher_batched_with_its_settings():
    overrides = ["hydra/launcher=batched", "hydra.launcher.dispatch=ray",
                 "+hydra.launcher.ray.remote.num_cpus=2"]  # fmt: skip
    with initialize_config_module("regexp.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
    launcher = instantiate(cfg.hydra.launcher)  # as Hydra's Plugins.instantiate_launcher does
    # Hydra's plugin scan runs the plugin modules again: the same class, a new class object
    made = type(launcher)
    assert isinstance(launcher, Launcher)
    assert (made.__module__, made.__qualname__) == (BatchedLauncher.__module__, "BatchedLauncher")
    assert launcher.dispatch == "ray"
    assert launcher.options == {"init": {"address": None}, "remote": {"num_cpus": 2}}
