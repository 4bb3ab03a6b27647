"""Each speed trick of regexp against its absence, side by side, in one run.

For every trick (--tricks picks them; --list names them) its scenario runs with the trick on
and with it off, in --rounds rounds that alternate the sides (each round runs every side of a
scenario once, in an order rotated and reversed from round to round); a side's figure is the
median over rounds, shown with its min and max, and off/on is the ratio of the medians, with
the range of the rounds' own off/on ratios beside it (a range that straddles 1 is noise).

A trick is switched off without touching regexp's code: scripts/tricks_off/sitecustomize.py,
first on PYTHONPATH of each timed command (and so of the processes it spawns), patches the
trick's module each time its code has run (REGEXP_TRICKS_OFF=patch,...). Both sides run with
that file and the same environment, only the list of patches differs (empty: on). Before
timing, probes check in two processes (all patches off, none) that each patch changes what
regexp's own call sites use; every timed run's patch log is checked for the patches its side
asked for; the basic-sweeper side is checked in its jobs' hydra.yaml.

Scenarios are `regexp run` / `regexp sweep` commands ([16,16] seed sweeps, as a user types
them), measured by wall seconds, the CPU seconds of all their processes (RUSAGE_CHILDREN),
and what the regexp process itself records at its exit (CPU seconds, page faults, time in
the garbage collector, time in FigurePool.close); or this script in a child process for what
a command cannot isolate: the engine's fit() (the first fit of a process apart), a run's
figures, a sweep's ending and report.html's thumbnails on an existing sweep folder. On a
shared machine CPU seconds move much less than wall seconds; a trick that only overlaps work
on another core shows in wall seconds only, and only when that core is free.
Every folder the commands write is kept under one scratch folder until the end: on this
machine's ext4, files created right after many deletions cost ~1 ms each (scripts/bench.py).

Results: a table (rich when available), and tricks.md / tricks.json under
$REGEXP_OUTPUTS/bench/DATE/TIME-tricks/ (default ./outputs).

    .venv/bin/python scripts/bench_tricks.py [--tricks 1,5,templates] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OFF_DIR = Path(__file__).resolve().parent / "tricks_off"
VENV_BIN = ROOT / ".venv" / "bin"
BIN = VENV_BIN if (VENV_BIN / "regexp").exists() else Path(sys.executable).parent
PYTHON = str(BIN / "python")
SWEEPERS = {"checked": "CheckedSweeper", "basic": "BasicSweeper"}

# ------------------------------------------------------------------------- what is compared


@dataclass(frozen=True)
class Off:
    """A trick's absence: patches of scripts/tricks_off (and extra overrides for commands)."""

    patches: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    sweeper: str = "checked"  # the sweeper its sweeps' hydra.yaml must name


ON = Off()
VARIANTS: dict[str, Off] = {
    "exit_now": Off(("exit_now",)),
    "keep_freed_memory": Off(("keep_freed_memory",)),
    "write_threads": Off(("write_threads",)),
    "hydra_template": Off(("hydra_template",)),
    "log_move": Off(("log_move",)),
    "checked_sweeper": Off(args=("hydra/sweeper=basic",), sweeper="basic"),
    "parse_cache": Off(("parse_cache",)),
    "plain_task": Off(("plain_task",)),
    "thumb_threads": Off(("thumb_threads",)),
    "figure_pool": Off(("figure_pool",)),
    "pool_exit": Off(("pool_exit",)),
    "history_csv": Off(("history_csv",)),
    "ewma_pandas": Off(("ewma_pandas",)),
    "templates": Off(("templates",)),
    "palette": Off(("palette",)),
    "direct_grads": Off(("direct_grads",)),
    "penalty_grad": Off(("penalty_grad",)),
    "eval_chunks": Off(("eval_chunks",)),
    "eval_chunks+keep_freed_memory": Off(("eval_chunks", "keep_freed_memory")),
    "compile_options": Off(("compile_options",)),
    "small_threads": Off(("small_threads",)),
}


@dataclass(frozen=True)
class Row:
    """One trick (one variant of the issue's numbered item) and what it is measured by."""

    trick: int  # the number
    variant: str  # a key of VARIANTS
    what: str
    where: str
    absent: str
    measures: tuple[tuple[str, str], ...]  # (scenario key, metric)


