"""regexp.config.job_dirs: a sweep's job folders, distinct and inside the sweep folder."""

import pytest

from regexp.config.compose import compose
from regexp.config.errors import ConfigError
from regexp.config.job_dirs import check_subdirs

JOBS = [
    ["seed=1", "hidden_units=[2]"],
    ["seed=2", "hidden_units=[2]"],
    ["seed=1", "hidden_units=[4]"],
]


def _cfg(subdir: str):
    return compose([f"hydra.sweep.subdir={subdir}", "hydra.sweep.dir=/tmp/s"], with_hydra=True)


@pytest.mark.parametrize(
    "subdir",
    [
        "${hydra.job.num}",
        "job${hydra.job.num}",
        "${hydra.job.override_dirname}",
        "${seed}_${hydra.job.num}",
        "a/../${hydra.job.num}",
        "${hydra:job.num}",
        "${hydra.job.override_dirname}/${seed}",
    ],  # fmt: skip
)
def test_a_subdir_naming_each_job_passes(subdir):
    check_subdirs(_cfg(subdir), JOBS)


@pytest.mark.parametrize(
    ("subdir", "message"),
    [
        ("x", "jobs 0 and 1 would write into one folder 'x'; name each job's, by"),
        # the batched launcher resolves a config key with the sweep's value, not the job's
        ("${seed}", "jobs 0 and 1 would write into one folder '8746'"),
        ("a/${hidden_units}", "jobs 0 and 1 would write into one folder 'a/[16]'"),
        ("../escape", "'../escape' (job 0) is not a folder inside the sweep folder"),
        ("../${hydra.job.num}", "'../0' (job 0) is not a folder inside the sweep folder"),
        ("a/../../b${hydra.job.num}", "'a/../../b0' (job 0) is not a folder inside"),
        ("/tmp/abs${hydra.job.num}", "'/tmp/abs0' (job 0) is not a folder inside"),
        (".", "'.' (job 0) is not a folder inside the sweep folder"),
        ("${oc.env:NO_SUCH_VARIABLE_HERE}", "cannot be resolved before the sweep starts"),
    ],
)
def test_a_subdir_shared_by_jobs_or_outside_the_sweep_is_refused(subdir, message):
    with pytest.raises(ConfigError) as err:
        check_subdirs(_cfg(subdir), JOBS)
    assert str(err.value).startswith("hydra.sweep.subdir: ") and message in str(err.value)


def test_one_job_may_have_any_folder_inside():
    check_subdirs(_cfg("x"), JOBS[:1])
