"""regexp.config.errors: what the CLI turns into one line and exit code 2."""

import pytest

from regexp.cli import main
from regexp.config.errors import ConfigError, UsageError


def test_a_config_error_names_its_key_first_and_is_a_usage_error():
    err = ConfigError("penalty.lam", "must be a number >= 0, got -1")
    assert isinstance(err, UsageError)  # the CLI catches both with one except
    assert err.key == "penalty.lam"
    assert str(err) == "penalty.lam: must be a number >= 0, got -1"


def test_a_usage_error_is_its_message():
    assert str(UsageError("no such file or folder: x")) == "no such file or folder: x"
    with pytest.raises(UsageError, match="^bad$"):
        raise UsageError("bad")


def test_the_cli_prints_a_config_error_as_one_line_and_exits_2(tmp_path, monkeypatch, capsys):
    """The error's text, after 'regexp: error: ', is the whole of stderr; no folder is made."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", "penalty=l2", "penalty.lam=-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("regexp: error: penalty.lam: ")
    assert not any(tmp_path.iterdir())
