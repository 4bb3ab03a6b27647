"""The `regexp` command's entry point: `python -m regexp ...` and the `regexp` script.

The script imports this module and nothing else at start: a spawned helper process (the
figure pool, the sweep's ending) runs the caller's script again (multiprocessing's rule), and
each helper would otherwise import the whole CLI for nothing (docs/speed.md).
"""


def entry() -> None:
    from regexp.cli import entry as run  # deferred: a helper's run of the script stops here

    run()


if __name__ == "__main__":
    entry()
