"""regexp.config.launchers: a launcher's settings checked before any folder is made."""

import pytest

from regexp.config import launchers
from regexp.config.errors import ConfigError, UsageError
from regexp.config.launchers import check_launcher

BATCHED = {
    "_target_": "hydra_plugins.regexp_launcher.batched_launcher.BatchedLauncher",
    "memory_mb": 2048, "max_group": 256, "min_group": 2, "max_params": 1_000_000,
    "dispatch": "local", "submitit": {"cluster": "local"}, "ray": {},
}  # fmt: skip
JOBLIB = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
          "n_jobs": -1}  # fmt: skip
SUBMITIT = "hydra_plugins.hydra_submitit_launcher.submitit_launcher."
LOCAL = {"_target_": SUBMITIT + "LocalLauncher", "timeout_min": 60, "cpus_per_task": 1,
         "gpus_per_node": 0, "tasks_per_node": 1, "nodes": 1}  # fmt: skip
SLURM = {**LOCAL, "_target_": SUBMITIT + "SlurmLauncher", "gpus_per_node": None}


def test_the_dispatches_are_the_launchers_own():
    from hydra_plugins.regexp_launcher.dispatch import DISPATCHES

    assert launchers.DISPATCHES == DISPATCHES


@pytest.fixture
def slurm(monkeypatch):
    """A machine with SLURM's commands on PATH."""
    monkeypatch.setattr(launchers.shutil, "which", lambda name: f"/usr/bin/{name}")


@pytest.mark.parametrize(
    "conf",
    [
        BATCHED,
        JOBLIB,
        LOCAL,
        SLURM,
        {**JOBLIB, "n_jobs": None},
        {**BATCHED, "memory_mb": 0.5},
        {"_target_": "other.Launcher"},
    ],
)
def test_good_settings_pass(conf, slurm):
    check_launcher(conf)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({**JOBLIB, "n_jobs": 0}, "hydra.launcher.n_jobs: must be a number of processes other"),
        ({**JOBLIB, "n_jobs": 1.5}, "hydra.launcher.n_jobs: must be a number of processes"),
        ({**BATCHED, "memory_mb": 0}, "hydra.launcher.memory_mb: must be a number > 0, got 0"),
        ({**BATCHED, "memory_mb": "lots"}, "hydra.launcher.memory_mb: must be a number > 0"),
        ({**BATCHED, "max_group": 0}, "hydra.launcher.max_group: must be an integer >= 1, got 0"),
        ({**BATCHED, "min_group": -1}, "hydra.launcher.min_group: must be an integer >= 1"),
        ({**BATCHED, "max_params": True}, "hydra.launcher.max_params: must be an integer >= 1"),
        ({**BATCHED, "dispatch": "foo"}, "hydra.launcher.dispatch: must be one of local, submit"),
        ({**LOCAL, "timeout_min": -1}, "hydra.launcher.timeout_min: must be an integer >= 1"),
        ({**LOCAL, "nodes": 0}, "hydra.launcher.nodes: must be an integer >= 1, got 0"),
        ({**LOCAL, "gpus_per_node": -1}, "hydra.launcher.gpus_per_node: must be an integer >= 0"),
    ],
)
def test_bad_settings_name_their_key(conf, message, slurm):
    with pytest.raises(ConfigError) as err:
        check_launcher(conf)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("conf", "choice"),
    [(SLURM, "submitit_slurm"),
     ({**BATCHED, "dispatch": "submitit", "submitit": {"cluster": "slurm"}},
      "batched_submitit_slurm")],
)  # fmt: skip
def test_a_slurm_launcher_without_slurm_is_one_line(conf, choice, monkeypatch):
    monkeypatch.setattr(launchers.shutil, "which", lambda name: None)
    with pytest.raises(UsageError) as err:
        check_launcher(conf, choice)
    assert str(err.value).startswith(f"hydra/launcher={choice}: no SLURM here (no srun or sbatch")
