"""`python -m regexp ...`: the `regexp` command."""

from regexp.cli import entry

entry()
