"""regexp.config.size: a run's memory from its settings, the machine's, and the lengths a user
confirms with --yes."""

from __future__ import annotations

import sys
import types

import pytest

from regexp.config import size
from regexp.config.compose import check
from regexp.config.errors import ConfigError, UsageError


def test_the_default_runs_estimate_is_the_formula_term_by_term():
    """hidden_units=[16] on 1-D regression (50 + 1000 rows), Adam, 1000 epochs evaluated every
    10: P = 2 * 16 + 17 = 49 parameters."""
    est = size.estimate(check(["train.epochs=1000", "train.eval_every=10"]))
    assert est.parts == {
        "parameters and optimizer state": 4 * 49 * 6,
        "activations of an evaluation": 4 * 2 * 1000 * 16,  # > a step's 3 * 50 * 16
        "per-epoch losses and history": 4 * 1000 * (2 + 4 + 2 * 5),
        "per-evaluation metrics": 4 * 101 * 4 * 2,
        "init.strategy's candidates": 0,
    }
    assert est.shared == {
        "per-epoch losses and history": 1000 * (3 * size.DENSE_CELL + 2 * size.SPARSE_CELL),
        "the data": 4 * 3 * 1050 * 2,
    }
    assert est.total(3) == 3 * sum(est.parts.values()) + sum(est.shared.values())


def test_stacked_draws_count_the_data_per_model():
    s = check(["train.epochs=10"])
    one, own = size.estimate(s), size.estimate(s, own_data=True)
    assert own.total(1) == one.total(1)
    assert own.total(4) - one.total(4) == 3 * one.shared["the data"]


@pytest.mark.parametrize("budget", [10_000, 2**20, 10 * 2**20, 2**30])
def test_models_within_a_budget_fit_it_and_one_more_does_not(budget):
    est = size.estimate(check(["hidden_units=[64,64]", "train.epochs=500"]))
    k = est.models_within(budget)
    assert k == 1 or est.total(k) <= budget < est.total(k + 1)
    assert est.total(k + 1) > budget


def test_optimizers_keep_their_own_state():
    p = 49
    got = {name: size.estimate(check([f"optimizer={name}"])).parts for name in size.OPTIMIZER_STATE}
    assert {n: parts["parameters and optimizer state"] for n, parts in got.items()} == {
        "sgd": 4 * p * 4, "momentum": 4 * p * 5, "rmsprop": 4 * p * 6, "adam": 4 * p * 6,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "key", "part"),
    [
        (["hidden_units=[1000000000]"], "hidden_units", "activations of an evaluation"),
        (["hidden_units=[100000,100000]"], "hidden_units", "parameters and optimizer state"),
        (["train.epochs=2000000000"], "train.epochs", "per-epoch losses and history"),
        (["data.n_train=100000000"], "data.n_train", "activations of a training step"),
        (["data.n_val=1000000000"], "data.n_val", "activations of an evaluation"),
        (
            ["init.strategy=search", "init.candidates=10000000000", "hidden_units=[100]"],
            "init.candidates",
            "init.strategy's candidates",
        ),
        (
            ["init.strategy=grid", "hidden_units=[]", "init.candidates=100000000"],
            "init.candidates",
            "init.strategy's candidates",
        ),
    ],
)
def test_too_big_a_run_is_refused_naming_its_key_the_estimate_and_the_limit(overrides, key, part):
    s = check(overrides)
    with pytest.raises(ConfigError) as err:
        size.check_memory([s], limit=8 * 10**9)
    need = size.size(size.estimate(s).total())
    assert str(err.value) == (
        f"{key}: a run needs about {need} of memory (most for {part}), more than the 8 GB "
        "free; make it smaller"
    )


def test_a_run_that_fits_passes_and_the_largest_of_a_sweep_decides():
    small, big = check(["hidden_units=[4]"]), check(["hidden_units=[4096,4096]"])
    limit = (size.estimate(small).total() + size.estimate(big).total()) // 2
    size.check_memory([small], limit=limit)
    with pytest.raises(ConfigError, match="^hidden_units: a run needs about 436 MB"):
        size.check_memory([small, big], limit=limit)


