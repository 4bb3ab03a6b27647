"""regexp.runs.buckets: the cost rule that decides which widths share a padded program."""

import itertools
import random

import pytest

from regexp.runs.buckets import STEP_OVERHEAD, Bucket, buckets, model_work, program_cost

ROWS = 50 + 1000 / 30  # the default data and eval_every


def chunk_of(limit: int = 256):
    return lambda widths: limit


def cost(plan: list[Bucket], chunk) -> float:
    return sum(program_cost(b.widths, b.models, ROWS, chunk(b.widths)) for b in plan)


def apart(counts: dict, chunk) -> float:
    """Each architecture as a program of its own."""
    return sum(program_cost(w, n, ROWS, chunk(w)) for w, n in counts.items())


def test_a_narrow_model_never_pays_for_a_wide_one():
    plan = buckets({(1, 2, 1): 1, (1, 1024, 1): 1}, ROWS, chunk_of())
    assert [b.members for b in plan] == [((1, 2, 1),), ((1, 1024, 1),)]
    # padding [2] to 1024 costs more arithmetic than a program's fixed cost saves
    assert model_work((1, 1024, 1), ROWS) - model_work((1, 2, 1), ROWS) > STEP_OVERHEAD


def test_narrow_models_share_a_program():
    plan = buckets({(1, 2, 1): 1, (1, 8, 1): 1, (1, 1024, 1): 1}, ROWS, chunk_of())
    assert [b.members for b in plan] == [((1, 2, 1), (1, 8, 1)), ((1, 1024, 1),)]
    assert plan[0].widths == (1, 8, 1) and plan[0].models == 2


def test_padding_takes_the_widest_of_each_layer():
    [bucket] = buckets({(1, 4, 2, 1): 3, (1, 2, 6, 1): 2}, ROWS, chunk_of())
    assert bucket.widths == (1, 4, 6, 1) and bucket.models == 5


@pytest.mark.parametrize("seed", range(20))
def test_a_plan_never_costs_more_than_its_architectures_trained_apart(seed):
    """For random sets of widths, depths and counts, and memory limits that split programs:
    the plan's cost is at most each architecture trained as its own program(s), and no merge
    of two of its buckets would cost less."""
    rng = random.Random(seed)
    depth = rng.choice([1, 2, 3])
    counts = {}
    for _ in range(rng.randint(1, 8)):
        counts[(1, *(rng.choice([1, 2, 4, 8, 16, 64, 256, 1024]) for _ in range(depth)), 1)] = (
            rng.choice([1, 2, 16, 128])
        )
    chunk = chunk_of(rng.choice([8, 64, 256]))
    plan = buckets(counts, ROWS, chunk)
    assert sorted(w for b in plan for w in b.members) == sorted(counts)
    assert sum(b.models for b in plan) == sum(counts.values())
    assert cost(plan, chunk) <= apart(counts, chunk)
    for a, b in itertools.combinations(plan, 2):
        widths = tuple(map(max, a.widths, b.widths))
        merged = program_cost(widths, a.models + b.models, ROWS, chunk(widths))
        assert merged >= program_cost(a.widths, a.models, ROWS, chunk(a.widths)) + program_cost(
            b.widths, b.models, ROWS, chunk(b.widths)
        )


def test_no_padded_model_exceeds_max_params():
    counts = {(1, 8, 2, 1): 1, (1, 2, 8, 1): 1}  # 37 parameters each, 97 padded to (1, 8, 8, 1)
    assert len(buckets(counts, ROWS, chunk_of())) == 1
    assert len(buckets(counts, ROWS, chunk_of(), max_params=50)) == 2
