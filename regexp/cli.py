"""The `regexp` command: its verbs. Hydra, torch, pandas and matplotlib are imported only
where a verb needs them, so --help answers at once.

run and sweep hand their overrides to Hydra after checking every job's config; bad input
gets one line on stderr and exit code 2.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

from regexp.config.compose import shadowed, source_of
from regexp.config.errors import UsageError
from regexp.config.objective import register_resolvers
from regexp.config.output import drop_empty_root
from regexp.config.overrides import parse_override
from regexp.config.plan import plan_run, plan_sweep
from regexp.read.ending_process import EndingProcess, start_ending
from regexp.read.report import print_run
from regexp.runs.resume import relaunch_overrides
from regexp.system.command import remember_command
from regexp.system.exit import exit_now
from regexp.system.flags import ArgumentParser
from regexp.system.signals import (
    Terminated,
    exit_code,
    interrupts_deferred,
    terminate_as_interrupt,
)
from regexp.system.streams import quiet_stdout

USAGE = """\
usage: regexp VERB [ARGS...]

verbs:
  run [OVERRIDES...]        train one configured model   -> outputs/YYYY-MM-DD/HH-MM-SS/
  sweep [OVERRIDES...]      a Hydra multirun, one job per combination, with a summary table
                            -> outputs/multirun/YYYY-MM-DD/HH-MM-SS/{0,1,...}/
  sweep --resume SWEEP_DIR  run a sweep's failed, unfinished and missing jobs again
  compare PATH...           one table of run, sweep or parent folders (--help for options)
  fix RUN_DIR [KEY=VALUE]   shrink first-layer units whose change point lies in an interval
  landscape [RUN_DIR]       loss surfaces (the blog's example, or a trained run's plane)
  ewma                      the EWMA article's curves (beta = 0.5, 0.9, 0.98, bias correction)
  store [--clear]           the store of finished jobs (outputs/.store): how many, their size;
                            a job trained before is filled from it (reuse=false: train anew)
  notebook [FOLDER]         the reproduced notebook beside its published figures, each
                            lesson a verdict with its interval over the data draws; writes
                            notebook.json and .png (make reproduce [DRAWS=N|auto] runs the
                            models into outputs/reproduce)

overrides are Hydra's: hidden_units=[16,16] penalty=l2 penalty.lam=0.01 optimizer=sgd
  optimizer.lr=0.05 seed=3 data=classification device=cpu +experiment=model_somany
  sweeps: hidden_units=[2],[8],[1024] seed=1,2,3
  launchers: hydra/launcher=joblib (local processes), submitit_local, submitit_slurm, ray
  `regexp run --cfg job` prints the composed config; `regexp run --info` shows Hydra's view.
  --yes runs what is refused as very long (more than 10 000 jobs, 1 000 000 rows or epochs).
