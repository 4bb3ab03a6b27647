"""The `regexp` command: verbs, each imported only when used, so --help answers fast.

run and sweep hand their overrides to Hydra after checking every job's config; bad input
gets one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path

from regexp.core.errors import UsageError

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
  notebook [FOLDER]         the reproduced notebook table beside the published figures
                            (make reproduce runs the models into outputs/reproduce first)

overrides are Hydra's: hidden_units=[16,16] penalty=l2 penalty.lam=0.01 optimizer=sgd
  optimizer.lr=0.05 seed=3 data=classification device=cpu +experiment=model_somany
  sweeps: hidden_units=[2],[8],[1024] seed=1,2,3
  launchers: hydra/launcher=joblib (local processes), submitit_local, submitit_slurm, ray
  `regexp run --cfg job` prints the composed config; `regexp run --info` shows Hydra's view.
"""

# verb -> module whose `cli(argv) -> int` handles it
VERBS = {
    "compare": "regexp.read.compare",
    "fix": "regexp.tools.surgery",
    "landscape": "regexp.tools.landscape",
    "ewma": "regexp.tools.ewma",
    "notebook": "regexp.read.notebook",
}


def _fail(message: str) -> int:
    print(f"regexp: error: {message}", file=sys.stderr)
    return 2


def _hydra_flags(args: list[str]) -> tuple[list[str], list[str]]:
    """(overrides, Hydra's own flags such as --cfg job, passed through untouched)."""
    flags, overrides, i = [], [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("-"):
            flags.append(a)
            if a in ("--cfg", "-c", "--package", "-p", "--info", "-i") and i + 1 < len(args):
                if not args[i + 1].startswith("-") and "=" not in args[i + 1]:
                    flags.append(args[i + 1])
                    i += 1
        else:
            overrides.append(a)
        i += 1
    return overrides, flags


def _call_hydra(argv: list[str]) -> None:
    import hydra

    from regexp.core.run import run_job

    main = hydra.main(config_path="pkg://regexp.conf", config_name="config", version_base="1.3")
    saved = sys.argv
    sys.argv = ["regexp", *argv]
    try:
        main(run_job)()
    finally:
        sys.argv = saved


def _has_override(overrides: list[str], key: str) -> bool:
    return any(o.split("=", 1)[0].lstrip("+") == key for o in overrides)


def cmd_run(args: list[str]) -> int:
    from regexp.core import config as configure
    from regexp.core import runs

    overrides, flags = _hydra_flags(args)
    if flags:  # --cfg, --info, --help ...: Hydra answers and no run starts
        _call_hydra([*flags, *overrides])
        return 0
    settings = configure.check(overrides)
    given = [o.split("=", 1)[1] for o in overrides if o.startswith("hydra.run.dir=")]
    if given:  # the user's folder; with interpolations in it only Hydra knows the name
        out = Path(given[-1]) if "${" not in given[-1] else None
    else:
        out = runs.claim_dir(runs.OUTPUT_ROOT)
        overrides = [*overrides, f"hydra.run.dir={out}"]
    _call_hydra(overrides)
    if out is None:
        return 0
    from regexp.read.report import print_run

    return print_run(out, settings)


# launcher preset -> the Hydra plugin that runs it (pip package = module with - for _)
LAUNCHER_PLUGINS = {
    "joblib": "hydra_joblib_launcher",
    "submitit_local": "hydra_submitit_launcher",
    "submitit_slurm": "hydra_submitit_launcher",
    "ray": "hydra_ray_launcher",
}


def _resume_args(args: list[str]) -> tuple[Path | None, list[str]]:
    """(SWEEP_DIR of --resume SWEEP_DIR or --resume=SWEEP_DIR, the other args)."""
    for i, a in enumerate(args):
        if a == "--resume":
            if i + 1 == len(args) or args[i + 1].startswith("-") or "=" in args[i + 1]:
                raise UsageError(
                    "--resume: give the sweep folder, e.g. --resume outputs/multirun/…"
                )
            return Path(args[i + 1]), args[:i] + args[i + 2 :]
        if a.startswith("--resume="):
            return Path(a.split("=", 1)[1]), args[:i] + args[i + 1 :]
    return None, args


def _check_launcher(overrides: list[str]) -> None:
    from importlib.util import find_spec

    for o in overrides:
        key, _, value = o.partition("=")
        if key.lstrip("+") == "hydra/launcher" and value in LAUNCHER_PLUGINS:
            module = LAUNCHER_PLUGINS[value]
            if find_spec(f"hydra_plugins.{module}") is None:
                package = module.replace("_", "-")
                raise UsageError(
                    f"hydra/launcher={value} needs the {package} package: pip install {package}"
                )


def cmd_sweep(args: list[str]) -> int:
    from regexp.core import config as configure
    from regexp.core import runs

    resume_dir, args = _resume_args(args)
    overrides, flags = _hydra_flags(args)
    if resume_dir is not None:
        from regexp.core.resume import relaunch_overrides

        overrides = relaunch_overrides(resume_dir, overrides)
    _check_launcher(overrides)
    jobs = configure.expand_sweep(overrides)
    configure.check_jobs(jobs)
    if _has_override(overrides, "hydra.sweep.dir"):
        given = next(o for o in overrides if o.startswith("hydra.sweep.dir="))
        sweep_dir = Path(given.split("=", 1)[1])
    else:
        sweep_dir = runs.claim_dir(runs.OUTPUT_ROOT / "multirun")
        overrides = [*overrides, f"hydra.sweep.dir={sweep_dir}"]
    try:
        _call_hydra(["--multirun", *flags, *overrides])
    finally:
        from regexp.read.report import print_sweep

        code = print_sweep(sweep_dir, expected=len(jobs))
    return code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    try:
        if verb == "run":
            if rest[:1] in (["-h"], ["--help"]):
                print(USAGE, end="")
                return 0
            return cmd_run(rest)
        if verb == "sweep":
            if rest[:1] in (["-h"], ["--help"]):
                print(USAGE, end="")
                return 0
            return cmd_sweep(rest)
        if verb in VERBS:
            return int(import_module(VERBS[verb]).cli(rest) or 0)
    except KeyboardInterrupt:
        return 130
    except UsageError as err:
        return _fail(str(err))
    return _fail(f"unknown verb {verb!r}; allowed: run, sweep, {', '.join(VERBS)}")


if __name__ == "__main__":
    sys.exit(main())
