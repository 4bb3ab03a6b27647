"""scripts/bench.py (`make bench`) at tiny sizes: each measuring function on a tiny input, each
section's bookkeeping with its measurements replaced by fixed numbers, and main's files. No
timing is asserted: only that what the bench calls still exists and what it prints adds up.
The functions that start `regexp sweep` or `regexp run` are the slow tests."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

pytestmark = pytest.mark.usefixtures("quiet")


def rows_of(section, args):
    rows = []
    out = section(args, lambda *row: rows.append(row))
    return {row[1]: row for row in rows}, out


def test_every_command_it_starts_runs_with_reuse_of_stored_jobs_off(bench, monkeypatch):
    monkeypatch.setenv("REGEXP_REUSE", "1")
    code = "import os; print(os.environ['REGEXP_REUSE'])"
    assert bench.call([sys.executable, "-c", code]) == "0\n"


def test_options_default_to_the_headline_and_quick_shrinks_both_sides(bench, capsys):
    args = bench.parse([])
    assert (args.ks, args.sweep_epochs, args.repeats) == ([8, 32, 128], 300, 3)
    assert args.sections == set(bench.SECTIONS) and args.models == list(bench.MODELS)
    quick = bench.parse(["--quick"])
    assert (quick.ks, quick.repeats, quick.steps) == ([4, 16], 1, 100)
    assert bench.parse(["--quick", "--ks", "1,2", "--steps", "4"]).ks == [1, 2]
    with pytest.raises(SystemExit) as exit:
        bench.parse(["--sections", "sweep,swep"])
    assert exit.value.code == 2
    assert "--sections: swep: not a section; allowed: steps,engine,sweep,mixed,split,search" in (
        capsys.readouterr().err
    )


def test_the_steps_measures_on_a_tiny_model(bench):
    for rates in (bench.regexp_rates([2], 3, 2), bench.plain_rates([2], 3, 2)):
        assert len(rates) == 2 and all(r > 0 for r in rates)
    s = bench.job([2], 5, compiled=True, seed=3)
    assert (s.train.compile, s.train.epochs, s.train.eval_every, s.seed) == (True, 5, 5, 3)
    assert s.hidden_units == (2,) and not s.plots.enabled
    assert bench.step_gflop([2]) == pytest.approx(6 * 50 * (1 * 2 + 2 * 1) / 1e9)
    assert bench.step_gflop([1024] * 5, n=1) == pytest.approx(6 * (2 * 1024 + 4 * 1024**2) / 1e9)
    assert len(bench.peak_gflops(1)) == 1


def test_keras_gives_rates_or_says_why_not(bench):
    got = bench.keras_rates("torch", [2], 2, 1)
    if importlib.util.find_spec("keras") is None:
        assert got.startswith("n/a: ") and "keras" in got
    else:
        assert len(got) == 1 and got[0] > 0


def test_the_steps_section_sets_each_side_against_the_others(bench, monkeypatch):
    def regexp_rates(hidden, steps, repeats, compiled=False):
        return [2.0 if compiled else 1.0] * repeats

    monkeypatch.setattr(bench, "regexp_rates", regexp_rates)
    monkeypatch.setattr(bench, "first_compiled_call", lambda h: 9.0)
    monkeypatch.setattr(bench, "plain_rates", lambda h, s, r: [0.5] * r)
    monkeypatch.setattr(bench, "keras_rates", lambda b, h, s, r: [0.25] * r if b == "jax" else "x")
    monkeypatch.setattr(bench, "peak_gflops", lambda r: [1.0] * r)
    rows, _ = rows_of(bench.steps_section, bench.parse(["--models", "[2]", "5x1024"]))
    assert rows["[2] regexp compiled"][4] == "compiled/regexp = 2.00"
    assert rows["5x1024 plain torch"][4] == "regexp/plain = 2.00, compiled/plain = 4.00"
    assert rows["5x1024 regexp compiled, first call"][2] == [9.0]
    assert rows["[2] keras-jax"][4] == "regexp/keras = 4.0, compiled/keras = 8.0"
    assert rows["[2] keras-torch"][2] == "x"
    step = rows["5x1024 training step, train.compile=true"]  # the last model's
    assert step[2] == [pytest.approx(2.0 * bench.step_gflop([1024] * 5))] * 3
    assert "[16,16] regexp" not in rows and "[2] training step" not in rows


def test_the_engine_measures_a_tiny_group(bench):
    one, stacked, compiled = bench.engine_rates([2], 2, 1, False)
    assert one > 0 and stacked > 0 and compiled is None


def test_the_engine_section_fits_each_size_and_compiles_the_largest(bench, monkeypatch):
    calls = []

    def rates(hidden, k, epochs, compiled, extra=()):
        calls.append((hidden, k, epochs, compiled, list(extra)))
        return 1.0, 4.0, 8.0 if compiled else None

    monkeypatch.setattr(bench, "engine_rates", rates)
    rows, _ = rows_of(bench.engine_section, bench.parse([]))
    assert calls[:3] == [([16, 16], 8, 300, False, []), ([16, 16], 32, 300, False, []),
                         ([16, 16], 128, 300, True, [])]  # fmt: skip
    big = ["penalty=l2", "penalty.lam=0.01", "train.threads=1"]
    assert calls[-1] == ([1024] * 5, 5, 10, False, big)
    assert rows["[128] K=32 fit(group)"][4] == "stacked/one-by-one = 4.0"
    assert rows["[128] K=128 fit(group), train.compile=true"][2] == [8.0]


def fake_sweeps(bench, monkeypatch, rate):
    """sweep_seconds as a sweep of K jobs at rate(launcher, plots) models/s would give."""
    calls = []

    def seconds(hidden, k, launcher, epochs, plots=False, ending=False):
        calls.append((hidden, k, launcher, epochs, plots))
        return k / rate(launcher, plots), 0.0

    monkeypatch.setattr(bench, "sweep_seconds", seconds)
    return calls


def test_the_sweep_section_sets_128_seeds_of_16_16_batched_against_basic(bench, monkeypatch):
    calls = fake_sweeps(bench, monkeypatch, lambda launcher, plots: {
        ("basic", False): 2.0, ("batched", False): 20.0,
        ("basic", True): 1.0, ("batched", True): 6.0}[launcher, plots])  # fmt: skip
    rows, headline = rows_of(bench.sweep_section, bench.parse([]))
    for plots in (False, True):  # the headline: --repeats (3) pairs, one side then the other
        headline_calls = [c[2] for c in calls if c[:2] == ("[16,16]", 128) and c[4] == plots]
        assert headline_calls == ["basic", "batched"] * 3
    assert [c[2] for c in calls if c[:2] == ("[128]", 128)] == ["basic", "batched"]
    assert headline == {"no plots": pytest.approx(10.0), "with plots": pytest.approx(6.0)}
    assert rows["[16,16] K=128 batched launcher"][4] == (
        "batched/basic = 10.0 (median of 3; both ran 128 jobs)"
    )
    assert rows["[16,16] K=128 with plots, batched launcher"][2] == [pytest.approx(6.0)] * 3
    assert rows["[16,16] K=32 with plots, basic launcher"][2] == [pytest.approx(1.0)]
    assert "[128] K=8 basic launcher (one by one)" in rows


def test_the_mixed_section_times_both_launchers_and_compares_jobs(bench, monkeypatch, tmp_path):
    calls = []

    def run_sweep(args, launcher):
        calls.append((launcher, args))
        folder = tmp_path / str(len(calls))
        for j, mse in enumerate([0.5, 0.25]):
            (folder / str(j)).mkdir(parents=True)
            bumped = mse * (1 + 1e-3 * (launcher == "batched" and j == 1))
            metrics = {"train_mse": bumped, "val_mse": mse}
            (folder / str(j) / "metrics.json").write_text(json.dumps(metrics))
        out = "Launching 2 jobs: 1 stacked programs, 0 jobs alone (batched)"
        return {"basic": 2.0, "batched": 1.0}[launcher], folder, out

    monkeypatch.setattr(bench, "run_sweep", run_sweep)
    rows, _ = rows_of(bench.mixed_section, bench.parse(["--quick", "--sweep-epochs", "7"]))
    label = "width grid [2]..[256] x 2 seeds"
    assert rows[f"{label}: batched (1 programs)"][4] == "batched/basic = 2.00 (medians)"
    assert rows[f"{label}: MSE apart, 7 epochs"][2] == [0.0, pytest.approx(1e-3)]
    assert rows[f"{label}: MSE apart, 7 epochs"][4] == "1 of 2 jobs > 1e-5"
    assert "4 data draws, [16,16]: MSE apart, 20 epochs" in rows
    assert "train.epochs=7" in calls[0][1] and "seed=range(0,2)" in calls[0][1]
    defaults = [args for _, args in calls if "hidden_units=[2],[8],[1024]" in args]
    assert not any("train.epochs=7" in args for args in defaults)
    assert all("train.epochs=20" in args for _, args in calls[-6:])


def test_the_split_section_takes_the_per_job_cost_from_two_sizes(bench, monkeypatch):
    def seconds(hidden, k, launcher, epochs, plots=False, ending=False):
        wall, engine = 2.0 + 0.012 * k, 0.002 * k  # 10 ms a job outside training
        return (wall, engine, 0.5 + 0.001 * k, 3.0) if ending else (wall, engine)

    monkeypatch.setattr(bench, "sweep_seconds", seconds)
    monkeypatch.setattr(bench, "run_seconds", lambda: 1.5)
    rows, _ = rows_of(bench.split_section, bench.parse(["--ks", "2,10", "--repeats", "1"]))
    assert rows["per-job cost outside training (K=2 vs K=10, batched)"][2] == [pytest.approx(10.0)]
    ending = "  of which the ending's share (a table row, summary files, figure)"
    assert rows[ending][2] == [pytest.approx(1.0)]
    assert rows["sweep fixed cost (1 job, 1 epoch, no plots)"][2] == [pytest.approx(2.012)]
    assert rows["engine time per job (K=10, 300 epochs)"][2] == [pytest.approx(2.0)]


def test_main_writes_its_table_and_headline(bench, monkeypatch, tmp_path):
    monkeypatch.setenv("REGEXP_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setenv("REGEXP_REUSE", "1")  # restored after the test
    fake_sweeps(bench, monkeypatch, lambda launcher, plots: 4.0 if launcher == "batched" else 1.0)
    monkeypatch.setattr(bench, "disk_ms", lambda: 1.0)
    monkeypatch.setattr(bench, "help_seconds", lambda repeats: [0.1] * repeats)
    assert bench.main(["--sections", "sweep", "--ks", "2,3", "--sweep-epochs", "5"]) == 0
    assert os.environ["REGEXP_REUSE"] == "0"
    (folder,) = (tmp_path / "outputs" / "bench").glob("*/*")
    text = (folder / "bench.md").read_text()
    assert "| sweep | [16,16] K=3 batched launcher | 4 | 4 | 4 | models/s |" in text
    assert text.endswith(
        "sweep of 3 seeds of [16,16], 5 epochs, batched/basic models/s (median of 3 "
        "interleaved pairs): 4.0 without plots (target >= 8), 4.0 with plots (target >= 5)\n"
    )
    record = json.loads((folder / "bench.json").read_text())
    assert record["headline"] == {"no plots": 4.0, "with plots": 4.0}
    assert [r["section"] for r in record["rows"]][:2] == ["disk", "sweep"]
    assert not (tmp_path / "scratch").exists()  # every command's folder went at the end


def test_the_search_section_sets_successive_halving_against_no_pruner(bench, monkeypatch):
    """issue 33's search at its full size: the three sides' overrides, and each row and the
    headline from their results."""
    calls = []

    def search_run(args, launcher):
        pruner = next(a.split("=")[1] for a in args if a.startswith("hydra.sweeper.pruner.name"))
        calls.append((launcher, pruner, args))
        if pruner == "none":
            return {"seconds": 300.0, "epochs": 192000, "best": 0.020, "trials": 96,
                    "pruned": 0, "agree": True}  # fmt: skip
        seconds = 100.0 if launcher == "batched" else 250.0
        return {"seconds": seconds, "epochs": 38400, "best": 0.022, "trials": 96, "pruned": 80,
                "agree": True}  # fmt: skip

    monkeypatch.setattr(bench, "search_run", search_run)
    rows, headline = rows_of(bench.search_section, bench.parse([]))
    assert [(lc, p) for lc, p, _ in calls] == [
        ("batched", "none"),
        ("batched", "successive_halving"),
        ("basic", "successive_halving"),
    ]
    for *_, args in calls:
        assert {"hidden_units=[256,256]", "train.epochs=2000", "hydra.sweeper.n_trials=96",
                "hydra.sweeper.n_jobs=16", "penalty=l2"} <= set(args)  # fmt: skip
    assert "+hydra.sweeper.pruner.min_resource=100" in calls[1][2]
    assert headline == {"wall": 3.0, "epochs": 5.0, "best": pytest.approx(0.1), "basic": 2.5}
    assert rows["batched, successive halving: wall"][4] == "none/this = 3.00"
    assert rows["batched, successive halving: model-epochs"][4] == "none/this = 5.00"
    assert rows["basic, successive halving: best val_mse"][4] == "vs none +10.0%"
    assert rows["batched, successive halving: study.db"][2] == (
        "96 trials, 80 PRUNED; folders say so: yes"
    )
    quick = bench.search_args(True)
    assert "hydra.sweeper.n_trials=12" in quick and "hidden_units=[16,16]" in quick


@pytest.mark.slow
def test_a_quick_search_runs_to_its_end(bench):
    args = [*bench.search_args(True), *bench.halving(200)]
    result = bench.search_run(args, "batched")
    assert result["trials"] == 12 and result["agree"] and 0 < result["epochs"] < 12 * 200
    assert result["best"] > 0 and result["pruned"] > 0


@pytest.mark.slow
def test_a_sweep_through_each_launcher_trains_the_same_jobs(bench):
    given = ["hidden_units=[2]", "seed=1,2", "train.epochs=3", "plots.enabled=false"]
    (_, ours, out), (_, alone, _) = (bench.run_sweep(given, lc) for lc in ("batched", "basic"))
    assert bench.programs_of(out) == 1
    assert max(bench.mse_apart(bench.job_metrics(ours), bench.job_metrics(alone))) < 1e-5
    wall, trained, ending, write_ms = bench.sweep_seconds("[2]", 2, "batched", 1, ending=True)
    assert min(wall, trained, ending, write_ms) >= 0


@pytest.mark.slow
@pytest.mark.parametrize("which", [0, 1])
def test_the_quick_mixed_sweeps_run(bench, which):
    label, overrides, _ = bench.mixed_sweeps(2, 4)[which]
    _, folder, out = bench.run_sweep([*overrides, "train.epochs=1"], "batched")
    assert len(bench.job_metrics(folder)) == (16 if which == 0 else 4)
    assert 1 <= bench.programs_of(out) <= 8


@pytest.mark.slow
def test_a_run_help_and_the_disk(bench):
    assert bench.run_seconds() > 0 and len(bench.help_seconds(1)) == 1
    assert bench.disk_ms(4) > 0