W, CM, CA = "wall", "cpu_main", "cpu_all"
ROWS = [
    Row(1, "exit_now", "ends `regexp` with os._exit after the exit hooks (no interpreter teardown)",
        "regexp/system/exit.py exit_now, regexp/cli.py entry", "sys.exit(main())",
        (("run-e1", W), ("run-e1", CA), ("sweep8-e1", W), ("sweep8-e1", CA))),
    Row(3, "keep_freed_memory", "glibc mallopt: keep freed blocks for reuse",
        "regexp/system/threads.py, called by train/engine.py fit", "a no-op",
        (("engine-k", "fit_first_cpu"), ("engine-k", "fit_cpu"), ("engine-k", "minflt_fit"),
         ("sweep-big", W), ("sweep-big", CM), ("sweep-big", "minflt_main"))),
    Row(4, "write_threads", "one torch thread while a trained group's folders are written",
        "regexp/runs/group.py run_group", "contextlib.nullcontext()",
        (("sweep-big-plots", W), ("sweep-big-plots", CM), ("sweep-big-plots", CA))),
    Row(5, "hydra_template", "hydra.yaml from a text template (and, with it, the plain open: "
        "log handlers moved, no OmegaConf per job)",
        "hydra_plugins/regexp_launcher/job_writer.py hydra_yaml_template",
        "hydra_yaml_template returns None",
        (("sweep-big", W), ("sweep-big", CM), ("sweep-huge-e1", W), ("sweep-huge-e1", CM))),
    Row(5, "log_move", "LogFiles.move of the file handlers instead of configure_log per job",
        "job_writer.py JobWriter.open, LogFiles", "JobWriter.open always non-plain",
        (("sweep-big", W), ("sweep-big", CM), ("sweep-huge-e1", W), ("sweep-huge-e1", CM))),
    Row(6, "checked_sweeper", "default sweeper skips Hydra's validate_batch_is_legal",
        "hydra_plugins/regexp_launcher/checked_sweeper.py", "hydra/sweeper=basic",
        (("sweep-big", W), ("sweep-big", CM))),
    Row(7, "parse_cache", "lru_cache on parse_override", "regexp/config/overrides.py",
        "parse_override.__wrapped__ everywhere",
        (("sweep-big-e1", W), ("sweep-big-e1", CM), ("sweep-huge-e1", W),
         ("sweep-huge-e1", CM))),
    Row(7, "plain_task", "jobs' configs as plain dicts (plain_task, with_values_plain)",
        "regexp/config/overrides.py, config/jobs.py JobConfigs", "plain_task returns None",
        (("sweep-big-e1", W), ("sweep-big-e1", CM), ("sweep-huge-e1", W),
         ("sweep-huge-e1", CM))),
    Row(8, "thumb_threads", "report.html thumbnails in threads from 8 runs on",
        "regexp/read/html_report.py _thumb_cells", "one after another",
        (("end-sweep", W), ("end-sweep", "cpu"), ("thumbs", W), ("thumbs", "cpu"))),
    Row(9, "figure_pool", "figures drawn in a pool of processes",
        "batched_launcher.py _pool, regexp/figures/pool.py", "_pool -> nullcontext(None)",
        (("sweep32-plots", W), ("sweep32-plots", CA), ("sweep-big-plots", W),
         ("sweep-big-plots", CM), ("sweep-big-plots", CA))),
    Row(11, "pool_exit", "pool processes end with os._exit from an atexit hook",
        "regexp/figures/pool.py _exit_now", "no such hook",
        (("sweep32-plots", W), ("sweep32-plots", CA), ("sweep32-plots", "pool_close"))),
    Row(12, "history_csv", "history.csv written without pandas",
        "regexp/train/history.py History.csv", "History.frame().to_csv(index=False)",
        (("sweep-big", W), ("sweep-big", CM))),
    Row(12, "ewma_pandas", "history.png's EWMA as a Python loop, not pandas' ewm",
        "regexp/train/update.py ewma", "pandas' ewm (the code before 8396208)",
        (("run-plots", W), ("run-plots", CM))),
    Row(13, "templates", "a figure built once per process and shape, then updated",
        "regexp/figures/templates.py template", "clear_templates() before every figure",
        (("figures", "cpu_ms_run"), ("figures", "first_ms"))),
    Row(13, "palette", "256-colour palette PNGs (PIL quantize to the artists' colours)",
        "regexp/figures/templates.py save_png, to_palette", "the RGB canvas saved unquantized",
        (("figures", "cpu_ms_run"), ("figures", "png_kb"))),
    Row(14, "direct_grads", "a K=1 model of >= 65536 params takes autograd's gradients as they are",
        "regexp/train/steps.py DIRECT_MIN_PARAMS", "DIRECT_MIN_PARAMS = 2**62",
        (("steps-5x1024", "ms_step"), ("steps-5x1024-t1", "ms_step"))),
    Row(14, "penalty_grad", "the penalty's gradient by formula (2λw, λ·sign w), not autograd",
        "regexp/train/steps.py EagerStep.gradients, loss.py add_penalty_grad",
        "autograd of data loss + penalty",
        (("steps-5x1024-l2-t1", "ms_step"), ("steps-k5-5x1024-l2-t1", "ms_step"))),
    Row(14, "eval_chunks", "validation metrics in chunks of models on the CPU",
        "regexp/train/loss.py CHUNK_ELEMENTS", "CHUNK_ELEMENTS = 2**62",
        (("engine-k", "fit_first_cpu"), ("engine-k", "fit_cpu"), ("engine-k", "minflt_fit"))),
    Row(14, "eval_chunks+keep_freed_memory", "(3 and 14 together: both guard against the "
        "same page faults)", "loss.py CHUNK_ELEMENTS, threads.py keep_freed_memory",
        "both off",
        (("engine-k", "fit_first_cpu"), ("engine-k", "fit_cpu"), ("engine-k", "minflt_fit"))),
    Row(14, "compile_options", "compiled step without inductor's asserts and global guards",
        "regexp/train/steps.py _OPTIONS", "options={}",
        (("steps-compiled", "ms_step"), ("steps-compiled", "compile_s"))),
    Row(14, "small_threads", "one intra-op thread for models under 200k params",
        "regexp/system/threads.py threads_for, SMALL_MODEL", "SMALL_MODEL = 0",
        (("steps-16x16", "ms_step"), ("steps-1024", "ms_step"))),
]  # fmt: skip

