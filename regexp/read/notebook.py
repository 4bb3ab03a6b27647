"""`regexp notebook [FOLDER]`: the reproduced notebook beside its published figures, and each
of its lessons as a statement over the folder's data draws.

FOLDER (default outputs/reproduce, where `make reproduce` puts its sweeps) is read by
notebook_folder, the lessons' statistics come from notebook_stats and the outputs from
notebook_output: the table and the lessons printed, notebook.json and notebook.png written
into FOLDER. A lesson that fails is a finding, not an error: the exit code is 0. Missing or
not-ok runs are one error line and exit 2, with nothing written. `--draws-max` states the
looks of `make reproduce DRAWS=auto` (regexp.read.statistics.Plan); `--decide` prints only
how many draws the folder should hold next (0: done) and the sweeps that need them, for the
Makefile's loop; `--draws-for` says whose undecided verdicts add draws (the notebook's
published lessons, or all). No torch here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from regexp.config.errors import UsageError
from regexp.read.notebook_folder import load_figures, load_runs, missing, not_ok
from regexp.read.notebook_lessons import MODELS
from regexp.read.notebook_output import (
    JSON_NAME,
    PNG_NAME,
    print_lessons,
    print_models,
    write_files,
)
from regexp.read.notebook_stats import ALL, PUBLISHED, report_of
from regexp.read.statistics import Plan
from regexp.system.flags import ArgumentParser, number

DEFAULT_ROOT = Path("outputs/reproduce")


def _parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="regexp notebook",
        description="The reproduced notebook beside its published figures; each lesson as a "
        "verdict with its interval over the folder's data draws. Writes FOLDER/notebook.json "
        "and FOLDER/notebook.png.",
    )
    p.add_argument("folder", nargs="?", type=Path, default=DEFAULT_ROOT, metavar="FOLDER",
                   help=f"a reproduce folder (default {DEFAULT_ROOT}; `make reproduce "
                   "[DRAWS=N|auto]` fills it)")  # fmt: skip
    p.add_argument("--draws-max", type=number(2, integer=True), metavar="M",
                   help="the sequential plan's last look (make reproduce DRAWS=auto); without "
                   "it, one look at the draws the folder holds")  # fmt: skip
    p.add_argument("--first", type=number(2, integer=True), default=5, metavar="N",
                   help="the plan's first look (default 5 draws)")  # fmt: skip
    p.add_argument("--batch", type=number(1, integer=True), default=5, metavar="B",
                   help="draws added between looks (default 5)")  # fmt: skip
    p.add_argument("--draws-for", choices=(PUBLISHED, ALL), default=PUBLISHED,
                   help="whose undecided verdicts add draws: the notebook's published lessons "
                   "(default) or all, ours too")  # fmt: skip
    p.add_argument("--decide", action="store_true",
                   help="print only the draws the folder should hold next (0: every lesson "
                   "that adds draws decided, or the last look reached) and the sweeps of make "
                   "reproduce that need them; write nothing")  # fmt: skip
    return p


def plan_of(args: argparse.Namespace) -> Plan | None:
    if args.draws_max is None:
        if args.decide:
            raise UsageError(
                "notebook: --decide: give the plan's --draws-max (and --first, --batch)"
            )
        return None
    if args.draws_max < args.first:
        raise UsageError(
            f"notebook: --draws-max: must be at least --first ({args.first}), got {args.draws_max}"
        )
    return Plan(first=int(args.first), batch=int(args.batch), draws_max=int(args.draws_max))


def cli(argv: list[str]) -> int:
    """0 when the report is complete (notebook.json and .png written, or --decide answered),
    2 when runs are missing or not ok (nothing written)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    plan = plan_of(args)
    root: Path = args.folder
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder; run `make reproduce` first")
    runs = load_runs(root)
    published = load_figures()
    report = report_of(runs, published, plan, args.draws_for)
    if not runs.empty and not args.decide:
        print_models(report, runs, published, root)
        print_lessons(report, published)
    needed = report.draws_needed() if plan is not None else None
    lacking, bad = missing(runs, report.draws, needed), not_ok(runs)
    if lacking or bad:  # an incomplete report leaves the folder as it was
        problems = []
        if lacking:
            problems.append(f"{len(lacking)} of {len(MODELS)} models lack runs: "
                            f"{'; '.join(lacking)} (run `make reproduce`)")  # fmt: skip
        if bad:
            problems.append(f"runs not ok: {', '.join(bad)}")
        raise UsageError(f"{root}: {'; '.join(problems)}; {JSON_NAME} and {PNG_NAME} not written")
    if args.decide:
        undecided = ", ".join(r.lesson.key for r in report.waiting) or "none"
        print(f"regexp notebook: {len(report.draws)} draws; undecided: {undecided}",
              file=sys.stderr)  # fmt: skip
        # for the Makefile: the draws to hold next (0: done), then the sweeps that need them
        sweeps = report.sweeps_to_run() if report.next_draws else []
        print(" ".join([str(report.next_draws), *sweeps]))
        return 0
    try:
        write_files(report, published, root)
    except OSError as exc:
        raise UsageError(f"{root}: cannot write: {exc.strerror}") from None
    print(f"Wrote {root / JSON_NAME} and {root / PNG_NAME}")
    return 0
