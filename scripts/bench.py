"""make bench: every figure a ratio of two things measured side by side in this one run.

Sections (--sections picks them):
- steps: training steps/s (full batch of 50 points) on [2], [16,16], [1024], 5x1024: regexp's
  loop, eager and with train.compile=true (steady state; the first, compiling call timed
  apart), vs a plain torch loop vs Keras 3 (JAX and torch backends, if the `bench` extra is
  in); the last model's step in GFLOP/s as a share of the peak fp32 matmul measured here;
- engine: the engine alone, no files, no Hydra: K seeds of [16,16] and [128] fitted as one
  group (eager, and compiled at the largest K) vs one by one; five 5x1024 models likewise;
- sweep: `regexp sweep` of K seeds of [16,16] and [128] through the batched launcher vs
  Hydra's basic launcher, both running all K jobs in this run, without plots; then [16,16]
  with plots (K = 32 and the largest K). Its headline, printed last: the largest K of
  [16,16] (128 seeds, 300 epochs by default), batched/basic without and with plots, the
  median over --repeats pairs run one after the other (one pair for the other rows);
- mixed: issue 23's sweeps through both launchers, and how far their train/val MSE lie apart;
- split: where a batched sweep's time goes: its fixed cost (1 job of 1 epoch), `regexp run`'s,
  the per-job cost outside training (two sweep sizes, their difference less engine time) and
  engine time per job;
- search: issue 33's Optuna search of λ × learning rate (96 trials of [256,256], 2000 epochs,
  n_jobs=16; quick: 12 of [16,16], 200 epochs, 4) through the batched launcher without a
  pruner and with successive halving, and through the basic launcher with successive
  halving: wall time, model-epochs (each trial's epochs, summed), the best value, and what
  study.db and the folders hold.
Always `regexp --help`; with --reproduce, the wall time of `make reproduce`.

Absolute times on a shared machine vary; ratios taken in one run are what to compare. Every
folder the bench's commands write is kept until the bench ends: on an ext4 without a journal
the kernel creates files slowly right after many deletions (docs/speed.md), which a user's
sweep into outputs/ does not pay. The "disk" row measures file creation as the disk is at
the time, without regexp. Results: a rich table, plus bench.md and bench.json under
outputs/bench/DATE/TIME/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from regexp.config.compose import compose
from regexp.config.output import claim_dir, output_root
from regexp.config.settings import Settings, validate
from regexp.runs.weights import build_model
from regexp.system.threads import threads_for
from regexp.train.data import make_data
from regexp.train.engine import fit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODELS = {"[2]": [2], "[16,16]": [16, 16], "[1024]": [1024], "5x1024": [1024] * 5}
SECTIONS = ("steps", "engine", "sweep", "mixed", "split", "search")
# where main puts the scratch folder that every command writes under, removed at its end only
SCRATCH: list[Path] = []
Add = Callable[..., None]  # add(section, what, values or a note, unit, ratio="")


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def call(cmd: Sequence[str], timeout: float = 3600) -> str:
    """Run a command to its end (an error if it fails), return what it printed."""
    # a store of finished jobs is coming: a timed job must train, not be copied from it
    env = dict(os.environ, REGEXP_REUSE="0")
    done = subprocess.run([str(c) for c in cmd], capture_output=True, check=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip
    return done.stdout + done.stderr


def scratch(prefix: str) -> Path:
    """A new folder under the bench's scratch folder."""
    if not SCRATCH:
        SCRATCH.append(Path(tempfile.mkdtemp(prefix="bench-")))
    return Path(tempfile.mkdtemp(prefix=prefix, dir=SCRATCH[0]))


def job(hidden: list[int], epochs: int, compiled: bool = False, seed: int = 1,
        extra: Sequence[str] = ()) -> Settings:  # fmt: skip
    """One job of `epochs` full-batch steps, validated once at its end, no plots."""
    return validate(compose([
        f"hidden_units={hidden}", f"seed={seed}", f"train.epochs={epochs}",
        f"train.eval_every={epochs}", f"train.compile={compiled}", "plots.enabled=false",
        *extra,
    ]))  # fmt: skip


# ------------------------------------------------------------------------------------- steps


