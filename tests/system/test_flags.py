"""regexp.system.flags: a bad flag of a verb is a one-line UsageError, never argparse's usage
text on stderr and SystemExit."""

import pytest

from regexp.config.errors import UsageError
from regexp.system.flags import ArgumentParser


def _parser(prog="regexp compare"):
    parser = ArgumentParser(prog=prog)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--n", type=int)
    return parser


def test_an_unknown_flag_is_a_usage_error_named_by_the_verb(capsys):
    with pytest.raises(UsageError) as caught:
        _parser().parse_args(["a", "--bogus"])
    assert str(caught.value) == "compare: unrecognized arguments: --bogus"
    assert capsys.readouterr().err == ""  # no usage text printed


def test_a_missing_argument_and_a_wrong_type_are_usage_errors():
    with pytest.raises(UsageError, match="^compare: the following arguments are required: paths$"):
        _parser().parse_args([])
    with pytest.raises(UsageError, match=r"^compare: argument --n: invalid int value: 'x'$"):
        _parser().parse_args(["a", "--n", "x"])


def test_a_prog_without_the_regexp_prefix_is_kept_whole():
    with pytest.raises(UsageError, match="^landscape: unrecognized arguments: --bogus$"):
        _parser("landscape").parse_args(["a", "--bogus"])


def test_good_flags_parse_as_argparse_would():
    ns = _parser().parse_args(["a", "b", "--n", "3"])
    assert ns.paths == ["a", "b"] and ns.n == 3
