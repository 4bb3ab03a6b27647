"""The command line a user typed, kept for the runs of this process and of the processes it
starts (Hydra rewrites sys.argv; joblib and submitit workers inherit the environment): each
run records it in metrics.json's made_by."""

from __future__ import annotations

import os
import shlex
import sys

COMMAND_ENV = "REGEXP_COMMAND"


def remember_command(argv: list[str]) -> None:
    """Keep `regexp ARGV...` as the command line of this process's runs, unless a parent
    `regexp` command kept its own."""
    os.environ.setdefault(COMMAND_ENV, shlex.join(["regexp", *argv]))


def typed_command() -> str:
    """The command line a user typed: the `regexp` command's, else this process's."""
    return os.environ.get(COMMAND_ENV) or shlex.join(sys.argv)