def regexp_rates(hidden: list[int], steps: int, repeats: int, compiled: bool = False) -> list:
    s = job(hidden, steps, compiled)
    data = make_data(s.data)
    return [steps / fit([s], data)[0].seconds for _ in range(repeats)]


def first_compiled_call(hidden: list[int]) -> float:
    """Seconds of a first train.compile=true run of 2 epochs: compiling, mostly (in-process
    cache cold; inductor's on-disk cache as this machine has it)."""
    t0 = time.perf_counter()
    regexp_rates(hidden, 2, 1, compiled=True)
    return time.perf_counter() - t0


def plain_rates(hidden: list[int], steps: int, repeats: int) -> list[float]:
    """The shortest honest torch loop: same model, data, Adam (fused), MSE, and the same torch
    threads as regexp's loop (regexp.system.threads.threads_for's choice)."""
    s = job(hidden, steps)
    data = make_data(s.data)
    rates = []
    for _ in range(repeats):
        model = build_model(s, 1)
        opt = torch.optim.Adam(model.parameters(), lr=0.01, fused=True)
        with threads_for(sum(p.numel() for p in model.parameters()), s.train.threads):
            t0 = time.perf_counter()
            for _ in range(steps):
                loss = torch.nn.functional.mse_loss(model(data.x_train), data.y_train)
                opt.zero_grad()
                loss.backward()
                opt.step()
            rates.append(steps / (time.perf_counter() - t0))
    return rates


