"""Switch regexp's speed tricks off in a process, without changing regexp's code.

scripts/bench_tricks.py puts this folder first on PYTHONPATH of the commands it times, so
Python imports this file at start-up (site.py's `import sitecustomize`), and so does every
process they spawn (a figure pool's processes inherit the environment). It reads

    REGEXP_TRICKS_OFF=name1,name2   the patches to apply (see PATCHES); set but empty: none
    REGEXP_TRICKS_LOG=FILE          append "pid patch module" for each patch applied
    REGEXP_TRICKS_RUSAGE=DIR        at exit, write DIR/PID.json: this process's CPU seconds,
                                    page faults, time in gc and in FigurePool.close
    REGEXP_TRICKS_DEBUG=1           print each patch applied on stderr

With REGEXP_TRICKS_OFF unset this file does nothing at all. Set (even empty), it wraps
SourceFileLoader.exec_module: each time the code of a module named in PATCHES has run (an
import, or Hydra's plugin scan executing it again), its patches are applied, before any
importer binds its names (`from regexp.config.overrides import parse_override` then gets
the patched function). Nothing is imported earlier than it would be.
"""

from __future__ import annotations

import os
import sys


def _exit_now(m):  # regexp.cli: sys.exit(main()) instead of os._exit after the exit hooks
    def exit_now(code):
        sys.exit(code)

    m.exit_now = exit_now


def _keep_freed_memory(m):  # regexp.system.threads: glibc's default malloc thresholds
    m.keep_freed_memory = lambda: False


def _small_threads(m):  # regexp.system.threads: no model counts as small
    m.SMALL_MODEL = 0


def _write_threads(m):  # regexp.runs.group: no one-thread block while writing a group
    import contextlib

    original = m.threads_for

    def threads_for(n_params, threads=None):
        if n_params == 0 and threads == 1:
            return contextlib.nullcontext()
        return original(n_params, threads)

    m.threads_for = threads_for


def _hydra_template(m):  # job_writer: no hydra.yaml template (so no plain open either)
    m.hydra_yaml_template = lambda hydra_tree: None


def _log_move(m):  # job_writer: JobWriter.open always takes its OmegaConf + configure_log way
    original = m.JobWriter.open

    def open_(self, fields, plain):
        return original(self, fields, False)

    m.JobWriter.open = open_


def _parse_cache(m):  # regexp.config.overrides: every parse through Hydra's grammar
    m.parse_override = m.parse_override.__wrapped__


def _plain_task(m):  # regexp.config.overrides: every job through OmegaConf's with_values
    m.plain_task = lambda task: None


def _thumb_threads(m):  # regexp.read.html_report: thumbnails one after another
    def _thumb_cells(run_dirs, page):
        return [m._thumb_cell(d, page) for d in run_dirs]

    m._thumb_cells = _thumb_cells


def _figure_pool(m):  # batched_launcher: figures drawn in the training process
    import contextlib

    m.BatchedLauncher._pool = staticmethod(lambda plotted: contextlib.nullcontext(None))


def _pool_exit(m):  # regexp.figures.pool: no os._exit hook in the pool's processes
    m._exit_now = lambda: None


def _history_csv(m):  # regexp.train.history: history.csv by pandas
    def csv(self):
        return self.frame().to_csv(index=False)

    m.History.csv = csv


def _ewma_pandas(m):  # regexp.train.update: the series EWMA by pandas' ewm (as before 8396208)
    def ewma(series, beta, bias_correction=True):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must lie in [0, 1), got {beta}")
        import numpy as np

        if hasattr(series, "detach"):
            series = series.detach().cpu().numpy()
        x = np.asarray(series, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"ewma expects a 1-D series, got shape {x.shape}")
        out = x.copy()
        finite = np.isfinite(x)
        values = x[finite]
        if values.size == 0:
            return out
        if bias_correction and np.all(values == values[0]):
            return out
        import pandas as pd

        smoothed = pd.Series(values).ewm(alpha=1.0 - beta, adjust=True).mean().to_numpy()
        if not bias_correction:
            t = np.arange(1, values.size + 1, dtype=np.float64)
            smoothed = smoothed * (1.0 - beta**t)
        out[finite] = smoothed
        return out

    m.ewma = ewma


def _templates(m):  # regexp.figures.templates: every figure built anew
    import contextlib

    original = m.template

    @contextlib.contextmanager
    def template(key, build):
        m.clear_templates()
        with original(key, build) as t:
            yield t

    m.template = template


def _palette(m):  # regexp.figures.templates: the RGB canvas saved as it is, no quantizing
    def save_png(t, path, title):
        m._write_png(t.render(), path, {"Title": title}, lambda rgb: rgb)

    m.save_png = save_png


def _direct_grads(m):  # regexp.train.steps: every group through the flat gradient buffer
    m.DIRECT_MIN_PARAMS = 1 << 62


def _penalty_grad(m):  # regexp.train.steps: the penalty's gradient by autograd, as the data's
    import torch

    def gradients(self, x, y):
        total, (loss, fit) = m.objective(self.leaves, x, y, self.task, self.activation, self.table)
        if self.direct:
            return [g.contiguous() for g in torch.autograd.grad(total, self.leaves)], loss, fit
        total.backward()
        return [leaf.grad for leaf in self.leaves], loss, fit

    m.EagerStep.gradients = gradients