"""

FULL_ERROR = "HYDRA_FULL_ERROR"  # set: Hydra raises an error rather than printing it
TRACEBACK = "REGEXP_TRACEBACK"  # set to 1: an unexpected error shows its traceback

# verb -> module whose `cli(argv) -> int` handles it
VERBS = {
    "compare": "regexp.read.compare",
    "fix": "regexp.tools.fix",
    "landscape": "regexp.tools.landscape",
    "ewma": "regexp.tools.ewma",
    "notebook": "regexp.read.notebook",
    "store": "regexp.runs.store",
}


def _fail(message: str) -> int:
    print(f"regexp: error: {message}", file=sys.stderr)
    return 2


def _hydra_parser(prog: str) -> Any:
    """Hydra's own flags (hydra.main's parser), for run and sweep alike, so every flag goes
    through the same checks; overrides may come before or after them."""
    parser = ArgumentParser(prog=prog, add_help=False)
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--help", "-h", action="store_true")
    parser.add_argument("--hydra-help", action="store_true")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("--cfg", "-c", choices=["job", "hydra", "all"])
    parser.add_argument("--resolve", action="store_true")
    parser.add_argument("--package", "-p")
    parser.add_argument("--run", "-r", action="store_true")
    parser.add_argument("--multirun", "-m", action="store_true")
    parser.add_argument("--shell-completion", "-sc", action="store_true")
    parser.add_argument("--config-path", "-cp")
    parser.add_argument("--config-name", "-cn")
    parser.add_argument("--config-dir", "-cd")
    parser.add_argument(
        "--info",
        "-i",
        nargs="?",
        const="all",
        choices=["all", "config", "defaults", "defaults-tree", "plugins", "searchpath"],
    )
    parser.add_argument("--yes", action="store_true")  # run what is big or long all the same
    if prog.endswith("sweep"):
        parser.add_argument("--resume", metavar="SWEEP_DIR")
    return parser


def _parse(verb: str, args: list[str]) -> Any:
    """(parsed flags, config source); bad flags and missing folders are UsageErrors."""
    try:
        ns = _hydra_parser(f"regexp {verb}").parse_intermixed_args(args)
    except UsageError as err:
        if "--resume" in str(err):
            raise UsageError(
                "--resume: give the sweep folder, e.g. --resume outputs/multirun/…"
            ) from None
        raise
    if ns.resolve and ns.cfg is None and not ns.help:
        raise UsageError("--resolve goes with --cfg (or --help)")
    shown = [f for f, on in (("--cfg", ns.cfg), ("--info", ns.info),
                             ("--shell-completion", ns.shell_completion)) if on]  # fmt: skip
    if len(shown) > 1:  # Hydra shows one thing at a time
        raise UsageError(f"{', '.join(shown)}: give one of them")
    for o in ns.overrides:  # one parser for overrides: Hydra's
        parse_override(o)
    source = source_of(ns.config_path, ns.config_name, ns.config_dir)
    for rel in shadowed(source):
        print(
            f"regexp: warning: --config-dir: {rel} is also one of regexp's own configs, and "
            "Hydra reads regexp's; give yours another name",
            file=sys.stderr,
        )
    return ns, source


def _shown_flags(ns: Any) -> list[str]:
    """The flags that make Hydra show something instead of running (--cfg, --info, ...)."""
    flags = []
    if ns.cfg is not None:
        flags += ["--cfg", ns.cfg]
    if ns.package is not None:
        flags += ["--package", ns.package]
    if ns.resolve:
        flags.append("--resolve")
    if ns.info is not None:
        flags += ["--info", ns.info]
    for name in ("help", "hydra_help", "version", "shell_completion"):
        if getattr(ns, name):
            flags.append("--" + name.replace("_", "-"))
    return flags


def _one_line(err: BaseException, doing: str = "the command") -> str:
    """An error as one line: an OSError's file (else what was being done) and its reason,
    else its type and first line."""
    if isinstance(err, OSError) and err.strerror:
        return f"{err.filename or doing}: {err.strerror}"
    first = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def _call_hydra(argv: list[str]) -> int:
    """hydra.main over argv with regexp's task function; Hydra's own exit code (it exits 1 on
    its errors). An error that stops Hydra (a full disk while a job's folder is written) is
    one line and exit code 1, not Hydra's stack trace (unless HYDRA_FULL_ERROR=1 is set)."""
    import hydra

    from regexp.runs.job import task  # Hydra's: imported with it

    register_resolvers()
    main = hydra.main(config_path="pkg://regexp.conf", config_name="config", version_base="1.3")
    saved, theirs = sys.argv, os.environ.get(FULL_ERROR)
    sys.argv = ["regexp", *argv]
    os.environ[FULL_ERROR] = "1"  # Hydra raises, rather than printing the stack itself
    try:
        main(task)()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BrokenPipeError:  # the reader went away: entry() ends quietly
        raise
    except Exception as err:
        if theirs == "1":
            raise
        doing = "the sweep" if "--multirun" in argv else "the run"
        print(f"regexp: error: {_one_line(err, doing)}", file=sys.stderr)
        return 1
    finally:
        sys.argv = saved
        if theirs is None:
            os.environ.pop(FULL_ERROR, None)
        else:
            os.environ[FULL_ERROR] = theirs
    return 0


def _show(ns: Any, source: Any, overrides: list[str], multirun: bool) -> int:
    """--cfg, --info, --help, ...: Hydra answers (after the same checks) and nothing runs."""
    flags = _shown_flags(ns)
    if not (ns.help or ns.hydra_help or ns.version or ns.shell_completion):
        plan = (plan_sweep if multirun else plan_run)(overrides, source, claim=False)
        if multirun and (ns.cfg or ns.info):  # Hydra shows one job's: the sweep's first
            overrides = plan.jobs[0] if plan.jobs else [
                o for o in overrides if not parse_override(o).is_sweep_override()
            ]  # fmt: skip
            multirun = False
    mode = ["--multirun"] if multirun else []
    return _call_hydra([*mode, *source.hydra_flags(), *flags, *overrides])


def cmd_run(args: list[str]) -> int:
    ns, source = _parse("run", args)
    if ns.multirun:  # a multirun is a sweep: the same checks and summary
        return _sweep(ns, source)
    if _shown_flags(ns):
        return _show(ns, source, ns.overrides, multirun=False)
    plan = plan_run(ns.overrides, source, confirmed=ns.yes)
    with plan.held():
        code = _call_hydra([*source.hydra_flags(), *plan.overrides])
        return max(print_run(plan.out, plan.settings[0]), 1 if code else 0)


def cmd_sweep(args: list[str]) -> int:
    ns, source = _parse("sweep", args)
    return _sweep(ns, source)


def _sweep(ns: Any, source: Any) -> int:
    overrides = list(ns.overrides)
    resume = getattr(ns, "resume", None) is not None
    if resume:
        overrides = relaunch_overrides(Path(ns.resume), overrides)
    if _shown_flags(ns):
        return _show(ns, source, overrides, multirun=True)

    plan = plan_sweep(overrides, source, resume=resume, confirmed=ns.yes)
    with plan.held():  # the folder is this process's until the summary is written
        return _run_sweep(plan, source)


def _run_sweep(plan: Any, source: Any) -> int:
    tracked = any(s.logger == "mlflow" for s in plan.settings)
    if tracked:  # the parent run of the jobs' MLflow runs, before the first job
        from regexp.runs.mlflow_log import start_sweep

        start_sweep(plan.out)
    code = 1  # until Hydra returns (an interrupted sweep's parent run ends as failed)
    ending = None  # started inside the try: whatever stops the sweep, _end_sweep closes it
    try:
        ending = start_ending()  # imports the ending's modules while the jobs train
        code = _call_hydra(["--multirun", *source.hydra_flags(), *plan.overrides])
    finally:
        summary = _end_sweep(plan, tracked, code, ending)
    return max(summary, 1 if code else 0)


def _end_sweep(plan: Any, tracked: bool, code: int, ending: EndingProcess | None) -> int:
    """The sweep's summary, whatever stopped it; a signal meanwhile waits until it is written
    (then, ended here, the pictures are left out). 0 only when every expected job is ok (or
    pruned)."""
    summary = 1
    try:
        ended = None
        if ending is not None:
            with ending, interrupts_deferred():
                ended = ending.end(plan.out, plan.expected, plan.jobs, plan.optimizing)
        if ended is not None:
            summary = ended
        else:  # no ending process, or it died: the ending here
            with interrupts_deferred():
                from regexp.read.summary import draw_ending, write_ending  # pandas: at the end

                summary, table = write_ending(
                    plan.out, plan.expected, jobs=plan.jobs, searching=plan.optimizing
                )
            draw_ending(plan.out, table)
    finally:
        if tracked:
            from regexp.runs.mlflow_log import end_sweep as end_parent_run

            end_parent_run(plan.out, ok=not (summary or code))
    return summary


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    remember_command(args)
    drop_empty_root()
    # a log line that cannot be written (a full disk, a closed pipe) is dropped, not printed
    # with a traceback of its own, once per line
    logging.raiseExceptions = False
    try:
        with terminate_as_interrupt():
            if verb == "run":
                return cmd_run(rest)
            if verb == "sweep":
                return cmd_sweep(rest)
            if verb in VERBS:
                return int(import_module(VERBS[verb]).cli(rest) or 0)
    except KeyboardInterrupt as stop:
        print(f"regexp: {'terminated' if isinstance(stop, Terminated) else 'interrupted'}",
              file=sys.stderr)  # fmt: skip
        return exit_code(stop)
    except UsageError as err:
        return _fail(str(err))
    except BrokenPipeError:
        raise
    except Exception as err:  # a full disk, a folder that cannot be written, ...: one line
        if "1" in (os.environ.get(TRACEBACK), os.environ.get(FULL_ERROR)):  # asked for
            raise
        print(f"regexp: error: {_one_line(err)} ({TRACEBACK}=1 shows where)", file=sys.stderr)
        return 1
    return _fail(f"unknown verb {verb!r}; allowed: run, sweep, {', '.join(VERBS)}")


def entry() -> None:
    """The `regexp` command: main, then an exit without the interpreter's slow teardown. A
    closed stdout (`regexp sweep ... | head`) silences the output, not the work."""
    quiet_stdout()
    try:
        code = main()
    except BrokenPipeError:  # stderr's reader went away too: end quietly
        code = 141  # as a process killed by SIGPIPE
    exit_now(code)


if __name__ == "__main__":
    entry()
