"""scripts/*.py loaded as modules, so that their tests call what `make bench` calls."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench(monkeypatch, tmp_path):
    """scripts/bench.py, its commands' folders under tmp_path/scratch (which main removes)."""
    module = load("bench")
    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(module, "SCRATCH", [tmp_path / "scratch"])
    return module
