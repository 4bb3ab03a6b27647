"""regexp.config.search_space: the Optuna sweeper's grammar (Hydra's override grammar) into
dimensions, and each trial's values back into overrides Hydra parses to the same values."""

import pytest

from regexp.config.errors import ConfigError
from regexp.config.overrides import parse_override
from regexp.config.search_space import Dimension, dimension, search_space


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("a=interval(0.1, 2)", Dimension("float", 0.1, 2.0)),
        ("a=tag(log, interval(1e-6, 1e-1))", Dimension("float", 1e-6, 0.1, log=True)),
        ("a=int(interval(1, 9))", Dimension("int", 1, 9)),
        ("a=tag(int, interval(1, 9))", Dimension("int", 1, 9)),
        ("a=tag(log, int(interval(1, 64)))", Dimension("int", 1, 64, log=True)),
        ("a=range(1, 10, 2)", Dimension("int", 1, 9, 2)),  # as a basic sweep: 1, 3, ..., 9
        ("a=range(10, 0, -3)", Dimension("int", 1, 10, 3)),  # 10, 7, 4, 1
        ("a=range(0.1, 0.5, 0.1)", Dimension("float", 0.1, 0.4, 0.1)),  # 0.1 ... 0.4
        ("a=shuffle(range(1, 4))", Dimension("choice", choices=(1, 2, 3), texts=("1", "2", "3"))),
        (
            "a=choice(1e-3, 1e-2)",
            Dimension("choice", choices=(1e-3, 1e-2), texts=("0.001", "0.01")),
        ),
        ("a=1,2", Dimension("choice", choices=(1, 2), texts=("1", "2"))),
        (
            "hidden_units=choice([16,16],[32])",
            Dimension("choice", choices=("[16,16]", "[32]"), texts=("[16,16]", "[32]")),
        ),
        ("penalty=l1,l2", Dimension("choice", choices=("l1", "l2"), texts=("l1", "l2"))),
    ],
)
def test_each_sweep_of_the_grammar_is_a_dimension(line, want):
    assert dimension(line) == want


@pytest.mark.parametrize("line", ["a=1", "hidden_units=[16,16]", "penalty=l2", "~a", "+b=3"])
def test_a_plain_override_is_no_dimension(line):
    assert dimension(line) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("lr=interval(2, 1)", "lr: interval(2.0, 1.0) starts above its end"),
        ("lr=tag(lg, interval(1, 2))", "lr: unknown tag 'lg'"),
        ("lr=tag(log, range(1, 5))", "lr: a range has a step"),
        ("lr=range(0, 0)", "lr: range(0, 0) has no values"),
        ("lr=glob(*)", "lr: glob(*) cannot be searched"),
        ("lam=int(interval(0.5, 0.7))", "lam: int(interval(0.5, 0.7)) rounds its bounds 0.5 and"),
        ("n=int(interval(1, 7.5))", "n: int(interval(1, 7.5)) rounds its bounds 1 and 7.5 to"),
        ("n=tag(int, interval(0.5, 2))", "n: tag(int, interval(0.5, 2)) rounds its bounds"),
    ],
)
def test_what_cannot_be_searched_names_its_key(line, message):
    with pytest.raises(ConfigError) as err:
        dimension(line)
    assert str(err.value).startswith(message)


def test_the_last_line_of_a_key_wins_and_the_rest_is_kept_as_typed():
    space = search_space(
        [
            "penalty.lam=tag(log, interval(1e-6, 1e-1))",
            "optimizer.lr=tag(log, interval(1e-3, 1e-1))",
            "penalty=l2",
            "hidden_units=[16,16]",
            "optimizer.lr=0.01",  # typed on the command line: no longer searched
            "seed=choice(1, 2)",
        ]
    )
    assert list(space.dimensions) == ["penalty.lam", "seed"]
    assert space.fixed == ["penalty=l2", "hidden_units=[16,16]", "optimizer.lr=0.01"]


def test_a_trials_values_become_overrides_hydra_reads_back():
    space = search_space(
        [
            "lam=tag(log, interval(1e-6, 1e-1))",
            "units=choice([16,16],[32])",
            "name=choice('a b', c)",
            "n=int(interval(1, 5))",
            "seed=1",
        ]
    )
    params = {"n": 3, "units": "[16,16]", "name": "a b", "lam": 1.2345e-05}
    lines = space.overrides(params)
    assert lines[-1] == "seed=1"  # the dimensions first, in the order they were given
    assert [parse_override(o).key_or_group for o in lines] == ["lam", "units", "name", "n", "seed"]
    values = {parse_override(o).key_or_group: parse_override(o).value() for o in lines}
    assert values == {"lam": 1.2345e-05, "units": [16, 16], "name": "a b", "n": 3, "seed": 1}


@pytest.mark.parametrize(
    ("line", "kind", "low", "high"),
    [
        ("lam=interval(0, 1)", "float", 0.0, 1.0),  # Hydra reads interval bounds as floats
        ("lam=int(interval(1, 3))", "int", 1, 3),  # asked for: integers
        ("n=tag(int, interval(2.0, 8.0))", "int", 2, 8),
        ("n=tag(log, int(interval(1, 64)))", "int", 1, 64),
    ],
)
def test_an_interval_searches_integers_only_when_asked_with_whole_bounds(line, kind, low, high):
    dim = dimension(line)
    assert (dim.kind, dim.low, dim.high) == (kind, low, high)
    assert type(dim.low) is type(low)
