"""Which jobs of a sweep train as one program (group_key) and how many of them fit in
memory at once (chunk_size), hence a launcher's units of work (plan_units): known from
their settings alone, before torch is imported."""

from __future__ import annotations

from collections.abc import Sequence

from regexp.config.settings import Settings, input_dim


def group_key(s: Settings) -> tuple:
    """Jobs with equal keys can be trained as one program."""
    return (
        s.data,
        s.hidden_units,
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


def chunk_size(n_params: int, width: int, n_rows: int, memory_mb: float) -> int:
    """How many models fit the memory budget: parameters, grads, two averages, activations."""
    per_model = 4 * (4 * n_params + 3 * width * n_rows)
    return max(1, int(memory_mb * 2**20 // per_model))


def plan_units(
    settings: Sequence[Settings | None],
    memory_mb: float,
    max_group: int,
    min_group: int,
    max_params: int,
) -> list[list[int]]:
    """Units of work as indices into settings: chunks of a group that train as one program
    (sized to memory), and jobs that run alone (one a unit; None: a job that did not load)."""
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(settings):
        if s is not None and can_batch(s):
            groups.setdefault(group_key(s), []).append(i)
        else:
            groups[("alone", i)] = [i]
    units: list[list[int]] = []
    for members in groups.values():
        s = settings[members[0]]
        widths = [input_dim(s.data), *s.hidden_units, 1] if s is not None else [0, 0]
        size = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
        if len(members) < min_group or s is None or size > max_params:
            units.extend([i] for i in members)
            continue
        width = max(s.hidden_units, default=1)
        rows = max(s.data.n_train, s.data.n_val)
        step = min(max_group, chunk_size(size, width, rows, memory_mb))
        units.extend(members[i : i + step] for i in range(0, len(members), step))
    return units
