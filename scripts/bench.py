"""make bench: every figure a ratio of two things measured side by side in this one run.

1. training steps/s (full batch of 50 points) on [2], [16,16], [1024], 5x1024: regexp's loop,
   eager and with train.compile=true (steady state; the first, compiling call timed apart),
   vs a plain torch loop vs Keras 3 (JAX and torch backends, if the `bench` extra is in);
2. the 5x1024 step's GFLOP/s as a share of the peak fp32 matmul measured here;
3. seed sweeps of [16,16] and [128] at K = 8, 32, 128: models/s of the batched launcher vs
   the same K jobs launched one by one (Hydra's basic launcher), both sides running all K
   jobs in this run (no plots; then K = 32 and the largest K with plots, as `regexp sweep`
   draws by default);
   and the engine alone (fit of the group, eager and at the largest K compiled, vs fit of
   each job in a loop, no files, no Hydra);
4. mixed groups (issue 23): a width grid, a sweep over data draws and the mission's three
   widths with the defaults, each through the batched and the basic launcher in this run, and
   how far the two launchers' train/val MSE lie apart after 20 epochs;
5. where a batched sweep's time goes: its fixed cost (1 job of 1 epoch), `regexp run`'s, the
   per-job cost outside training (two sweep sizes, their difference less engine time), and
   engine time per job; `regexp --help`; the wall time of `make reproduce` (--reproduce).

Absolute times on shared machines vary up to 4x; ratios taken in one run are what to compare.
Every folder the bench's commands write is kept until the bench ends: on an ext4 without a
journal (this machine's disk) the kernel skips inodes deleted in the last minutes when it
creates a file (perf: ext4_create -> recently_deleted), ~1 ms a file after a sweep's folder
was removed, so a sweep timed right after another's folder was deleted paid 5-10 ms a job
that a user's sweep into outputs/ does not. The "disk" row measures file creation as
the disk is at the time, without regexp.
Results: a rich table, plus bench.md and bench.json under outputs/bench/DATE/TIME/.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from regexp.config.compose import compose
from regexp.config.output import claim_dir, output_root
from regexp.config.settings import validate
from regexp.runs.layout import write_atomic, write_json
from regexp.runs.weights import build_model
from regexp.system.threads import threads_for
from regexp.train.data import make_data
from regexp.train.engine import fit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODELS = {"[2]": [2], "[16,16]": [16, 16], "[1024]": [1024], "5x1024": [1024] * 5}


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def regexp_rates(
    hidden: list[int], steps: int, repeats: int, compiled: bool = False
) -> list[float]:
    s = validate(
        compose(
            [
                f"hidden_units={hidden}",
                f"train.epochs={steps}",
                f"train.eval_every={steps}",
                f"train.compile={compiled}",
                "plots.enabled=false",
            ]
        )
    )
    data = make_data(s.data)
    rates = []
    for _ in range(repeats):
        rates.append(steps / fit([s], data)[0].seconds)
    return rates


def first_compiled_call(hidden: list[int]) -> float:
    """Seconds of a first train.compile=true run of 2 epochs: compiling, mostly (in-process
    cache cold; inductor's on-disk cache as this machine has it)."""
    t0 = time.perf_counter()
    regexp_rates(hidden, 2, 1, compiled=True)
    return time.perf_counter() - t0


def plain_rates(hidden: list[int], steps: int, repeats: int) -> list[float]:
    """The shortest honest torch loop: same model, data, Adam (fused), MSE, and the same torch
    threads as regexp's loop (regexp.system.threads.threads_for's choice)."""
    s = validate(compose([f"hidden_units={hidden}"]))
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
    try:
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "bench_keras.py"),
                backend,
                ",".join(map(str, hidden)),
                str(steps),
                str(repeats),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
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


_SCRATCH: list[Path] = []


def scratch(prefix: str) -> Path:
    """A new folder under the bench's scratch folder, which main removes at the end only."""
    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="bench-")))
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_SCRATCH[0]))


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
    done = subprocess.run(
        [str(BIN / "regexp"), "sweep", *args, f"hydra/launcher={launcher}",
         f"hydra.sweep.dir={folder}"],
        capture_output=True, check=True, timeout=3600, text=True,
    )  # fmt: skip
    return time.perf_counter() - t0, folder, done.stdout + done.stderr


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