def test_a_cuda_run_is_checked_against_the_devices_free_memory(monkeypatch):
    """device=cuda: torch is imported by the device check, so the device's free memory is
    known at no cost (a stand-in torch here: this machine may have no CUDA)."""
    cuda = types.SimpleNamespace(is_available=lambda: True, mem_get_info=lambda: (10**8, 10**9))
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    s = check(["hidden_units=[4096,4096]"])
    s = type(s)(**{**s.__dict__, "device": "cuda"})
    with pytest.raises(ConfigError, match="more than the 100 MB free of the CUDA device"):
        size.check_memory([s], limit=10**12)
    size.check_memory([check(["hidden_units=[4096,4096]"])], limit=10**12)  # cpu: not asked


def test_available_reads_memavailable(tmp_path, monkeypatch):
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       16000000 kB\nMemAvailable:    1234567 kB\n")
    monkeypatch.setattr(size, "MEMINFO", info)
    assert size.available() == 1234567 * 1024
    monkeypatch.setattr(size, "MEMINFO", tmp_path / "none")
    assert size.available() is None


def test_many_jobs_ask_for_yes_and_too_many_to_list_are_refused():
    size.check_count(size.MAX_JOBS, confirmed=False, limit=10**12)
    with pytest.raises(UsageError, match="^the sweep has 10,001 jobs, more than 10,000: .* --yes"):
        size.check_count(size.MAX_JOBS + 1, confirmed=False, limit=10**12)
    size.check_count(size.MAX_JOBS + 1, confirmed=True, limit=10**12)
    with pytest.raises(UsageError, match=r"^the sweep has 10,000,000 jobs: their list alone"):
        size.check_count(10**7, confirmed=True, limit=10**9)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("train.epochs=1000001", "train.epochs"),
        ("data.n_train=1000001", "data.n_train"),
        ("data.n_val=2000000", "data.n_val"),
    ],  # fmt: skip
)
def test_long_runs_ask_for_yes_saying_what_they_cost(override, key):
    s = check([override])
    with pytest.raises(ConfigError) as err:
        size.check_lengths([s], confirmed=False)
    value = f"{int(override.split('=')[1]):,}"
    need = size.size(size.estimate(s).total())
    assert str(err.value) == (
        f"{key}: {value} is more than 1,000,000: a run needs about {need} of memory and a "
        "long time; pass --yes to run it"
    )
    size.check_lengths([s], confirmed=True)
    size.check_lengths([check([override.split("=")[0] + "=1000000"])], confirmed=False)


def test_a_long_series_asks_for_yes():
    size.check_series(size.MAX_SERIES, 8, confirmed=False)
    with pytest.raises(UsageError, match=r"^--days: 100,000,000 is more than 1,000,000: .*6.4 GB"):
        size.check_series(10**8, 8, confirmed=False)
    size.check_series(10**8, 8, confirmed=True)


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"), (2.5e9, "2.5 GB")]
)
def test_sizes_read_as_a_person_writes_them(n, text):
    assert size.size(n) == text


def test_a_jobs_disk_is_its_weights_history_figures_and_files():
    s = check(["train.epochs=1000"])  # [16]: 49 parameters, 3 figures (one hidden layer)
    assert size.disk_bytes(s) == 4 * 49 + 64 * 1000 + 3 * size.FIGURE_BYTES + 16 * 1024
    quiet = check(["train.epochs=1000", "plots.enabled=false"])
    assert size.disk_bytes(quiet) == 4 * 49 + 64 * 1000 + 16 * 1024


def test_a_run_or_sweep_that_does_not_fit_its_disk_is_refused(tmp_path, monkeypatch):
    seen = []

    def usage(path):
        seen.append(path)
        return types.SimpleNamespace(free=100_000, total=10**9)

    monkeypatch.setattr(size.shutil, "disk_usage", usage)
    s = check(["train.epochs=10", "plots.enabled=false"])
    size.check_disk([s], 1, tmp_path / "new" / "run", "hydra.run.dir")
    assert seen == [tmp_path]  # the disk of the first folder that exists
    with pytest.raises(ConfigError) as err:
        size.check_disk([s], 2, tmp_path / "sweep", "hydra.sweep.dir")
    need = size.size(2 * size.disk_bytes(s) + size.SWEEP_FILE_BYTES)
    assert str(err.value) == (
        f"hydra.sweep.dir: the sweep of 2 jobs writes about {need}, more than the 100 kB free "
        f"on the disk of {tmp_path / 'sweep'}; free some, or give a folder on another disk"
    )
