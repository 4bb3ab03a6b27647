"""make bench: every figure a ratio of two things measured side by side in this one run.

1. training steps/s (full batch of 50 points) on [2], [16,16], [1024], 5x1024: regexp's loop,
   eager and with train.compile=true (steady state; the first, compiling call timed apart),
   vs a plain torch loop vs Keras 3 (JAX and torch backends, if the `bench` extra is in);
2. the 5x1024 step's GFLOP/s as a share of the peak fp32 matmul measured here;
3. seed sweeps of [16,16] and [128] at K = 8, 32, 128: models/s of the batched launcher vs
   the same jobs launched one by one (Hydra's basic launcher), the same files written (no
   plots; then a K = 32 sweep with plots, as `regexp sweep` writes them by default); and the
   engine alone (fit of the group, eager and at the largest K compiled, vs fit of one in a loop, no
   files, no Hydra);
4. start-up: a 1-job sweep's wall time (a sweep's fixed cost) and `regexp --help`; the wall
   time of `make reproduce` (--reproduce).

Absolute times on shared machines vary up to 4x; ratios taken in one run are what to compare.
Results: a rich table, plus bench.md and bench.json under outputs/bench/DATE/TIME/.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from regexp.core.config import compose
from regexp.core.data import make_data
from regexp.core.engine import fit
from regexp.core.run import build_model
from regexp.core.runs import OUTPUT_ROOT, claim_dir, write_atomic, write_json
from regexp.core.settings import validate

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
    """The shortest honest torch loop: same model, data, Adam (fused), MSE."""
    s = validate(compose([f"hidden_units={hidden}"]))
    data = make_data(s.data)
    rates = []
    for _ in range(repeats):
        model = build_model(s, 1)
        opt = torch.optim.Adam(model.parameters(), lr=0.01, fused=True)
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


def sweep_rate(hidden: str, k: int, launcher: str, epochs: int, plots: bool = False) -> float:
    """models/s of `regexp sweep seed=1..k` through one launcher (wall time, start-up included)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    seeds = ",".join(str(i) for i in range(1, k + 1))
    t0 = time.perf_counter()
    subprocess.run(
        [
            str(BIN / "regexp"),
            "sweep",
            f"hidden_units={hidden}",
            f"seed={seeds}",
            f"train.epochs={epochs}",
            f"plots.enabled={plots}",
            f"hydra/launcher={launcher}",
            f"hydra.sweep.dir={folder}",
        ],
        capture_output=True,
        check=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - t0
    assert len(list(folder.glob("*/metrics.json"))) == k, "a job wrote no metrics.json"
    shutil.rmtree(folder)
    return k / seconds


def engine_rates(
    hidden: list[int], k: int, epochs: int, one_max: int, compiled: bool
) -> tuple[float, float, float | None]:
    """models/s trained one after another, stacked, and stacked with train.compile=true
    (steady state: after a compiling warm-up call), training alone, no files."""

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
                    ]
                )
            )
            for i in range(1, k + 1)
        ]

    jobs = jobs_of(False)
    data = make_data(jobs[0].data)
    t0 = time.perf_counter()
    for s in jobs[:one_max]:
        fit([s], data)
    one = min(k, one_max) / (time.perf_counter() - t0)
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
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=300, help="steps per timing (5x1024: /3)")
    p.add_argument("--sweep-epochs", type=int, default=300)
    p.add_argument("--ks", default="8,32,128")
    p.add_argument(
        "--one-by-one-max",
        type=int,
        default=16,
        help="one-by-one side: jobs actually run (its rate is per job)",
    )
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--reproduce", action="store_true", help="also time `make reproduce`")
    args = p.parse_args()
    logging.disable(logging.INFO)
    console = Console()
    rows: list[dict] = []

    def add(section: str, what: str, values: list[float] | str, unit: str, ratio: str = ""):
        rec = {"section": section, "what": what, "unit": unit, "ratio": ratio}
        rec.update(spread(values) if isinstance(values, list) else {"note": values})
        rows.append(rec)
        console.log(rec)

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

    for hidden in ([16, 16], [128]):
        ks = [int(v) for v in args.ks.split(",")]
        for k in ks:
            one, stacked, compiled = engine_rates(
                hidden, k, args.sweep_epochs, args.one_by_one_max, k == max(ks)
            )
            add("engine", f"{hidden} K={k} fit([job]) one by one", [one], "models/s")
            add(
                "engine",
                f"{hidden} K={k} fit(group)",
                [stacked],
                "models/s",
                f"stacked/one-by-one = {stacked / one:.1f}",
            )
            if compiled is not None:
                add(
                    "engine",
                    f"{hidden} K={k} fit(group), train.compile=true",
                    [compiled],
                    "models/s",
                    f"compiled stacked/one-by-one = {compiled / one:.1f} (compiling not counted)",
                )

    for hidden in ("[16,16]", "[128]"):
        basic = 0.0
        for k in (int(v) for v in args.ks.split(",")):
            # one by one is a per-job rate: past --one-by-one-max, the last measured one stands
            if k <= args.one_by_one_max or not basic:
                basic = sweep_rate(hidden, min(k, args.one_by_one_max), "basic", args.sweep_epochs)
            batched = sweep_rate(hidden, k, "batched", args.sweep_epochs)
            add("sweep", f"{hidden} K={k} one by one", [basic], "models/s")
            add(
                "sweep",
                f"{hidden} K={k} batched",
                [batched],
                "models/s",
                f"batched/one-by-one = {batched / basic:.1f}",
            )

    # the default sweep draws each job's figures (~0.5 s a job): batched groups use a pool
    k = min(32, max(int(v) for v in args.ks.split(",")))
    basic = sweep_rate("[16,16]", min(k, args.one_by_one_max), "basic", args.sweep_epochs, True)
    batched = sweep_rate("[16,16]", k, "batched", args.sweep_epochs, True)
    add("sweep", f"[16,16] K={k} with plots, one by one", [basic], "models/s")
    add(
        "sweep",
        f"[16,16] K={k} with plots, batched",
        [batched],
        "models/s",
        f"batched/one-by-one = {batched / basic:.1f}",
    )
    one_job = 1 / sweep_rate("[16,16]", 1, "batched", 1)
    add("start-up", "regexp sweep, 1 job of 1 epoch", [one_job], "s", "a sweep's fixed cost")
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
    out = claim_dir(OUTPUT_ROOT / "bench")
    write_atomic(out / "bench.md", "\n".join(lines) + "\n")
    write_json(
        out / "bench.json",
        {"rows": rows, "torch": torch.__version__, "threads": torch.get_num_threads()},
    )
    console.print(f"written: {out}/bench.md and bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