def _compile_options(m):  # regexp.train.steps: torch.compile's default options, all guards
    m._OPTIONS = {}


def _eval_chunks(m):  # regexp.train.loss: validation of all K models at once
    m.CHUNK_ELEMENTS = 1 << 62


# patch name -> (module, function(module))
PATCHES = {
    "exit_now": ("regexp.cli", _exit_now),
    "keep_freed_memory": ("regexp.system.threads", _keep_freed_memory),
    "small_threads": ("regexp.system.threads", _small_threads),
    "write_threads": ("regexp.runs.group", _write_threads),
    "hydra_template": ("hydra_plugins.regexp_launcher.job_writer", _hydra_template),
    "log_move": ("hydra_plugins.regexp_launcher.job_writer", _log_move),
    "parse_cache": ("regexp.config.overrides", _parse_cache),
    "plain_task": ("regexp.config.overrides", _plain_task),
    "thumb_threads": ("regexp.read.html_report", _thumb_threads),
    "figure_pool": ("hydra_plugins.regexp_launcher.batched_launcher", _figure_pool),
    "pool_exit": ("regexp.figures.pool", _pool_exit),
    "history_csv": ("regexp.train.history", _history_csv),
    "ewma_pandas": ("regexp.train.update", _ewma_pandas),
    "templates": ("regexp.figures.templates", _templates),
    "palette": ("regexp.figures.templates", _palette),
    "direct_grads": ("regexp.train.steps", _direct_grads),
    "penalty_grad": ("regexp.train.steps", _penalty_grad),
    "compile_options": ("regexp.train.steps", _compile_options),
    "eval_chunks": ("regexp.train.loss", _eval_chunks),
}


def _applied(name: str, module: str) -> None:
    log = os.environ.get("REGEXP_TRICKS_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {name} {module}\n")
    if os.environ.get("REGEXP_TRICKS_DEBUG"):
        print(f"tricks_off[{os.getpid()}]: {name} off ({module})", file=sys.stderr)


def _patching(exec_module, targets, timers):
    """SourceFileLoader.exec_module, then the module's patches, each time its code runs.

    A finder on sys.meta_path would not do: Hydra's plugin scan loads hydra_plugins/'s
    modules through pkgutil's own finders, and executes again a module that was imported
    already (sweep_jobs, job_writer, ...), redefining its functions and classes after any
    patch made at its first import."""

    def exec_with_patches(self, module):
        exec_module(self, module)
        for name, patch in targets.get(module.__name__, ()):
            patch(module)
            _applied(name, module.__name__)
        timer = timers.get(module.__name__)
        if timer is not None:
            timer(module)

    return exec_with_patches


# What REGEXP_TRICKS_RUSAGE records besides CPU seconds and page faults, the same on both
# sides: time in the garbage collector, and time in FigurePool.close (joining the pool's
# processes as they exit).
_TIMES = {"gc_s": 0.0, "gc_n": 0, "pool_close_s": 0.0}
_GC_START = [0.0]
_CLOCK = [__import__("time").perf_counter]


def _gc_timer(phase, info):
    clock = _CLOCK[0]  # bound at install: a collection at interpreter shutdown cannot import
    if phase == "start":
        _GC_START[0] = clock()
    else:
        _TIMES["gc_s"] += clock() - _GC_START[0]
        _TIMES["gc_n"] += 1


def _time_pool_close(m):
    import functools
    import time

    close = m.FigurePool.close

    @functools.wraps(close)
    def timed_close(self):
        t0 = time.perf_counter()
        try:
            close(self)
        finally:
            _TIMES["pool_close_s"] += time.perf_counter() - t0

    m.FigurePool.close = timed_close


def _record_rusage(folder: str) -> None:
    import json
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    record = {"cpu": ru.ru_utime + ru.ru_stime, "minflt": ru.ru_minflt, "ppid": os.getppid()}
    try:
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as f:
            json.dump({**record, **_TIMES}, f)
    except OSError:
        pass


def _install() -> None:
    wanted = [n.strip() for n in os.environ["REGEXP_TRICKS_OFF"].split(",") if n.strip()]
    unknown = [n for n in wanted if n not in PATCHES]
    if unknown:
        raise SystemExit(f"REGEXP_TRICKS_OFF: unknown {unknown}; known: {', '.join(PATCHES)}")
    targets: dict[str, list] = {}
    for name in wanted:
        module, patch = PATCHES[name]
        if module in sys.modules:  # too late to patch before its importers: refuse
            raise SystemExit(f"REGEXP_TRICKS_OFF: {module} was imported before sitecustomize")
        targets.setdefault(module, []).append((name, patch))
    folder = os.environ.get("REGEXP_TRICKS_RUSAGE")
    timers = {"regexp.figures.pool": _time_pool_close} if folder else {}
    from importlib.machinery import SourceFileLoader

    SourceFileLoader.exec_module = _patching(SourceFileLoader.exec_module, targets, timers)
    if folder:
        import atexit
        import gc

        gc.callbacks.append(_gc_timer)
        atexit.register(_record_rusage, folder)  # first registered: runs last


if os.environ.get("REGEXP_TRICKS_OFF") is not None:
    _install()