UNITS = {"wall": "s", "cpu_main": "s CPU", "cpu_all": "s CPU", "fit": "s", "ms_step": "ms",
         "fit_cpu": "s CPU", "cpu": "s CPU", "compile_s": "s", "cpu_ms_run": "ms CPU",
         "first_ms": "ms CPU", "png_kb": "kB", "gc_main": "s", "minflt_main": "k faults",
         "pool_close": "s", "fit_first": "s", "fit_first_cpu": "s CPU",
         "minflt_fit": "k faults"}  # fmt: skip
METRIC_NAMES = {"wall": "wall", "cpu_main": "CPU, regexp process", "cpu_all": "CPU, all processes",
                "fit": "fit(), wall", "fit_cpu": "fit(), CPU", "cpu": "CPU",
                "ms_step": "per step (wall)", "compile_s": "first call (compiling)",
                "cpu_ms_run": "CPU per run", "first_ms": "CPU, a process's first run",
                "png_kb": "PNG bytes per run", "gc_main": "time in gc, regexp process",
                "minflt_main": "page faults, regexp process", "pool_close": "FigurePool.close",
                "fit_first": "first fit(), wall", "fit_first_cpu": "first fit(), CPU",
                "minflt_fit": "page faults per fit()"}  # fmt: skip


@dataclass
class Scenario:
    key: str
    label: str
    kind: str  # "cli" | "engine" | "figures" | "end_sweep"
    argv: list[str] = field(default_factory=list)  # cli: verb and overrides
    jobs: int = 0  # cli sweeps: the jobs expected; 0 for `regexp run`
    spec: dict = field(default_factory=dict)  # children's parameters


def sweep(k: int, epochs: int, plots: bool) -> list[str]:
    return ["sweep", f"seed=range(0,{k})", "hidden_units=[16,16]", f"train.epochs={epochs}",
            f"plots.enabled={str(plots).lower()}"]  # fmt: skip


def scenarios(quick: bool) -> dict[str, Scenario]:
    big, huge = (32, 128) if quick else (128, 512)
    steps = 0.25 if quick else 1.0
    runs = 10 if quick else 20
    found = [
        Scenario("run-e1", "`regexp run train.epochs=1 plots.enabled=false`", "cli",
                 ["run", "train.epochs=1", "plots.enabled=false"]),
        Scenario("run-plots", "`regexp run` (defaults: [16], 1000 epochs, plots)", "cli", ["run"]),
        Scenario("sweep1-e1", "sweep, 1 job of 1 epoch, no plots", "cli", sweep(1, 1, False), 1),
        Scenario("sweep8-e1", "sweep, 8 jobs of 1 epoch, no plots", "cli", sweep(8, 1, False), 8),
        Scenario("sweep32", "sweep, 32 jobs [16,16], 300 epochs, no plots", "cli",
                 sweep(32, 300, False), 32),
        Scenario("sweep32-plots", "sweep, 32 jobs [16,16], 300 epochs, plots", "cli",
                 sweep(32, 300, True), 32),
        Scenario("sweep-big", f"sweep, {big} jobs [16,16], 300 epochs, no plots", "cli",
                 sweep(big, 300, False), big),
        Scenario("sweep-big-plots", f"sweep, {big} jobs [16,16], 300 epochs, plots", "cli",
                 sweep(big, 300, True), big),
        Scenario("sweep-big-e1", f"sweep, {big} jobs of 1 epoch, no plots", "cli",
                 sweep(big, 1, False), big),
        Scenario("sweep-huge-e1", f"sweep, {huge} jobs of 1 epoch, no plots", "cli",
                 sweep(huge, 1, False), huge),
        Scenario("engine-k", f"engine fit of K={big} [16,16], 300 epochs, eval_every 10",
                 "engine", spec=dict(hidden=[16, 16], k=big, epochs=300, eval_every=10,
                                     warm=10, warm_k=2, repeats=3)),
        Scenario("end-sweep", f"end_sweep of a {big}-job plotted sweep's folder (warm process)",
                 "end_sweep", sweep(big, 300, True), big, dict(repeats=3)),
        Scenario("thumbs", f"report.html's {big} thumbnails (_thumb_cells) alone, warm process",
                 "thumbs", sweep(big, 300, True), big, dict(repeats=5)),
        Scenario("figures", f"a [16,16] run's 4 default figures, {runs} runs in one process",
                 "figures", spec=dict(hidden=[16, 16], runs=runs)),
        Scenario("steps-16x16", "K=1 [16,16] eager steps", "engine",
                 spec=dict(hidden=[16, 16], k=1, epochs=int(2000 * steps), warm=50, repeats=3)),
        Scenario("steps-1024", "K=1 [1024] eager steps", "engine",
                 spec=dict(hidden=[1024], k=1, epochs=int(1000 * steps), warm=50, repeats=3)),
        Scenario("steps-5x1024", "K=1 5x1024 eager steps (all threads, the default)", "engine",
                 spec=dict(hidden=[1024] * 5, k=1, epochs=int(30 * steps) or 10, warm=5,
                           repeats=3)),
        Scenario("steps-5x1024-t1", "K=1 5x1024 eager steps, train.threads=1", "engine",
                 spec=dict(hidden=[1024] * 5, k=1, epochs=int(40 * steps) or 10, warm=3,
                           repeats=3, threads=1)),
        Scenario("steps-5x1024-l2-t1", "K=1 5x1024 eager steps, L2 0.01, train.threads=1",
                 "engine", spec=dict(hidden=[1024] * 5, k=1, epochs=int(40 * steps) or 10,
                                     warm=3, repeats=3, threads=1,
                                     overrides=["penalty=l2", "penalty.lam=0.01"])),
        Scenario("steps-k5-5x1024-l2-t1", "K=5 5x1024 eager steps, L2 0.01, train.threads=1 "
                 "(make reproduce DRAWS=5's penalties)", "engine",
                 spec=dict(hidden=[1024] * 5, k=5, epochs=int(10 * steps) or 4, warm=2,
                           repeats=3, threads=1, overrides=["penalty=l2", "penalty.lam=0.01"])),
        Scenario("steps-compiled", "K=1 [16,16] train.compile=true, steady state", "engine",
                 spec=dict(hidden=[16, 16], k=1, epochs=int(3000 * steps), warm=2, repeats=3,
                           compile=True)),
    ]  # fmt: skip
    return {s.key: s for s in found}


