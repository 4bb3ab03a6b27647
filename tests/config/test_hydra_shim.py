"""regexp.config.hydra_shim pinned to Hydra's public behaviour: whole files, no keys removed."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from regexp.config import hydra_shim
from regexp.config.jobs import expand_sweep
from regexp.config.overrides import parse_override

OVERRIDES = ["hidden_units=[4,4]", "penalty=l2", "penalty.lam=0.01", "seed=3", "+note='yes'"]


@pytest.fixture(scope="module")
def full_cfg():
    """A job's whole config, hydra node included, as Hydra composes it."""
    with initialize_config_module("regexp.conf", version_base="1.3"):
        return compose("config", overrides=OVERRIDES, return_hydra_config=True)


def test_job_files_equal_what_omegaconf_saves(full_cfg, tmp_path: Path):
    task = OmegaConf.masked_copy(full_cfg, [k for k in full_cfg if k != "hydra"])
    hydra_node = OmegaConf.masked_copy(full_cfg, "hydra")
    theirs, ours = tmp_path / "hydra", tmp_path / "ours"
    theirs.mkdir()
    OmegaConf.save(task, theirs / "config.yaml")  # what Hydra's run_job writes: to_yaml
    OmegaConf.save(hydra_node, theirs / "hydra.yaml")
    OmegaConf.save(full_cfg.hydra.overrides.task, theirs / "overrides.yaml")
    hydra_shim.job_files(
        ours,
        hydra_shim.yaml_text(OmegaConf.to_container(task, enum_to_str=True)),
        hydra_shim.yaml_text({"hydra": OmegaConf.to_container(full_cfg.hydra, enum_to_str=True)}),
        list(full_cfg.hydra.overrides.task),
    )
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        assert (ours / name).read_text() == (theirs / name).read_text(), name
    # strings that would read back as other types stay quoted, as OmegaConf writes them
    assert "note: 'yes'" in (ours / "config.yaml").read_text()
    assert "${hydra.runtime.output_dir}" in (ours / "hydra.yaml").read_text()


def test_overrides_dirname_equals_hydras(full_cfg):
    parsed = [parse_override(o) for o in full_cfg.hydra.overrides.task]
    got = hydra_shim.overrides_dirname(parsed, full_cfg.hydra.job.config.override_dirname)
    assert got == full_cfg.hydra.job.override_dirname
    assert got == "+note='yes',hidden_units=[4,4],penalty.lam=0.01,penalty=l2,seed=3"


def test_basic_sweepers_expansion_order():
    assert expand_sweep(["seed=1,2", "penalty=l2,l1", "train.epochs=5"]) == [
        ["seed=1", "penalty=l2", "train.epochs=5"],
        ["seed=1", "penalty=l1", "train.epochs=5"],
        ["seed=2", "penalty=l2", "train.epochs=5"],
        ["seed=2", "penalty=l1", "train.epochs=5"],
    ]


def test_hydra_config_answers_inside_the_block_only(full_cfg):
    before = HydraConfig.instance().cfg
    with hydra_shim.hydra_config(full_cfg):
        assert HydraConfig.get().job.override_dirname == full_cfg.hydra.job.override_dirname
    assert HydraConfig.instance().cfg is before


def test_long_and_odd_strings_dump_as_omegaconf_dumps_them():
    tree = {
        "help": {"header": "word " * 40, "footer": "a-b " * 50 + "\nsecond line"},
        "odd": ["yes", "1.5", "null", "~", "a: b", "#x", "", " lead", "é"],
    }
    assert hydra_shim.yaml_text(tree) == OmegaConf.to_yaml(OmegaConf.create(tree))


def test_short_strings_take_libyaml_and_still_dump_as_omegaconf_dumps_them():
    tree = {
        "odd": ["yes", "1.5", "null", "~", "a: b", "#x", "", " lead", "'q'", '"d"', "x" * 40],
        "numbers": {"lr": 1e-7, "lam": [0.01, 0.0], "epochs": 3, "none": None, "on": True},
        "nested": [{"a": [1, 2]}, []],
    }
    assert hydra_shim._plain(tree)
    assert hydra_shim.yaml_text(tree) == OmegaConf.to_yaml(OmegaConf.create(tree))


def _sources(loader) -> list[tuple[str, str]]:
    return [(s.provider, s.path) for s in loader.get_sources()]


def test_config_search_is_hydras_search_path_plus_the_users_folder(tmp_path):
    """Without --config-dir, the loader's sources are those Hydra's public initialize builds;
    with it, the folder goes in before the schema, as hydra.main's --config-dir does."""
    from hydra.core.global_hydra import GlobalHydra

    with initialize_config_module("regexp.conf", version_base="1.3"):
        hydras = _sources(GlobalHydra.instance().config_loader())
    with hydra_shim.config_search("pkg://regexp.conf", None) as loader:
        assert _sources(loader) == hydras
    with hydra_shim.config_search("pkg://regexp.conf", str(tmp_path)) as loader:
        assert _sources(loader) == [*hydras[:-1], ("command-line", str(tmp_path)), hydras[-1]]
    assert not GlobalHydra.instance().is_initialized()  # left as it was found


def test_flush_loggers_flushes_every_handler():
    import logging

    flushed = []

    class Counting(logging.Handler):
        def emit(self, record):
            pass

        def flush(self):
            flushed.append(True)

    handler = Counting()
    logging.getLogger().addHandler(handler)
    try:
        hydra_shim.flush_loggers()
    finally:
        logging.getLogger().removeHandler(handler)
    assert flushed
