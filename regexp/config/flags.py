"""argparse for the verbs that are not Hydra apps (compare, landscape, surgery, ewma)."""

import argparse

from regexp.config.errors import UsageError


class ArgumentParser(argparse.ArgumentParser):
    """argparse for the verbs: a bad flag is a UsageError (one line), not usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog.removeprefix('regexp ')}: {message}")
