"""An optimizing sweep's search space, in the grammar of Hydra's Optuna sweeper.

Each line (a `hydra.sweeper.params` entry as KEY=VALUE, or an override typed on the command
line; a later line of the same key wins) is either a dimension to search or an override every
trial keeps:

    interval(a, b)                 floats in [a, b]       int(interval(a, b)): integers
    tag(log, interval(a, b))       on a log scale         (tag int works as int(...) does)
    range(a, b, step)              a, a+step, ... < b     (as a basic sweep runs it)
    choice(x, y, ...), x,y,...     one of the values      shuffle(range(...)): a choice

No optuna here: the CLI checks a search space before any folder is made, and the sweeper maps
each Dimension onto an optuna distribution (regexp.runs.study).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from regexp.config.errors import ConfigError
from regexp.config.overrides import parse_override

TAGS = ("log", "int")  # the tags an interval may carry; any other is most likely a typo


@dataclass(frozen=True)
class Dimension:
    """One searched key: kind float or int (low, high, optional step, log scale) or choice
    (choices as Optuna stores them: numbers, strings and booleans as they are, lists and
    dicts as their override text; texts: each choice as an override value)."""

    kind: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchSpace:
    dimensions: dict[str, Dimension] = field(default_factory=dict)  # override key -> dimension
    fixed: list[str] = field(default_factory=list)  # what every trial keeps, as typed

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """A trial's overrides: its value of every dimension (params by key), in the order the
        dimensions were given, then the fixed overrides."""
        keys = [k for k in self.dimensions if k in params] + [
            k for k in params if k not in self.dimensions
        ]
        return [f"{key}={self.text(key, params[key])}" for key in keys] + self.fixed

    def text(self, key: str, value: Any) -> str:
        """value as an override value of key (a choice as it was typed)."""
        from hydra.core.override_parser.types import Transformer

        dim = self.dimensions.get(key)
        if dim is not None and dim.kind == "choice":
            for choice, text in zip(dim.choices, dim.texts):
                if type(choice) is type(value) and choice == value:
                    return text
        return Transformer.str(value)


def whole_interval(line: str) -> bool:
    """Whether an interval override searches integers: int(interval(a, b)) (Hydra's grammar
    casts its bounds) or tag(int, ...). Raises ConfigError for one whose typed bounds are not
    whole numbers: the cast would round them (int(interval(0.5, 0.7)) searches 0 alone)."""
    o = parse_override(line)
    key, sweep, text = o.get_key_element(), o.value(), o.get_value_string()
    if text.replace(" ", "").startswith("int("):  # the bounds as typed, before the cast
        typed = parse_override(f"{key}={text.strip()[4:-1]}").value()
        bounds = (typed.start, typed.end)
    elif "int" in sweep.tags:
        bounds = (sweep.start, sweep.end)
    else:
        return isinstance(sweep.start, int) and isinstance(sweep.end, int)
    if not all(float(v).is_integer() for v in bounds):
        raise ConfigError(
            key, f"{text} rounds its bounds {bounds[0]:g} and {bounds[1]:g} to integers; give "
            f"whole bounds for integers, or interval({bounds[0]:g}, {bounds[1]:g}) for numbers"
        )  # fmt: skip
    return True


def _interval(key: str, sweep: Any, whole: bool) -> Dimension:
    unknown = sorted(set(sweep.tags) - set(TAGS))
    if unknown:
        raise ConfigError(key, f"unknown tag {unknown[0]!r} (an interval takes {', '.join(TAGS)})")
    low, high = (int(sweep.start), int(sweep.end)) if whole else (sweep.start, sweep.end)
    if low > high:
        raise ConfigError(key, f"interval({sweep.start}, {sweep.end}) starts above its end")
    return Dimension("int" if whole else "float", low, high, log="log" in sweep.tags)


def _choice(values: list[Any]) -> Dimension:
    from hydra.core.override_parser.types import Transformer

    choices = tuple(Transformer.encode(v) for v in values)
    return Dimension("choice", choices=choices, texts=tuple(Transformer.str(v) for v in values))


def _range(key: str, sweep: Any, values: list[Any]) -> Dimension:
    if sweep.shuffle:  # a set of choices to Optuna, in one order on every launch
        return _choice(sorted(values))
    if "log" in sweep.tags:
        raise ConfigError(key, "a range has a step, which a log scale does not take")
    step = abs(sweep.step)
    if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)):
        return Dimension("int", min(values), max(values), step)
    # the highest value, counted in decimals as Optuna checks a step against its bounds
    low = min(values)
    high = float(Decimal(str(low)) + (len(values) - 1) * Decimal(str(step)))
    return Dimension("float", low, high, float(step))


def dimension(line: str) -> Dimension | None:
    """The dimension a sweep override searches; None for a plain override. Raises
    ConfigError naming the key for what an optimizing sweeper cannot search."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    o = parse_override(line)
    if not o.is_sweep_override():
        return None
    key, sweep = o.get_key_element(), o.value()
    if isinstance(sweep, IntervalSweep):
        return _interval(key, sweep, whole_interval(line))
    if isinstance(sweep, ChoiceSweep | RangeSweep):
        values = list(o.sweep_iterator())
        if not values:
            raise ConfigError(key, f"{o.get_value_string()} has no values")
        return _choice(values) if isinstance(sweep, ChoiceSweep) else _range(key, sweep, values)
    raise ConfigError(
        key, f"{o.get_value_string()} cannot be searched: use interval, choice or range"
    )


def search_space(lines: Sequence[str]) -> SearchSpace:
    """The dimensions and fixed overrides of a sweep's lines (see the module's doc)."""
    entries: dict[str, tuple[str, Dimension | None]] = {}
    for line in lines:
        key = parse_override(line).get_key_element()
        entries.pop(key, None)
        entries[key] = (line, dimension(line))
    dimensions = {key: dim for key, (_, dim) in entries.items() if dim is not None}
    return SearchSpace(dimensions, [line for line, dim in entries.values() if dim is None])
