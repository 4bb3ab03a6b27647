"""argparse for the verbs that are not Hydra apps (compare, landscape, fix, ewma): a bad flag
is one line, and a number flag is checked to be finite and in range."""

import argparse
import math
from collections.abc import Callable

from regexp.config.errors import UsageError


class ArgumentParser(argparse.ArgumentParser):
    """argparse for the verbs: a bad flag is a UsageError (one line), not usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog.removeprefix('regexp ')}: {message}")


def number(
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    above: bool = False,
) -> Callable[[str], float]:
    """An argparse type: a finite number (an integer when `integer`) >= low (> low when
    `above`) and <= high."""
    kind = "an integer" if integer else "a finite number"
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if above else '>='} {low:g}")
    if high is not None:
        bounds.append(f"<= {high:g}")
    wanted = " ".join([kind, " and ".join(bounds)]).strip()

    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        too_low = low is not None and (value <= low if above else value < low)
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    return parse
