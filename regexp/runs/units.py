"""A sweep's units of work, what a launcher dispatches (plan_units): which jobs can stack into
one program (stack_key), which widths of them share a program (regexp.runs.buckets' cost
rule) and how many fit in memory at once (chunk_size); the rest are jobs alone. Known from
the jobs' settings, before torch is imported."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from regexp.config.settings import Settings, input_dim, n_params
from regexp.config.size import estimate
from regexp.runs.buckets import buckets


def stack_key(s: Settings) -> tuple:
    """Jobs with equal keys can be trained as one program: the same task, data sizes, depth,
    activation and schedule. Widths and data.seed may differ (the engine pads widths and
    gives each model its own draw and its own mini-batch order)."""
    return (
        dataclasses.replace(s.data, seed=0),
        len(s.hidden_units),
        s.activation,
        s.device,
        s.optimizer.name,
        s.train.epochs,
        s.train.batch_size,
        s.train.eval_every,
        s.train.threads,
        s.train.compile,
        s.init.strategy == "default",  # searched inits are picked one run at a time
    )


def can_batch(s: Settings) -> bool:
    return s.init.strategy == "default"


def widths_of(s: Settings) -> tuple[int, ...]:
    """[n_in, hidden..., 1], known without building the data."""
    return (input_dim(s.data), *s.hidden_units, 1)


def chunk_size(s: Settings, memory_mb: float, own_data: bool = False) -> int:
    """How many models of s's shape fit the memory budget, as regexp.config.size estimates a
    program's memory (own_data: each model trains on its own data draw)."""
    return estimate(s, own_data=own_data).models_within(memory_mb * 2**20)


@dataclass(frozen=True)
class Unit:
    """Jobs (indices into the settings) trained and written together: as one program by
    regexp.runs.run_unit (a program of one included), or one job alone, through the
    launcher's own path for a job (program False: Hydra's run_job and the task function)."""

    jobs: list[int]
    program: bool


def plan_units(
    settings: Sequence[Settings | None],
    memory_mb: float,
    max_group: int,
    min_group: int,
    max_params: int,
) -> list[Unit]:
    """Units of work: programs of jobs with one stack_key, their widths split where padding
    would cost more than training apart (regexp.runs.buckets), chunked to memory; and jobs
    that run alone (groups under min_group, models over max_params, searched inits, jobs
    whose settings did not load: None)."""
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(settings):
        if s is not None and can_batch(s):
            groups.setdefault(stack_key(s), []).append(i)
        else:
            groups[("alone", i)] = [i]
    units: list[Unit] = []
    for members in groups.values():
        first = settings[members[0]]
        if first is None or len(members) < min_group:
            units.extend(Unit([i], False) for i in members)
            continue
        big = {i for i in members if n_params(widths_of(settings[i])) > max_params}
        units.extend(Unit([i], False) for i in members if i in big)
        rest = [settings[i] if i not in big else None for i in members]
        for jobs, step in _programs(rest, memory_mb, max_group, max_params):
            units.extend(Unit([members[i] for i in jobs[j : j + step]], True)
                         for j in range(0, len(jobs), step))  # fmt: skip
    return units


def _programs(
    group: Sequence[Settings | None], memory_mb: float, max_group: int, max_params: int
) -> list[tuple[list[int], int]]:
    """The programs of a group's jobs (None: no job there): each bucket of widths
    (regexp.runs.buckets) as (its jobs, indices into group; the most models a program of
    it holds)."""
    jobs = [(i, s) for i, s in enumerate(group) if s is not None]
    if not jobs:
        return []
    first = jobs[0][1]
    draws = len({s.data.seed for _, s in jobs}) > 1

    def chunk(widths: Sequence[int]) -> int:
        padded = dataclasses.replace(first, hidden_units=tuple(widths[1:-1]))
        return min(max_group, chunk_size(padded, memory_mb, draws))

    counts: dict[tuple[int, ...], list[int]] = {}
    for i, s in jobs:
        counts.setdefault(widths_of(s), []).append(i)
    plan = buckets(
        {w: len(c) for w, c in counts.items()}, rows_per_epoch(jobs[0][1]), chunk, max_params
    )
    return [(sorted(i for w in b.members for i in counts[w]), chunk(b.widths)) for b in plan]


def rows_per_epoch(s: Settings) -> float:
    """Rows a model's step works through, per epoch: its training rows forward and backward,
    and its validation rows forward every eval_every epochs (a forward costs about a third of
    a step)."""
    return s.data.n_train + s.data.n_val / (3 * s.train.eval_every)