# ------------------------------------------------------------------------ running one side


class Bench:
    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.count = 0
        self.prepared: dict[str, Path] = {}

    def folder(self, prefix: str) -> Path:
        self.count += 1
        path = self.scratch / f"{self.count:04d}-{prefix}"
        path.mkdir()
        return path

    def env(self, off: Off, work: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(OFF_DIR), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        env["REGEXP_TRICKS_OFF"] = ",".join(off.patches)
        env["REGEXP_TRICKS_LOG"] = str(work / "patches.log")
        env["REGEXP_TRICKS_RUSAGE"] = str(work / "rusage")
        env.pop("REGEXP_TRICKS_DEBUG", None)
        (work / "rusage").mkdir()
        return env

    def run(self, sc: Scenario, off: Off) -> dict[str, float]:
        work = self.folder(sc.key)
        env = self.env(off, work)
        if sc.kind == "cli":
            result = self._cli(sc, off, work, env)
        else:
            result = self._child(sc, work, env)
        applied = _applied(work / "patches.log")
        missing = set(off.patches) - {name for _, name in applied}
        if missing or (not off.patches and applied):
            raise SystemExit(
                f"bench_tricks: {sc.key}: patches asked {off.patches}, applied "
                f"{sorted({n for _, n in applied})}: the side would not measure what it says"
            )
        return result

    def _cli(self, sc: Scenario, off: Off, work: Path, env: dict) -> dict[str, float]:
        verb = sc.argv[0]
        out = work / "out"
        argv = [str(BIN / "regexp"), *sc.argv, *off.args, f"hydra.{verb}.dir={out}"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(work / "stdout", "wb") as so, open(work / "stderr", "wb") as se:
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=so, stderr=se, env=env, cwd=ROOT)
            code = proc.wait(timeout=1800)
            wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if code != 0:
            tail = (work / "stderr").read_text(errors="replace")[-2000:]
            raise SystemExit(f"bench_tricks: {' '.join(argv)} exited {code}:\n{tail}")
        if verb == "sweep":
            done = len(list(out.glob("*/metrics.json")))
            if done != sc.jobs:
                raise SystemExit(f"bench_tricks: {out}: {done} of {sc.jobs} jobs finished")
            hydra_yaml = (out / "0" / ".hydra" / "hydra.yaml").read_text()
            if SWEEPERS[off.sweeper] not in hydra_yaml:
                raise SystemExit(f"bench_tricks: {out}: not run by the {off.sweeper} sweeper")
        elif not (out / "metrics.json").is_file():
            raise SystemExit(f"bench_tricks: {out}: no metrics.json")
        main = work / "rusage" / f"{proc.pid}.json"
        cpu_all = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        result = {"wall": wall, "cpu_all": cpu_all}
        if main.is_file():
            rec = json.loads(main.read_text())
            result["cpu_main"], result["gc_main"] = rec["cpu"], rec["gc_s"]
            result["minflt_main"], result["pool_close"] = rec["minflt"] / 1000, rec["pool_close_s"]
        return result

    def _child(self, sc: Scenario, work: Path, env: dict) -> dict[str, float]:
        spec = dict(sc.spec, kind=sc.kind, work=str(work))
        if sc.kind in ("end_sweep", "thumbs"):
            spec["folder"], spec["jobs"] = str(self.prepare(sc)), sc.jobs
        done = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"bench_tricks: child {sc.key} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def prepare(self, sc: Scenario) -> Path:
        """The sweep folder an end_sweep or thumbs scenario reads (made once, tricks on)."""
        key = " ".join(sc.argv)
        if key not in self.prepared:
            out = self.folder(f"{sc.key}-folder") / "out"
            subprocess.run([str(BIN / "regexp"), *sc.argv, f"hydra.sweep.dir={out}"],
                           cwd=ROOT, capture_output=True, check=True, timeout=1800)  # fmt: skip
            self.prepared[key] = out
        return self.prepared[key]


def _applied(log: Path) -> list[tuple[int, str]]:
    if not log.is_file():
        return []
    return [(int(p), n) for p, n, _ in (line.split() for line in log.read_text().splitlines())]


# ----------------------------------------------------------------------------- child modes


def child(spec: dict) -> dict[str, Any]:
    import logging

    logging.disable(logging.WARNING)
    return {"engine": child_engine, "figures": child_figures, "end_sweep": child_end_sweep,
            "thumbs": child_thumbs, "probe": child_probe}[spec["kind"]](spec)  # fmt: skip


def child_engine(spec: dict) -> dict[str, float]:
    """fit() of K seeds of one architecture, no files: a warm-up fit, then `repeats` timed."""
    import dataclasses

    from regexp.config.compose import compose
    from regexp.config.settings import validate
    from regexp.train.data import make_data
    from regexp.train.engine import fit

    def group(epochs: int) -> list:
        base = validate(compose([
            f"hidden_units={spec['hidden']}", f"train.epochs={epochs}",
            f"train.eval_every={spec.get('eval_every', epochs)}",
            f"train.compile={str(spec.get('compile', False)).lower()}", "plots.enabled=false",
            *([f"train.threads={spec['threads']}"] if spec.get("threads") else []),
            *spec.get("overrides", []),
        ]))  # fmt: skip
        return [dataclasses.replace(base, seed=i) for i in range(spec["k"])]

    warm = group(spec["warm"])[: spec.get("warm_k", spec["k"])]
    timed = group(spec["epochs"])
    data = make_data(timed[0].data)
    t0 = time.perf_counter()
    fit(warm, data)
    first = time.perf_counter() - t0
    times, cpu = [], []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(spec["repeats"] + 1):  # the first apart: a sweep's process fits once
        t0, c0 = time.perf_counter(), time.process_time()
        fit(timed, data)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    fit_s = statistics.median(times[1:])
    return {"fit": fit_s, "fit_cpu": statistics.median(cpu[1:]), "fit_first": times[0],
            "fit_first_cpu": cpu[0], "minflt_fit": faults / 1000 / len(times),
            "ms_step": 1000 * fit_s / spec["epochs"], "compile_s": first}  # fmt: skip


def child_figures(spec: dict) -> dict[str, float]:
    """plot_specs + draw_plots of `runs` + 1 runs in this process, as a group's writing does
    (one torch thread); CPU ms per run after the first, the first apart, PNG bytes."""
    import numpy as np
    import torch

    from regexp.config.compose import compose
    from regexp.config.settings import validate
    from regexp.figures.specs import draw_plots, plot_specs
    from regexp.runs.layout import RunDir
    from regexp.train.data import make_data
    from regexp.train.history import History
    from regexp.train.model import MLP

    torch.set_num_threads(1)
    s = validate(compose([f"hidden_units={spec['hidden']}"]))
    data = make_data(s.data)
    runs = spec["runs"]
    models = [
        MLP(data.n_in, s.hidden_units, 1, s.activation).init_seeded(i, stddev=0.5).eval()
        for i in range(runs + 1)
    ]
    epochs = np.arange(1, s.train.epochs + 1)
    train = 0.04 + 0.6 * np.exp(-epochs / 40)
    val = np.where(epochs % s.train.eval_every == 0, train * 0.98, np.nan)
    history = History({"epoch": epochs, "train_loss": train, "train_mse": train,
                       "val_mse": val, "val_loss": val})  # fmt: skip
    times = []
    for i in range(runs + 1):
        folder = RunDir(Path(spec["work"]) / "runs" / str(i))
        t0 = time.process_time()
        draw_plots(plot_specs(folder.plots_dir, folder.fit_file, models[i], data, s, history))
        times.append(1000 * (time.process_time() - t0))
    pngs = list((Path(spec["work"]) / "runs" / "1" / "plots").glob("*.png"))
    assert len(pngs) >= 3, pngs
    return {"cpu_ms_run": statistics.median(times[1:]), "first_ms": times[0],
            "png_kb": sum(p.stat().st_size for p in pngs) / 1000}  # fmt: skip


def child_end_sweep(spec: dict) -> dict[str, float]:
    """end_sweep on an existing sweep folder in this warm process: one call to warm up (its
    imports, fonts), then `repeats` timed."""
    import io

    from rich.console import Console

    from regexp.read.summary import end_sweep

    times, cpu = [], []
    for _ in range(spec["repeats"] + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        code = end_sweep(Path(spec["folder"]), spec["jobs"], Console(file=io.StringIO()))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert code == 0
    return {"wall": statistics.median(times[1:]), "cpu": statistics.median(cpu[1:]),
            "first": times[0]}  # fmt: skip


def child_thumbs(spec: dict) -> dict[str, float]:
    """report.html's thumbnail cells of every run of a sweep folder, as write_report makes
    them (html_report._thumb_cells): one warm-up call, then `repeats` timed."""
    import regexp.read.html_report as html_report

    folder = Path(spec["folder"])
    runs = sorted(str(p.parent) for p in folder.glob("*/metrics.json"))
    times, cpu = [], []
    for _ in range(spec["repeats"] + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        cells = html_report._thumb_cells(runs, folder / "report.html")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert len(cells) == spec["jobs"] and all("<img" in c for c in cells)
    return {"wall": statistics.median(times[1:]), "cpu": statistics.median(cpu[1:])}


def child_probe(spec: dict) -> dict[str, Any]:
    """What regexp's own call sites see of each trick: True where the trick is off. Run once
    with every patch and once with none."""
    import contextlib
    import threading

    import numpy as np

    states: dict[str, Any] = {}
    details: dict[str, Any] = {}
    work = Path(spec["work"])

    # ewma first: whether drawing a history imports pandas (nothing else has yet)
    from regexp.figures.draw import Template, ewma, save_png, template  # as draw.py's users

    series = [1.0, 2.0, float("nan"), 4.0, 3.5, float("inf"), 2.0, 0.5, 7.0, 1.0]
    had = "pandas" in sys.modules
    details["ewma"] = [
        [None if v != v else v for v in ewma(series, beta, corr).tolist()]
        for beta in (0.6, 0.9) for corr in (True, False)
    ]  # fmt: skip
    states["ewma_pandas"] = not had and "pandas" in sys.modules

    import pandas

    from regexp.train.history import History

    to_csv, calls = pandas.DataFrame.to_csv, []
    pandas.DataFrame.to_csv = lambda self, *a, **k: calls.append(1) or to_csv(self, *a, **k)
    h = History({"epoch": np.arange(1, 6), "train_loss": np.array([0.5, 0.25, 1e-5, 3.0, 1e16]),
                 "val_mse": np.array([np.nan, 0.1, np.nan, np.inf, 0.2])})  # fmt: skip
    details["history_csv"] = h.csv()
    pandas.DataFrame.to_csv = to_csv
    states["history_csv"] = bool(calls)

    import torch
    from hydra.core.plugins import Plugins

    Plugins.instance()  # Hydra's plugin scan, as in a sweep: it executes hydra_plugins/ again
    import regexp.cli
    import regexp.config.jobs
    import regexp.runs.group
    import regexp.system.exit
    import regexp.train.engine
    import regexp.train.loss
    import regexp.train.steps

    launcher = sys.modules["hydra_plugins.regexp_launcher.batched_launcher"]
    sweep_jobs = sys.modules["hydra_plugins.regexp_launcher.sweep_jobs"]
    # the class a sweep's writers are made of: SweepJobs.write's global, after the scan
    writer = launcher.SweepJobs.write.__globals__["JobWriter"]
    states["exit_now"] = regexp.cli.exit_now is not regexp.system.exit.exit_now

    states["keep_freed_memory"] = regexp.train.engine.keep_freed_memory() is False
    torch.set_num_threads(2)
    with regexp.train.engine.threads_for(1000, None):
        states["small_threads"] = torch.get_num_threads() != 1
    with regexp.runs.group.threads_for(0, threads=1):
        states["write_threads"] = torch.get_num_threads() == 2

    tree = {"job": {"id": "0", "num": 0, "override_dirname": ""}, "overrides": {"task": []},
            "runtime": {"output_dir": ""}, "sweep": {"dir": "x"}}  # fmt: skip
    states["hydra_template"] = writer.__init__.__globals__["hydra_yaml_template"](tree) is None

    class Logs:
        dir = work

        def move(self, out: Path) -> None:
            pass

    w = writer.__new__(writer)
    w.numbered, w.render, w.sweep_dir, w.logs, w.base = True, str, work, Logs(), None
    try:  # the plain way returns; the other needs w.base (None here)
        w.open({"job.num": 0}, True)
        states["log_move"] = False
    except AttributeError:
        states["log_move"] = True

    users = [sys.modules[n] for n in ("regexp.cli", "regexp.config.plan", "regexp.config.compose",
             "regexp.config.jobs", "regexp.config.overrides")] + [sweep_jobs]  # fmt: skip
    import regexp.runs.resume

    users.append(regexp.runs.resume)
    cached = {u.__name__: hasattr(u.parse_override, "cache_info") for u in users}
    details["parse_cache"] = cached
    states["parse_cache"] = not any(cached.values()) if len(set(cached.values())) == 1 else "mixed"

    from omegaconf import OmegaConf

    states["plain_task"] = regexp.config.jobs.plain_task(OmegaConf.create({"a": 1})) is None

    import regexp.read.html_report as html_report

    seen, cell = set(), html_report._thumb_cell
    html_report._thumb_cell = lambda d, page: seen.add(threading.get_ident()) or ""
    html_report._thumb_cells(["x"] * 8, work / "page.html")
    html_report._thumb_cell = cell
    states["thumb_threads"] = seen == {threading.get_ident()}

    with launcher.BatchedLauncher._pool(launcher.MIN_JOBS) as pool:
        states["figure_pool"] = pool is None
    from regexp.figures.pool import FigurePool

    with FigurePool(1) as pool:  # the hook its processes registered at start
        hook = "__import__('regexp.figures.pool').figures.pool._exit_now.__name__"
        states["pool_exit"] = pool.executor.submit(eval, hook).result() != "_exit_now"

    builds = []

    def build() -> Any:
        builds.append(1)
        return Template((1.0, 1.0))

    for _ in range(2):
        with template(("probe",), build):
            pass
    states["templates"] = len(builds) == 2
    t = Template((2.0, 1.5))
    (line,) = t.fig.add_subplot().plot([0, 1], [0, 1], color="C3")
    t.dynamic(line)
    save_png(t, work / "probe.png", "probe")
    from PIL import Image

    with Image.open(work / "probe.png") as img:
        states["palette"] = img.mode != "P"

    states["direct_grads"] = regexp.train.steps.DIRECT_MIN_PARAMS > 1 << 40
    gradients = regexp.train.steps.EagerStep.gradients
    states["penalty_grad"] = "add_penalty_grad" not in gradients.__code__.co_names
    states["compile_options"] = regexp.train.steps._OPTIONS == {}
    states["eval_chunks"] = regexp.train.loss.CHUNK_ELEMENTS > 1 << 40
    with contextlib.suppress(Exception):
        details["torch_threads"] = torch.get_num_threads()
    return {"states": states, "details": details}


def check_patches(bench: Bench) -> list[str]:
    """Run the probes with every patch off and with none; lines saying what was checked.
    Raises SystemExit when a patch does not change what regexp's call sites use."""
    patches = tuple(sorted({p for off in VARIANTS.values() for p in off.patches}))
    seen = {}
    for side, off in (("on", ON), ("off", Off(patches))):
        work = bench.folder(f"probe-{side}")
        done = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "--child",
             json.dumps({"kind": "probe", "work": str(work)})],
            env=bench.env(off, work), cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"bench_tricks: probe ({side}) failed:\n{done.stderr[-3000:]}")
        seen[side] = json.loads(done.stdout.strip().splitlines()[-1])
    bad = [p for p in patches if seen["on"]["states"].get(p) is not False]
    bad += [p for p in patches if seen["off"]["states"].get(p) is not True]
    if bad:
        raise SystemExit(f"bench_tricks: probes failed for {sorted(set(bad))}: {seen}")
    lines = [f"probes: each of {len(patches)} patches changes what regexp's call sites use "
             "(on: none off; off: all off)"]  # fmt: skip
    if seen["on"]["details"]["history_csv"] != seen["off"]["details"]["history_csv"]:
        raise SystemExit("bench_tricks: history.csv differs with pandas' to_csv")
    lines.append("history.csv: the same text from pandas' to_csv")
    worst = 0.0
    for a_row, b_row in zip(seen["on"]["details"]["ewma"], seen["off"]["details"]["ewma"]):
        for a, b in zip(a_row, b_row):
            if (a is None) != (b is None):
                raise SystemExit("bench_tricks: ewma: NaNs differ with pandas")
            if a is not None and a != b and abs(a) != float("inf"):
                worst = max(worst, abs(a - b) / max(abs(a), 1e-300))
    if worst > 1e-12:
        raise SystemExit(f"bench_tricks: ewma differs from pandas' by {worst:.2g} relative")
    lines.append(f"ewma: pandas' ewm agrees to {worst:.1e} relative (NaN/inf, both corrections)")
    return lines


# ---------------------------------------------------------------------------------- report


def spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def verdict(ratios: list[float], ratio: float) -> str:
    """helps / hurts when every round agrees and the medians differ by 3 % or more."""
    if min(ratios) > 1.0 and ratio >= 1.03:
        return "helps"
    if max(ratios) < 1.0 and ratio <= 0.97:
        return "hurts"
    return "noise"


def summarize(rows: list[Row], scs: dict[str, Scenario], results: dict) -> list[dict]:
    out = []
    for row in rows:
        for key, metric in row.measures:
            on = [r[metric] for r in results[key]["on"]]
            off = [r[metric] for r in results[key][row.variant]]
            ratios = [b / a for a, b in zip(on, off)]
            ratio = statistics.median(off) / statistics.median(on)
            saved = statistics.median(off) - statistics.median(on)
            call = verdict(ratios, ratio)
            unit = UNITS[metric]
            if call == "noise":
                buys = "nothing measurable"
            else:
                share = 100 * abs(saved) / statistics.median(off)
                verb = "saves" if saved > 0 else "costs"
                buys = f"{verb} {fmt(abs(saved))} {unit} ({share:.0f} % of off)"
            out.append({
                "trick": row.trick, "variant": row.variant, "scenario": scs[key].label,
                "scenario_key": key, "metric": metric, "unit": unit, "on": spread(on),
                "off": spread(off), "ratio": ratio, "round_ratios": ratios, "verdict": call,
                "buys": buys, "absent": row.absent, "what": row.what, "where": row.where,
            })  # fmt: skip
    return out


def table_lines(summary: list[dict]) -> list[str]:
    head = ["#", "trick", "scenario", "measure", "on: median [min–max]", "off: median [min–max]",
            "off/on", "rounds' off/on", "verdict", "what it buys"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        lines.append("| " + " | ".join(cells(s)) + " |")
    return lines


def cells(s: dict) -> list[str]:
    def side(v: tuple) -> str:
        return f"{fmt(v[1])} [{fmt(v[0])}–{fmt(v[2])}] {s['unit']}"

    rr = s["round_ratios"]
    return [str(s["trick"]), s["variant"], s["scenario"], METRIC_NAMES[s["metric"]],
            side(s["on"]), side(s["off"]), f"{s['ratio']:.2f}",
            f"{min(rr):.2f}–{max(rr):.2f}", s["verdict"], s["buys"]]  # fmt: skip


# ------------------------------------------------------------------------------------ main


def select(spec: str | None) -> list[Row]:
    if not spec:
        return list(ROWS)
    wanted = {w.strip() for w in spec.split(",") if w.strip()}
    rows = [r for r in ROWS if str(r.trick) in wanted or r.variant in wanted]
    unknown = wanted - {str(r.trick) for r in ROWS} - {r.variant for r in ROWS}
    if unknown:
        raise SystemExit(f"--tricks: unknown {sorted(unknown)}; see --list")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tricks", help="issue numbers or variant names, comma-separated (all)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of on/off (at least 3)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="K = 32 / 128 instead of 128 / 512, shorter step runs, 10 figure runs",
    )
    p.add_argument("--list", action="store_true", help="list the tricks and their scenarios")
    p.add_argument("--check-only", action="store_true", help="run the patch probes only")
    p.add_argument("--no-check", action="store_true", help="skip the patch probes")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    scs = scenarios(args.quick)
    rows = select(args.tricks)
    if args.list:
        for r in rows:
            where = ", ".join(f"{scs[k].label} ({m})" for k, m in r.measures)
            print(f"{r.trick:>2} {r.variant:<18} off = {r.absent}\n   {'':<18} {where}")
        return 0
    if args.rounds < 3:
        p.error("--rounds: at least 3")
    if not (BIN / "regexp").exists():
        p.error(f"no regexp in {BIN}: run `make install` first")

    scratch = Path(tempfile.mkdtemp(prefix="bench-tricks-"))
    started = datetime.now()
    try:
        bench = Bench(scratch)
        notes = [] if args.no_check else check_patches(bench)
        for line in notes:
            print(line, flush=True)
        if args.check_only:
            return 0
        needed: dict[str, list[str]] = {}
        for r in rows:
            for key, _ in r.measures:
                sides = needed.setdefault(key, ["on"])
                if r.variant not in sides:
                    sides.append(r.variant)
        results: dict[str, dict[str, list[dict]]] = {}
        t_all = time.perf_counter()
        loads: dict[str, list[float]] = {}
        for key, sides in needed.items():
            sc = scs[key]
            results[key] = {side: [] for side in sides}
            loads[key] = [os.getloadavg()[0]]
            for rnd in range(args.rounds):
                order = sides[rnd % len(sides) :] + sides[: rnd % len(sides)]
                if rnd % 2:
                    order.reverse()
                for side in order:
                    got = bench.run(sc, ON if side == "on" else VARIANTS[side])
                    results[key][side].append(got)
                    shown = ", ".join(f"{m}={v:.3f}" for m, v in got.items())
                    print(f"[{time.perf_counter() - t_all:6.0f} s] {key:<16} round {rnd + 1} "
                          f"{side:<18} {shown}", flush=True)  # fmt: skip
            loads[key].append(os.getloadavg()[0])
        summary = summarize(rows, scs, results)
    finally:
        print(f"removing {scratch} ...", flush=True)
        shutil.rmtree(scratch, ignore_errors=True)

    title = (f"regexp speed tricks, on vs off ({args.rounds} rounds, medians; "
             f"{'--quick, ' if args.quick else ''}{started:%Y-%m-%d %H:%M})")  # fmt: skip
    lines = table_lines(summary)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title, *lines, sep="\n")
    else:
        console = Console() if sys.stdout.isatty() else Console(width=220)
        table = Table(title=title)
        for col in lines[0].strip("| ").split(" | "):
            table.add_column(col)
        for s in summary:
            table.add_row(*cells(s))
        console.print(table)
    outputs = Path(os.environ.get("REGEXP_OUTPUTS", ROOT / "outputs"))
    out = outputs / "bench" / f"{started:%Y-%m-%d}" / f"{started:%H-%M-%S}-tricks"
    out.mkdir(parents=True, exist_ok=True)
    head = [f"# {title}", "", f"Command: `{' '.join(sys.argv)}`; {os.cpu_count()} cores; "
            f"{(time.perf_counter() - t_all) / 60:.1f} min.", "", *notes, ""]  # fmt: skip
    load_lines = [
        "",
        "Load average (1 min) at the start and end of each scenario (2 cores; "
        "the machine is shared):",
        "",
    ]
    load_lines += [f"- {scs[k].label}: {a:.1f} -> {b:.1f}" for k, (a, b) in loads.items()]
    (out / "tricks.md").write_text("\n".join(head + lines + load_lines) + "\n")
    (out / "tricks.json").write_text(json.dumps(
        {"started": started.isoformat(), "argv": sys.argv, "rounds": args.rounds,
         "quick": args.quick, "summary": summary, "results": results, "loads": loads},
        indent=1))  # fmt: skip
    print(f"written: {out}/tricks.md and tricks.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