# issue 23's sweeps: (label, overrides, whether they run --sweep-epochs, else the defaults')
MIXED = [
    ("width grid [2]..[256] x 16 seeds", [
        "hidden_units=[2],[4],[8],[16],[32],[64],[128],[256]", "seed=range(0,16)",
        "plots.enabled=false"], True),
    ("32 data draws, [16,16]", [
        "data.seed=range(0,32)", "hidden_units=[16,16]", "plots.enabled=false"], True),
    ("[2],[8],[1024], defaults, plots", ["hidden_units=[2],[8],[1024]"], False),
]  # fmt: skip


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
    metrics = [json.loads(p.read_text()) for p in folder.glob("*/metrics.json")]
    assert len(metrics) == k, "a job wrote no metrics.json"
    trained = sum(m["train_seconds"] for m in metrics)
    if ending:
        code = (
            "import io, sys, time; from pathlib import Path; from rich.console import Console;"
            "from regexp.read.summary import end_sweep; t0 = time.perf_counter();"
            f"end_sweep(Path({str(folder)!r}), {k}, Console(file=io.StringIO()));"
            "print(time.perf_counter() - t0)"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)  # fmt: skip
        stamps = sorted(p.stat().st_mtime for p in folder.glob("*/metrics.json"))
        write_ms = 1000 * (stamps[-1] - stamps[0]) / max(k - 1, 1)
        return seconds, trained, float(done.stdout.split()[-1]), write_ms
    return seconds, trained


def run_seconds() -> float:
    """Wall seconds of `regexp run` of 1 epoch without plots: its fixed cost."""
    folder = scratch("bench-run-")
    t0 = time.perf_counter()
    subprocess.run(
        [str(BIN / "regexp"), "run", "train.epochs=1", "plots.enabled=false",
         f"hydra.run.dir={folder}/run"],
        capture_output=True, check=True, timeout=600,
    )  # fmt: skip
    return time.perf_counter() - t0


def engine_rates(
    hidden: list[int], k: int, epochs: int, compiled: bool, extra: Sequence[str] = ()
) -> tuple[float, float, float | None]:
    """models/s trained one after another, stacked, and stacked with train.compile=true
    (steady state: after a compiling warm-up call), training alone, no files; extra: more
    overrides for every job."""

    def jobs_of(compile_: bool) -> list:
        return [
            validate(
                compose(
                    [
                        f"hidden_units={hidden}",
                        f"seed={i}",
                        f"train.epochs={epochs}",
                        f"train.eval_every={epochs}",
                        f"train.compile={compile_}",
                        *extra,
                    ]
                )
            )
            for i in range(1, k + 1)
        ]

    jobs = jobs_of(False)
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
    jobs = jobs_of(True)
    fit(jobs, data)  # compiles
    t0 = time.perf_counter()
    fit(jobs, data)
    return one, stacked, k / (time.perf_counter() - t0)


