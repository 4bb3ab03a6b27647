"""The notebook's lessons over a folder's data draws: each lesson's paired effect per draw
(regexp.read.notebook_lessons) made a statement by regexp.read.statistics (a verdict, the
effect with its interval, k of n draws with the Wilson interval, the probability that it holds
on a new draw, and the draws it needed), and the notebook's spreads over the draws."""

from __future__ import annotations

import math
import statistics as stdlib_statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from regexp.read.notebook_folder import Draw, as_metrics, draws_of, per_draw
from regexp.read.notebook_lessons import (
    LESSONS,
    MODELS,
    SWEEPS,
    Lesson,
    Metrics,
    Outcome,
    outcomes,
    spreads,
)
from regexp.read.statistics import (
    UNDECIDED,
    Decision,
    Plan,
    decide_one,
    draws_to_add,
    p_improvement,
    wilson,
)

# whose undecided verdicts add draws (regexp notebook --draws-for, make reproduce DRAWS_FOR=)
PUBLISHED, ALL = "published", "all"


@dataclass(frozen=True)
class LessonOverDraws:
    """One lesson over the draws: its outcome on each draw, the plan's decision, and over the
    draws the decision rests on (the look that decided it, else the last look reached), how
    many held, their Wilson interval and the probability it holds on a new draw."""

    lesson: Lesson
    on: list[tuple[Draw, Outcome]]  # every draw of the folder, in the order they were added
    decision: Decision
    used: int  # draws the statement rests on
    holds: int
    wilson95: tuple[float, float]
    p_improvement: float | None
    notebook: bool | None  # on the notebook's own figures (None: not printed)
    adds_draws: bool = True  # whether its verdict adds draws (Report.draws_for)

    @property
    def verdict(self) -> str:
        return self.decision.verdict

    @property
    def effect(self) -> tuple[float, float, float]:
        """(estimate, low, high) on the natural scale: a ratio, or a difference."""
        e = self.decision.effect
        return tuple(  # type: ignore[return-value]
            math.nan if math.isnan(v) else self.lesson.natural(v)
            for v in (e.estimate, e.low, e.high)
        )

    @property
    def counted(self) -> list[tuple[Draw, Outcome]]:
        """The draws the statement rests on: the first `used` that have the numbers."""
        return [(d, o) for d, o in self.on if o.effect is not None][: self.used]

    @property
    def failing(self) -> list[tuple[Draw, str]]:
        return [(d, o.detail) for d, o in self.counted if o.passed is False]

    @property
    def unknown(self) -> list[tuple[Draw, str]]:
        """Draws without the numbers, among those before the statement's last one (a lesson
        decided at an early look, or one that adds no draws, never asked for the later
        draws)."""
        out, seen = [], 0
        for d, o in self.on:
            if (self.verdict != UNDECIDED or not self.adds_draws) and seen >= self.used:
                break
            if o.passed is None:
                out.append((d, o.detail))
            elif o.effect is not None:
                seen += 1
        return out


def lesson_over_draws(
    lesson: Lesson,
    on: list[tuple[Draw, Outcome]],
    plan: Plan,
    notebook: bool | None,
    adds_draws: bool = True,
) -> LessonOverDraws:
    effects = [o.effect for _, o in on if o.effect is not None]
    decision = decide_one(effects, plan, lesson.cut, lesson.above)
    used = decision.draws or len(effects)  # no look reached yet: describe what there is
    counted = effects[:used]
    held = sum((e > lesson.cut) if lesson.above else (e < lesson.cut) for e in counted)
    return LessonOverDraws(
        lesson, on, decision, used, held, wilson(held, used),
        p_improvement(counted, lesson.cut, lesson.above), notebook, adds_draws,
    )  # fmt: skip


@dataclass(frozen=True)
class SpreadOverDraws:
    key: str
    label: str
    values: list[float]  # one per draw that has both numbers
    notebook: float | None

    def stat(self, fn: Callable[[list[float]], float]) -> float | None:
        return fn(self.values) if self.values else None


@dataclass(frozen=True)
class Report:
    draws: list[Draw]
    per_draw: dict[Draw, Metrics]
    plan: Plan
    lessons: list[LessonOverDraws]
    spreads: list[SpreadOverDraws]
    draws_for: str = PUBLISHED  # whose undecided verdicts add draws: PUBLISHED or ALL

    def values(self, model: str, key: str) -> list[float]:
        """The model's metric on each draw, NaN where that draw has none."""
        return [self.per_draw[d].get(model, {}).get(key, math.nan) for d in self.draws]

    @property
    def next_draws(self) -> int:
        """The draws the folder should hold next (0: every lesson that adds draws decided, or
        draws_max)."""
        driving = [r.decision for r in self.lessons if r.adds_draws]
        return draws_to_add(driving, self.plan, len(self.draws))

    @property
    def undecided(self) -> list[LessonOverDraws]:
        return [r for r in self.lessons if r.verdict == UNDECIDED]

    @property
    def waiting(self) -> list[LessonOverDraws]:
        """The undecided lessons that add draws."""
        return [r for r in self.undecided if r.adds_draws]

    def sweeps_to_run(self) -> list[str]:
        """The sweeps of `make reproduce` whose models a waiting lesson reads: where the next
        look's draws are needed."""
        wanted = {m for r in self.waiting for m in r.lesson.models}
        return [sweep for sweep, models in SWEEPS.items() if wanted & set(models)]

    def draws_needed(self) -> dict[str, int]:
        """How many of the folder's draws (in the order they were added) each model's runs
        must cover: all of them while a waiting lesson reads it, else as many as the looks
        its lessons rest on used (at least the plan's first look)."""
        needed = {}
        for model in MODELS:
            reading = [r for r in self.lessons if model in r.lesson.models]
            if any(r.verdict == UNDECIDED and r.adds_draws for r in reading):
                needed[model] = len(self.draws)
            else:
                used = [r.decision.draws for r in reading]
                needed[model] = min(len(self.draws), max([self.plan.first, *used]))
        return needed


def report_of(
    runs: pd.DataFrame,
    published: pd.DataFrame,
    plan: Plan | None = None,
    draws_for: str = PUBLISHED,
) -> Report:
    """Every lesson and spread over the draws of runs; plan: the looks of `make reproduce
    DRAWS=auto` (None: one look at the draws there are); draws_for: whose undecided verdicts
    add draws (PUBLISHED: the notebook's lessons; ALL: ours too)."""
    draws = draws_of(runs)
    plan = plan or Plan.fixed(len(draws))
    numbers = per_draw(runs, draws)
    found = {d: outcomes(numbers[d]) for d in draws}
    theirs = outcomes(as_metrics(published))
    lessons = [
        lesson_over_draws(
            lesson,
            [(d, found[d][i]) for d in draws],
            plan,
            theirs[i].passed,
            draws_for == ALL or lesson.published,
        )  # fmt: skip
        for i, lesson in enumerate(LESSONS)
    ]
    ours = {d: spreads(numbers[d]) for d in draws}
    spread = [
        SpreadOverDraws(
            pub.key,
            pub.label,
            [ours[d][i].value for d in draws if ours[d][i].value is not None],
            pub.value,
        )  # fmt: skip
        for i, pub in enumerate(spreads(as_metrics(published)))
    ]
    return Report(draws, numbers, plan, lessons, spread, draws_for)


def mean_std(values: Sequence[float]) -> tuple[float, float] | None:
    """Mean and sample std of the finite values (std 0 for one); None for none."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    spread = stdlib_statistics.stdev(finite) if len(finite) > 1 else 0.0
    return stdlib_statistics.fmean(finite), spread
