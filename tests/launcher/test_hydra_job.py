"""hydra_plugins.regexp_launcher.hydra_job: its hydra.yaml template fills in what a full dump
gives."""

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from hydra_plugins.regexp_launcher.hydra_job import FIELDS, hydra_yaml_template
from regexp.config.hydra_shim import yaml_text
from regexp.config.overrides import patched


@pytest.fixture(scope="module")
def hydra_tree():
    with initialize_config_module("regexp.conf", version_base="1.3"):
        cfg = compose("config", overrides=["seed=1"], return_hydra_config=True)
    return OmegaConf.to_container(cfg.hydra, enum_to_str=True)


@pytest.mark.parametrize(
    "fields",
    [
        ["0", 0, "seed=1", ["seed=1"], "/tmp/sweep/0"],
        ["17", 17, "hidden_units=[4,4],seed=3", ["seed=3", "hidden_units=[4,4]"], "/a b/17"],
        ["5", 5, "", [], "/tmp/x: y/5"],  # no overrides; a folder name that needs quotes
        ["9", 9, "+note='yes'", ["+note='yes'", "name=true"], "/tmp/s/9"],
        # long values: PyYAML's emitter folds them onto indented continuation lines
        ["3", 3, "name=" + "a long name " * 9, ["name=" + "a long name " * 9], "/t/" + "d " * 60],
    ],
)
def test_the_template_fills_in_what_a_whole_dump_writes(hydra_tree, fields):
    render = hydra_yaml_template(hydra_tree)
    assert render is not None
    values = dict(zip(FIELDS, fields))
    want = yaml_text({"hydra": patched(hydra_tree, values)})
    assert render(values) in (want, None)  # None: the writer dumps the whole tree
    assert (render(values) is None) == (fields[0] == "3")  # only the long values fold
