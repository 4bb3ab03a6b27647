"""Which jobs of a sweep train as one program (group_key) and how many of them fit in
memory at once (chunk_size): known from their settings alone, before torch is imported."""

from __future__ import annotations

from regexp.core.settings import Settings


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