def keras_rates(backend: str, hidden: list[int], steps: int, repeats: int) -> list[float] | str:
    """steps/s of Keras 3 on `backend` (scripts/bench_keras.py in its own process), or a note
    saying why there are none."""
    script = ROOT / "scripts" / "bench_keras.py"
    try:
        out = call([sys.executable, script, backend, ",".join(map(str, hidden)), steps, repeats],
                   timeout=900)  # fmt: skip
        return json.loads(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as err:
        text = getattr(err, "stderr", "") or str(err)
        return "n/a: " + (text.strip().splitlines() or ["failed"])[-1][:80]


def peak_gflops(repeats: int) -> list[float]:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        rates.append(2 * 2048**3 / (time.perf_counter() - t0) / 1e9)
    return rates


def step_gflop(hidden: list[int], n: int = 50) -> float:
    """Forward 2, backward 4 FLOPs per multiply-add of each dense layer."""
    widths = [1, *hidden, 1]
    return 6 * n * sum(a * b for a, b in zip(widths, widths[1:])) / 1e9


def steps_section(args: argparse.Namespace, add: Add) -> None:
    med = statistics.median
    for label in args.models:
        hidden = MODELS[label]
        # 5x1024: a third of the steps, still enough to amortize the final validation
        steps = max(2, args.steps // 3) if label == "5x1024" else args.steps
        ours = regexp_rates(hidden, steps, args.repeats)
        first = first_compiled_call(hidden)  # the steady state below excludes compiling
        compiled = regexp_rates(hidden, steps, args.repeats, compiled=True)
        plain = plain_rates(hidden, steps, args.repeats)
        add("steps/s", f"{label} regexp", ours, "steps/s")
        add("steps/s", f"{label} regexp compiled", compiled, "steps/s",
            f"compiled/regexp = {med(compiled) / med(ours):.2f}")  # fmt: skip
        add("steps/s", f"{label} regexp compiled, first call", [first], "s",
            "compile + 2 epochs, not in the steps/s")  # fmt: skip
        add("steps/s", f"{label} plain torch", plain, "steps/s",
            f"regexp/plain = {med(ours) / med(plain):.2f}, "
            f"compiled/plain = {med(compiled) / med(plain):.2f}")  # fmt: skip
        for backend in () if args.no_keras else ("jax", "torch"):
            keras = keras_rates(backend, hidden, steps, args.repeats)
            ratio = ""
            if isinstance(keras, list):
                ratio = (f"regexp/keras = {med(ours) / med(keras):.1f}, "
                         f"compiled/keras = {med(compiled) / med(keras):.1f}")  # fmt: skip
            add("steps/s", f"{label} keras-{backend}", keras, "steps/s", ratio)
    peak = peak_gflops(max(3, args.repeats))
    add("gflops", "matmul peak (2048^3)", peak, "GFLOP/s")
    for what, rates in (("", ours), (", train.compile=true", compiled)):
        achieved = [r * step_gflop(hidden) for r in rates]
        add("gflops", f"{label} training step{what}", achieved, "GFLOP/s",
            f"share of peak = {med(achieved) / med(peak):.0%}")  # fmt: skip


# ------------------------------------------------------------------------------------ engine


def engine_rates(
    hidden: list[int], k: int, epochs: int, compiled: bool, extra: Sequence[str] = ()
) -> tuple[float, float, float | None]:
    """models/s trained one after another, stacked, and stacked with train.compile=true
    (steady state: after a compiling warm-up call), training alone, no files; extra: more
    overrides for every job."""
    jobs = [job(hidden, epochs, False, seed, extra) for seed in range(1, k + 1)]
    data = make_data(jobs[0].data)
    t0 = time.perf_counter()
    for s in jobs:
        fit([s], data)
    one = k / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    fit(jobs, data)
    stacked = k / (time.perf_counter() - t0)
    if not compiled:
        return one, stacked, None
    jobs = [job(hidden, epochs, True, seed, extra) for seed in range(1, k + 1)]
    fit(jobs, data)  # compiles
    t0 = time.perf_counter()
    fit(jobs, data)
    return one, stacked, k / (time.perf_counter() - t0)


def engine_section(args: argparse.Namespace, add: Add) -> None:
    for hidden in ([16, 16], [128]):
        for k in args.ks:
            one, stacked, compiled = engine_rates(hidden, k, args.sweep_epochs, k == max(args.ks))
            add("engine", f"{hidden} K={k} fit([job]) one by one", [one], "models/s")
            add("engine", f"{hidden} K={k} fit(group)", [stacked], "models/s",
                f"stacked/one-by-one = {stacked / one:.1f}")  # fmt: skip
            if compiled is not None:
                ratio = f"compiled stacked/one-by-one = {compiled / one:.1f} (not compiling)"
                add("engine", f"{hidden} K={k} fit(group), train.compile=true", [compiled],
                    "models/s", ratio)  # fmt: skip
    # the penalties of `make reproduce DRAWS=5`: why the launcher trains models this big one
    # by one (max_params)
    big = ["penalty=l2", "penalty.lam=0.01", "train.threads=1"]
    epochs = min(10, args.sweep_epochs)
    one, stacked, _ = engine_rates([1024] * 5, 5, epochs, False, big)
    add("engine", f"5x1024 L2 0.01 K=5 fit([job]) one by one, {epochs} epochs", [one], "models/s")
    add("engine", f"5x1024 L2 0.01 K=5 fit(group), {epochs} epochs", [stacked], "models/s",
        f"stacked/one-by-one = {stacked / one:.2f}")  # fmt: skip


# ------------------------------------------------------------------------------------- sweeps


def disk_ms(jobs: int = 128) -> float:
    """ms a job to create what a job folder holds on this disk now (2 folders, 7 files of
    500 bytes), without regexp: the floor under a job's writing, and how the disk is."""
    root = scratch("bench-disk-")
    names = [".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "regexp.log"]
    names += ["weights.safetensors", "history.csv", "metrics.json"]
    t0 = time.perf_counter()
    for j in range(jobs):
        (root / str(j) / ".hydra").mkdir(parents=True)
        for name in names:
            (root / str(j) / name).write_bytes(b"x" * 500)
    return 1000 * (time.perf_counter() - t0) / jobs


def run_sweep(args: list[str], launcher: str) -> tuple[float, Path, str]:
    """(wall seconds, folder, its output) of `regexp sweep ARGS` through one launcher,
    start-up included."""
    folder = scratch("bench-sweep-")
    t0 = time.perf_counter()
    out = call([BIN / "regexp", "sweep", *args, f"hydra/launcher={launcher}",
                f"hydra.sweep.dir={folder}"])  # fmt: skip
    return time.perf_counter() - t0, folder, out


def programs_of(out: str) -> int:
    """The stacked programs the batched launcher says it launched."""
    return int(re.search(r"(\d+) stacked programs", out).group(1))


def job_metrics(folder: Path) -> list[dict]:
    """Each job's metrics.json, in job order."""
    jobs = sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    return [json.loads((p / "metrics.json").read_text()) for p in jobs]


def mse_apart(ours: list[dict], alone: list[dict]) -> list[float]:
    """Each job's largest relative difference of train_mse and val_mse between two sweeps."""
    return [
        max(abs(a[key] - b[key]) / abs(b[key]) for key in ("train_mse", "val_mse"))
        for a, b in zip(ours, alone, strict=True)
    ]


def sweep_seconds(
    hidden: str, k: int, launcher: str, epochs: int, plots: bool = False, ending: bool = False
) -> tuple[float, ...]:
    """(wall seconds, training seconds) of `regexp sweep seed=1..k` through one launcher,
    start-up included; training is the sum of the jobs' train_seconds. ending=True adds the
    seconds its ending takes (table, summary files, figures: read.summary.end_sweep, timed
    again on the folder in a process of its own, imports apart) and the ms a job's folder
    took to write (the spread of the jobs' metrics.json times over k - 1: one program's
    jobs are written one after another)."""
    seeds = ",".join(str(i) for i in range(1, k + 1))
    args = [f"hidden_units={hidden}", f"seed={seeds}", f"train.epochs={epochs}"]
    seconds, folder, _ = run_sweep([*args, f"plots.enabled={plots}"], launcher)
    metrics = job_metrics(folder)
    assert len(metrics) == k, "a job wrote no metrics.json"
    trained = sum(m["train_seconds"] for m in metrics)
    if not ending:
        return seconds, trained
    code = (
        "import io, sys, time; from pathlib import Path; from rich.console import Console;"
        "from regexp.read.summary import end_sweep; t0 = time.perf_counter();"
        f"end_sweep(Path({str(folder)!r}), {k}, Console(file=io.StringIO()));"
        "print(time.perf_counter() - t0)"
    )
    ended = float(call([sys.executable, "-c", code]).split()[-1])
    stamps = sorted(p.stat().st_mtime for p in folder.glob("*/metrics.json"))
    write_ms = 1000 * (stamps[-1] - stamps[0]) / max(k - 1, 1)
    return seconds, trained, ended, write_ms


def launchers_side_by_side(
    args: argparse.Namespace, add: Add, hidden: str, k: int, plots: bool, repeats: int
) -> float:
    """`repeats` pairs of the sweep through Hydra's basic launcher then the batched one, one
    after the other so a busy spell of the shared machine hits both sides alike; adds both
    rows and returns the median batched/basic ratio."""
    basic, batched = [], []
    for _ in range(repeats):
        basic.append(sweep_seconds(hidden, k, "basic", args.sweep_epochs, plots)[0])
        batched.append(sweep_seconds(hidden, k, "batched", args.sweep_epochs, plots)[0])
    ratio = statistics.median(b / a for b, a in zip(basic, batched))
    what = f"{hidden} K={k} with plots," if plots else f"{hidden} K={k}"
    add("sweep", f"{what} basic launcher" + ("" if plots else " (one by one)"),
        [k / s for s in basic], "models/s")  # fmt: skip
    add("sweep", f"{what} batched launcher", [k / s for s in batched], "models/s",
        f"batched/basic = {ratio:.1f} (median of {repeats}; both ran {k} jobs)")  # fmt: skip
    return ratio


def sweep_section(args: argparse.Namespace, add: Add) -> dict[str, float]:
    """Both sides of every ratio run all K jobs, in this run (the headline, 128 seeds of
    [16,16], `--repeats` pairs; the others one); returns the headline ratios."""
    headline = {}
    for hidden in ("[16,16]", "[128]"):
        for k in args.ks:
            top = hidden == "[16,16]" and k == max(args.ks)
            ratio = launchers_side_by_side(args, add, hidden, k, False, args.repeats if top else 1)
            if top:
                headline["no plots"] = ratio
    # the default sweep draws each job's figures: a mid-sized sweep and the largest K
    for k in sorted({min(32, max(args.ks)), max(args.ks)}):
        top = k == max(args.ks)
        headline["with plots"] = launchers_side_by_side(
            args, add, "[16,16]", k, True, args.repeats if top else 1
        )
    return headline


def mixed_sweeps(seeds: int, draws: int) -> list[tuple[str, list[str], bool]]:
    """issue 23's sweeps: (label, overrides, whether they run --sweep-epochs, else the
    defaults')."""
    return [
        (f"width grid [2]..[256] x {seeds} seeds", [
            "hidden_units=[2],[4],[8],[16],[32],[64],[128],[256]", f"seed=range(0,{seeds})",
            "plots.enabled=false"], True),
        (f"{draws} data draws, [16,16]", [
            f"data.seed=range(0,{draws})", "hidden_units=[16,16]", "plots.enabled=false"], True),
        ("[2],[8],[1024], defaults, plots", ["hidden_units=[2],[8],[1024]"], False),
    ]  # fmt: skip


def mixed_section(args: argparse.Namespace, add: Add) -> None:
    """issue 23's sweeps, every job run by both launchers, alternating; 300 epochs where the
    list says so; then how far apart both launchers' jobs are after 20 epochs."""
    sweeps = mixed_sweeps(2, 4) if args.quick else mixed_sweeps(16, 32)
    for label, overrides, long in sweeps:
        given = [*overrides, f"train.epochs={args.sweep_epochs}"] if long else overrides
        basic, batched = [], []
        for _ in range(args.repeats):
            seconds, alone, _ = run_sweep(given, "basic")
            basic.append(seconds)
            seconds, ours, out = run_sweep(given, "batched")
            batched.append(seconds)
        ratio = statistics.median(basic) / statistics.median(batched)
        add("mixed", f"{label}: basic", basic, "s")
        add("mixed", f"{label}: batched ({programs_of(out)} programs)", batched, "s",
            f"batched/basic = {ratio:.2f} (medians)")  # fmt: skip
        drift = mse_apart(job_metrics(ours), job_metrics(alone))
        epochs = args.sweep_epochs if long else "the default"
        over = f"{sum(d > 1e-5 for d in drift)} of {len(drift)} jobs > 1e-5"
        add("mixed", f"{label}: MSE apart, {epochs} epochs", drift,
            "rel. diff (train/val MSE)", over)  # fmt: skip
    for label, overrides, _ in sweeps:  # agreement: 20 epochs, no plots
        short = [*overrides, "train.epochs=20", "plots.enabled=false"]
        ours, alone = (job_metrics(run_sweep(short, lc)[1]) for lc in ("batched", "basic"))
        drift = mse_apart(ours, alone)
        add("mixed", f"{label}: MSE apart, 20 epochs", drift,
            "rel. diff (train/val MSE)", f"{len(drift)} jobs, max target <= 1e-5")  # fmt: skip


def run_seconds() -> float:
    """Wall seconds of `regexp run` of 1 epoch without plots: its fixed cost."""
    folder = scratch("bench-run-")
    t0 = time.perf_counter()
    call([BIN / "regexp", "run", "train.epochs=1", "plots.enabled=false",
          f"hydra.run.dir={folder}/run"], timeout=600)  # fmt: skip
    return time.perf_counter() - t0


def split_section(args: argparse.Namespace, add: Add) -> None:
    """Where a batched sweep's time goes: two sizes of 1 epoch, no plots."""
    small, big = min(args.ks), max(args.ks)
    per_job, ending, writing, fixed, engine_1 = [], [], [], [], []
    for _ in range(args.repeats):  # the sizes interleaved: a busy spell hits both
        t_small, e_small, end_small, _ = sweep_seconds("[16,16]", small, "batched", 1, ending=True)
        t_big, e_big, end_big, write_ms = sweep_seconds("[16,16]", big, "batched", 1, ending=True)
        writing.append(write_ms)
        fixed.append(sweep_seconds("[16,16]", 1, "batched", 1)[0])
        per_job.append(1000 * ((t_big - e_big) - (t_small - e_small)) / (big - small))
        ending.append(1000 * (end_big - end_small) / (big - small))
        engine_1.append(1000 * e_big / big)
    add("split", "sweep fixed cost (1 job, 1 epoch, no plots)", fixed, "s", "target <= 2.5 s")
    add("split", "regexp run fixed cost (1 epoch, no plots)",
        [run_seconds() for _ in range(args.repeats)], "s", "target <= 2.5 s")  # fmt: skip
    add("split", f"per-job cost outside training (K={small} vs K={big}, batched)",
        per_job, "ms", "target <= 5 ms")  # fmt: skip
    add("split", "  of which writing the job's folder (weights, history, .hydra/, metrics)",
        writing, "ms", f"metrics.json times, K={big}")  # fmt: skip
    add("split", "  of which the ending's share (a table row, summary files, figure)",
        ending, "ms", f"end_sweep, K={big} vs K={small}")  # fmt: skip
    add("split", f"engine time per job (K={big}, 1 epoch)", engine_1, "ms")
    _, e_long = sweep_seconds("[16,16]", big, "batched", args.sweep_epochs)
    add("split", f"engine time per job (K={big}, {args.sweep_epochs} epochs)",
        [e_long / big * 1000], "ms")  # fmt: skip


def search_args(quick: bool) -> list[str]:
    """issue 33's search: the optuna_lam_lr preset (L2 λ and learning rate, log scales)."""
    hidden, epochs, trials, k = ("[16,16]", 200, 12, 4) if quick else ("[256,256]", 2000, 96, 16)
    return ["hydra/sweeper=optuna_lam_lr", "penalty=l2", f"hidden_units={hidden}",
            f"train.epochs={epochs}", f"hydra.sweeper.n_trials={trials}",
            f"hydra.sweeper.n_jobs={k}", "plots.enabled=false"]  # fmt: skip


# successive halving: a first rung at a twentieth of the epochs, a third promoted at each rung
def halving(epochs: int) -> list[str]:
    return ["hydra.sweeper.pruner.name=successive_halving",
            f"+hydra.sweeper.pruner.min_resource={max(1, epochs // 20)}",
            "+hydra.sweeper.pruner.reduction_factor=3"]  # fmt: skip


def search_run(args: list[str], launcher: str) -> dict[str, Any]:
    """One search, to its end (exit 0, or call raises): wall seconds, model-epochs, the best
    value, study.db's trials and how many are PRUNED, and whether every trial's folder says
    its state (status pruned for PRUNED, ok for COMPLETE)."""
    from regexp.runs.study import load_study  # optuna: only for this section

    seconds, folder, _ = run_sweep(args, launcher)
    study = load_study(folder)
    metrics = {int(p.name): json.loads((p / "metrics.json").read_text())
               for p in folder.iterdir() if p.name.isdigit()}  # fmt: skip
    said = {"COMPLETE": "ok", "PRUNED": "pruned"}
    agree = all(said.get(t.state.name) == metrics[t.number]["status"] for t in study.trials)
    return {"seconds": seconds, "epochs": sum(m["epochs"] for m in metrics.values()),
            "best": study.best_value, "trials": len(study.trials), "agree": agree,
            "pruned": sum(t.state.name == "PRUNED" for t in study.trials)}  # fmt: skip


def search_section(args: argparse.Namespace, add: Add) -> dict[str, float]:
    """The search without a pruner and with successive halving, both batched, then with
    successive halving through the basic launcher (an Optuna user's one trial at a time);
    returns the headline: wall time and model-epochs without/with, the best values' gap."""
    base = search_args(args.quick)
    epochs = int(base[3].split("=")[1])
    runs = {
        "batched, no pruner": search_run([*base, "hydra.sweeper.pruner.name=none"], "batched"),
        "batched, successive halving": search_run([*base, *halving(epochs)], "batched"),
        "basic, successive halving": search_run([*base, *halving(epochs)], "basic"),
    }
    none = runs["batched, no pruner"]
    for label, r in runs.items():
        ratio = f"none/this = {none['seconds'] / r['seconds']:.2f}"
        add("search", f"{label}: wall", [r["seconds"]], "s", ratio)
        ratio = f"none/this = {none['epochs'] / r['epochs']:.2f}"
        add("search", f"{label}: model-epochs", [r["epochs"]], "epochs", ratio)
        gap = r["best"] / none["best"] - 1
        add("search", f"{label}: best val_mse", [r["best"]], "val_mse", f"vs none {gap:+.1%}")
        add("search", f"{label}: study.db", f"{r['trials']} trials, {r['pruned']} PRUNED; "
            f"folders say so: {'yes' if r['agree'] else 'NO'}", "")  # fmt: skip
    cut, basic = runs["batched, successive halving"], runs["basic, successive halving"]
    return {"wall": none["seconds"] / cut["seconds"], "epochs": none["epochs"] / cut["epochs"],
            "best": cut["best"] / none["best"] - 1,
            "basic": basic["seconds"] / cut["seconds"]}  # fmt: skip


def help_seconds(repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call([BIN / "regexp", "--help"])
        times.append(time.perf_counter() - t0)
    return times


# -------------------------------------------------------------------------------------- main


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=300, help="steps per timing (5x1024: /3)")
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                   help="the steps section's models")  # fmt: skip
    p.add_argument("--sweep-epochs", type=int, default=300)
    p.add_argument("--ks", help="sweep sizes, the largest the headline (8,32,128; quick: 4,16)")
    p.add_argument("--quick", action="store_true",
                   help="smaller K and mixed sweeps, one repeat (both sides alike)")  # fmt: skip
    p.add_argument("--sections", default=",".join(SECTIONS), help="which to run")
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--reproduce", action="store_true", help="also time `make reproduce`")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = 1, min(args.steps, 100)
    args.ks = [int(v) for v in (args.ks or ("4,16" if args.quick else "8,32,128")).split(",")]
    args.sections = set(args.sections.split(","))
    if args.sections - set(SECTIONS):
        p.error(f"--sections: {','.join(sorted(args.sections - set(SECTIONS)))}: "
                f"not a section; allowed: {','.join(SECTIONS)}")  # fmt: skip
    return args


def main(argv: Sequence[str] | None = None) -> int:
    # a store of finished jobs is coming: every timed job must train, in this process too
    os.environ["REGEXP_REUSE"] = "0"
    try:
        return bench(parse(argv))
    finally:
        if SCRATCH:
            shutil.rmtree(SCRATCH.pop(), ignore_errors=True)


def bench(args: argparse.Namespace) -> int:
    logging.disable(logging.INFO)
    console = Console() if sys.stdout.isatty() else Console(width=170)
    rows: list[dict] = []

    def add(section: str, what: str, values: list[float] | str, unit: str, ratio: str = ""):
        rec = {"section": section, "what": what, "unit": unit, "ratio": ratio}
        rec.update(spread(values) if isinstance(values, list) else {"note": values})
        rows.append(rec)
        console.log(rec)

    if "steps" in args.sections:
        steps_section(args, add)
    if "engine" in args.sections:
        engine_section(args, add)
    if args.sections & {"sweep", "split"}:
        add("disk", "create a job folder's 2 folders and 7 files (no regexp)",
            [disk_ms() for _ in range(args.repeats)], "ms/job", "this disk, now")  # fmt: skip
    headline = sweep_section(args, add) if "sweep" in args.sections else {}
    if "mixed" in args.sections:
        mixed_section(args, add)
    if "split" in args.sections:
        split_section(args, add)
    search = search_section(args, add) if "search" in args.sections else {}
    add("start-up", "regexp --help", help_seconds(5), "s")
    if args.reproduce:
        t0 = time.perf_counter()
        call(["make", "-C", ROOT, "reproduce"])
        add("wall", "make reproduce", [time.perf_counter() - t0], "s")

    table = Table(title="regexp bench (min / median / max over repeats)")
    for col in ("section", "what", "min", "median", "max", "unit", "ratio"):
        table.add_column(col)
    lines = ["| section | what | min | median | max | unit | ratio |", "|---" * 7 + "|"]
    for r in rows:
        cells = [r["section"], r["what"]]
        cells += [f"{r[k]:.4g}" if k in r else r.get("note", "") for k in ("min", "median", "max")]
        cells += [r["unit"], r["ratio"]]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    if search:
        said = (f"search (batched, successive halving vs no pruner): {search['wall']:.1f}x less "
                f"wall time (target >= 2), {search['epochs']:.1f}x fewer model-epochs (target "
                f">= 3), best val_mse {search['best']:+.1%} (target within 15 %); the basic "
                f"launcher took {search['basic']:.1f}x the batched wall time")  # fmt: skip
        lines += ["", said]
        console.print(said)
    if headline:
        said = (f"sweep of {max(args.ks)} seeds of [16,16], {args.sweep_epochs} epochs, "
                f"batched/basic models/s (median of {args.repeats} interleaved pairs): "
                f"{headline['no plots']:.1f} without plots (target "
                f">= 8), {headline['with plots']:.1f} with plots (target >= 5)")  # fmt: skip
        lines += ["", said]
        console.print(said)
    out = claim_dir(output_root() / "bench")
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    record = {"rows": rows, "headline": headline, "search": search, "torch": torch.__version__,
              "threads": torch.get_num_threads()}  # fmt: skip
    (out / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    console.print(f"written: {out}/bench.md and bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