def help_seconds(repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([str(BIN / "regexp"), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    try:
        return _bench()
    finally:
        if _SCRATCH:
            shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


def _bench() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=300, help="steps per timing (5x1024: /3)")
    p.add_argument("--sweep-epochs", type=int, default=300)
    p.add_argument("--ks", default="8,32,128")
    p.add_argument("--quick", action="store_true", help="K = 4,16 on both sides of every ratio")
    p.add_argument("--sections", default="steps,engine,sweep,mixed,split", help="which to run")
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--reproduce", action="store_true", help="also time `make reproduce`")
    args = p.parse_args()
    if args.quick:
        args.ks, args.repeats, args.steps = "4,16", 1, 100
    logging.disable(logging.INFO)
    sections = set(args.sections.split(","))
    console = Console() if sys.stdout.isatty() else Console(width=170)
    rows: list[dict] = []

    def add(section: str, what: str, values: list[float] | str, unit: str, ratio: str = ""):
        rec = {"section": section, "what": what, "unit": unit, "ratio": ratio}
        rec.update(spread(values) if isinstance(values, list) else {"note": values})
        rows.append(rec)
        console.log(rec)

    if "steps" in sections:
        for label, hidden in MODELS.items():
            # 5x1024: a third of the steps, still enough to amortize train()'s final validation
            steps = max(10, args.steps // 3) if label == "5x1024" else args.steps
            ours = regexp_rates(hidden, steps, args.repeats)
            first = first_compiled_call(hidden)  # the steady state below excludes compiling
            compiled = regexp_rates(hidden, steps, args.repeats, compiled=True)
            plain = plain_rates(hidden, steps, args.repeats)
            med = statistics.median
            add("steps/s", f"{label} regexp", ours, "steps/s")
            add(
                "steps/s",
                f"{label} regexp compiled",
                compiled,
                "steps/s",
                f"compiled/regexp = {med(compiled) / med(ours):.2f}",
            )
            add(
                "steps/s",
                f"{label} regexp compiled, first call",
                [first],
                "s",
                "compile + 2 epochs, not in the steps/s",
            )
            add(
                "steps/s",
                f"{label} plain torch",
                plain,
                "steps/s",
                f"regexp/plain = {med(ours) / med(plain):.2f}, "
                f"compiled/plain = {med(compiled) / med(plain):.2f}",
            )
            if not args.no_keras:
                for backend in ("jax", "torch"):
                    keras = keras_rates(backend, hidden, steps, args.repeats)
                    ratio = ""
                    if isinstance(keras, list):
                        ratio = (
                            f"regexp/keras = {med(ours) / med(keras):.1f}, "
                            f"compiled/keras = {med(compiled) / med(keras):.1f}"
                        )
                    add("steps/s", f"{label} keras-{backend}", keras, "steps/s", ratio)
            if label == "5x1024":
                peak = peak_gflops(max(3, args.repeats))
                add("gflops", "matmul peak (2048^3)", peak, "GFLOP/s")
                for what, rates in (("", ours), (", train.compile=true", compiled)):
                    achieved = [r * step_gflop(hidden) for r in rates]
                    add(
                        "gflops",
                        f"5x1024 training step{what}",
                        achieved,
                        "GFLOP/s",
                        f"share of peak = {med(achieved) / med(peak):.0%}",
                    )

    ks = [int(v) for v in args.ks.split(",")]
    for hidden in ([16, 16], [128]) if "engine" in sections else ():
        for k in ks:
            one, stacked, compiled = engine_rates(hidden, k, args.sweep_epochs, k == max(ks))
            add("engine", f"{hidden} K={k} fit([job]) one by one", [one], "models/s")
            add("engine", f"{hidden} K={k} fit(group)", [stacked], "models/s",
                f"stacked/one-by-one = {stacked / one:.1f}")  # fmt: skip
            if compiled is not None:
                ratio = f"compiled stacked/one-by-one = {compiled / one:.1f} (not compiling)"
                add("engine", f"{hidden} K={k} fit(group), train.compile=true", [compiled],
                    "models/s", ratio)  # fmt: skip

    if "engine" in sections:
        # the penalties of `make reproduce DRAWS=5`: why the launcher trains models this big
        # one by one (max_params)
        big = ["penalty=l2", "penalty.lam=0.01", "train.threads=1"]
        one, stacked, _ = engine_rates([1024] * 5, 5, 10, False, big)
        add("engine", "5x1024 L2 0.01 K=5 fit([job]) one by one, 10 epochs", [one], "models/s")
        add("engine", "5x1024 L2 0.01 K=5 fit(group), 10 epochs", [stacked], "models/s",
            f"stacked/one-by-one = {stacked / one:.2f}")  # fmt: skip

    if sections & {"sweep", "split"}:
        add("disk", "create a job folder's 2 folders and 7 files (no regexp)",
            [disk_ms() for _ in range(args.repeats)], "ms/job", "this disk, now")  # fmt: skip
    if "sweep" in sections:
        # both sides of every sweep ratio run all K jobs, in this run
        for hidden in ("[16,16]", "[128]"):
            for k in ks:
                basic, _ = sweep_seconds(hidden, k, "basic", args.sweep_epochs)
                batched, _ = sweep_seconds(hidden, k, "batched", args.sweep_epochs)
                add("sweep", f"{hidden} K={k} basic launcher (one by one)", [k / basic], "models/s")
                add("sweep", f"{hidden} K={k} batched launcher", [k / batched], "models/s",
                    f"batched/basic = {basic / batched:.1f} (both ran {k} jobs)")  # fmt: skip
        # the default sweep draws each job's figures: a mid-sized sweep and the largest K
        for k in sorted({min(32, max(ks)), max(ks)}):
            basic, _ = sweep_seconds("[16,16]", k, "basic", args.sweep_epochs, True)
            batched, _ = sweep_seconds("[16,16]", k, "batched", args.sweep_epochs, True)
            add("sweep", f"[16,16] K={k} with plots, basic launcher", [k / basic], "models/s")
            ratio = f"batched/basic = {basic / batched:.1f} (both ran {k} jobs)"
            add("sweep", f"[16,16] K={k} with plots, batched launcher", [k / batched],
                "models/s", ratio)  # fmt: skip

    if "mixed" in sections:
        # issue 23's sweeps, every job run by both launchers, alternating; 300 epochs where the
        # table says so
        for label, overrides, long in MIXED:
            given = [*overrides, f"train.epochs={args.sweep_epochs}"] if long else overrides
            basic, batched = [], []
            for _ in range(args.repeats):
                seconds, alone, _ = run_sweep(given, "basic")
                basic.append(seconds)
                seconds, ours, out = run_sweep(given, "batched")
                batched.append(seconds)
            programs = re.search(r"(\d+) stacked programs", out).group(1)
            ratio = statistics.median(basic) / statistics.median(batched)
            add("mixed", f"{label}: basic", basic, "s")
            add("mixed", f"{label}: batched ({programs} programs)", batched, "s",
                f"batched/basic = {ratio:.2f} (medians)")  # fmt: skip
            drift = mse_apart(job_metrics(ours), job_metrics(alone))
            epochs = args.sweep_epochs if long else "the default"
            over = f"{sum(d > 1e-5 for d in drift)} of {len(drift)} jobs > 1e-5"
            add("mixed", f"{label}: MSE apart, {epochs} epochs", drift,
                "rel. diff (train/val MSE)", over)  # fmt: skip
        for label, overrides, _ in MIXED:  # agreement: 20 epochs, no plots
            short = [*overrides, "train.epochs=20", "plots.enabled=false"]
            ours, alone = (job_metrics(run_sweep(short, lc)[1]) for lc in ("batched", "basic"))
            drift = mse_apart(ours, alone)
            add("mixed", f"{label}: MSE apart, 20 epochs", drift,
                "rel. diff (train/val MSE)", f"{len(drift)} jobs, max target <= 1e-5")  # fmt: skip

    if "split" in sections:
        # where a batched sweep's time goes: two sizes of 1 epoch, no plots
        small, big = min(ks), max(ks)
        per_job, ending, writing, fixed, engine_1 = [], [], [], [], []
        for _ in range(args.repeats):  # the sizes interleaved: a busy spell hits both
            t_small, e_small, end_small, _ = sweep_seconds(
                "[16,16]", small, "batched", 1, ending=True
            )
            t_big, e_big, end_big, write_ms = sweep_seconds(
                "[16,16]", big, "batched", 1, ending=True
            )
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
        _, e300 = sweep_seconds("[16,16]", big, "batched", args.sweep_epochs)
        add("split", f"engine time per job (K={big}, {args.sweep_epochs} epochs)",
            [e300 / big * 1000], "ms")  # fmt: skip
    add("start-up", "regexp --help", help_seconds(5), "s")
    if args.reproduce:
        t0 = time.perf_counter()
        subprocess.run(["make", "-C", str(ROOT), "reproduce"], capture_output=True, check=True)
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
    out = claim_dir(output_root() / "bench")
    write_atomic(out / "bench.md", "\n".join(lines) + "\n")
    write_json(
        out / "bench.json",
        {"rows": rows, "torch": torch.__version__, "threads": torch.get_num_threads()},
    )
    console.print(f"written: {out}/bench.md and bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
