"""Shared helpers: compose a config from overrides, as the CLI does."""

from __future__ import annotations

import pytest

from regexp.core.config import compose


@pytest.fixture
def cfg_of():
    """compose(overrides) -> DictConfig, with fast training defaults for tests."""

    def make(*overrides: str, epochs: int = 50):
        return compose([f"train.epochs={epochs}", "plots.enabled=false", *overrides])

    return make
