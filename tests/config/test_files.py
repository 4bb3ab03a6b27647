"""regexp.config.files: which of a user's config files sets a key, broken YAML and binary
files as one line naming the file."""

import yaml

from regexp.config.errors import ConfigError
from regexp.config.files import added_keys, from_a_file, not_utf8, setting_file, yaml_error


def test_the_file_that_sets_a_key_by_its_package(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "experiment" / "a.yaml").write_text("# @package _global_\ntrain:\n  epoch: 5\n")
    (tmp_path / "data" / "mine.yaml").write_text("noise: 0.1\n")  # lands under data.
    (tmp_path / "main.yaml").write_text("seed: 1\n")
    folders = [str(tmp_path)]
    assert setting_file("train.epoch", folders).endswith("experiment/a.yaml")
    assert setting_file("data.noise", folders).endswith("data/mine.yaml")
    assert setting_file("noise", folders) is None
    assert setting_file("seed", folders).endswith("main.yaml")


def test_a_key_set_on_the_command_line_is_not_blamed_on_a_file(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "a.yaml").write_text("# @package _global_\nseed: -1\n")
    err = ConfigError("seed", "must be an integer >= 0")
    blamed = from_a_file(err, ["+experiment=a"], [str(tmp_path)])
    assert str(blamed).endswith("experiment/a.yaml: seed: must be an integer >= 0")
    assert from_a_file(err, ["+experiment=a", "seed=-1"], [str(tmp_path)]) is err


def test_broken_yaml_and_binary_garbage_name_the_file(tmp_path):
    broken = tmp_path / "x.yaml"
    broken.write_text("a: 1\n  b: [\n")
    try:
        yaml.safe_load(broken.read_text())
    except yaml.YAMLError as err:
        error = yaml_error(RuntimeError("wrapped"))
        assert error is None
        line = str(yaml_error(err))
    assert line.startswith("<unicode string>:2: not valid YAML") or ":2: not valid YAML" in line
    with open(broken) as f:
        try:
            yaml.safe_load(f)
        except yaml.YAMLError as err:
            assert str(yaml_error(err)).endswith(":2: not valid YAML: " + err.problem)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    assert "bin.yaml: not UTF-8 text" in str(not_utf8([str(tmp_path)]))


def test_added_keys_are_plus_overrides_of_values_not_groups():
    assert added_keys(["+tag=x", "++a.b=1", "seed=3", "+experiment=mine", "data=csv"]) == [
        "tag",
        "a.b",
    ]
