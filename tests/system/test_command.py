"""regexp.system.command: the command line a user typed, kept for the runs of this process and
of the processes it starts."""

import shlex
import sys

from regexp.system.command import COMMAND_ENV, remember_command, typed_command


def test_the_first_regexp_command_is_the_one_its_runs_record(monkeypatch):
    monkeypatch.delenv(COMMAND_ENV, raising=False)
    assert typed_command() == shlex.join(sys.argv)  # no regexp command: this process's
    remember_command(["sweep", "hidden_units=[2],[8]", "name=a b"])
    remember_command(["run"])  # a job the sweep started keeps the sweep's line
    assert typed_command() == "regexp sweep 'hidden_units=[2],[8]' 'name=a b'"
