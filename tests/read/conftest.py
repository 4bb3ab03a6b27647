"""A user's outputs/ folder for the read side's tests: two sweeps and a single run, hand-made
(tests/fixtures_runs.py), no training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_runs import make_run, make_sweep, metrics

FAILED = metrics(None, status="failed", error="RuntimeError: boom\nTraceback line")


def hidden_job(units: list[int], val_mse: float | None = 0.03, **kw):
    text = "[" + ",".join(map(str, units)) + "]"
    result = metrics(val_mse) if val_mse is not None else FAILED
    return dict(
        config={"hidden_units": units}, overrides=[f"hidden_units={text}"], result=result, **kw
    )


def seed_job(seed: int, letter: str, val_mse: float):
    name = f"model_2units_{letter}"
    return dict(
        config={"seed": seed, "name": name},
        overrides=[f"seed={seed}", f"name={name}"],
        result=metrics(val_mse, seed=seed, name=name),
    )


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """Two sweeps and a single run, as a user's outputs/ folder would hold them."""
    hidden = make_sweep(
        tmp_path / "multirun" / "hidden",
        [hidden_job([2], 0.05, plot=True), hidden_job([8], 0.04), hidden_job([16, 16], None)],
    )
    seeds = make_sweep(
        tmp_path / "multirun" / "seeds",
        [seed_job(1, "a", 0.02), seed_job(2, "b", 0.03), seed_job(3, "c", 0.04)],
    )
    single = make_run(
        tmp_path / "runs" / "l2",
        config={"hidden_units": [8], "penalty.name": "l2", "penalty.lam": 0.01, "name": "l2"},
        overrides=["hidden_units=[8]", "penalty=l2"],
        plot=True,
    )
    return {"root": tmp_path, "hidden": hidden, "seeds": seeds, "single": single}


DRAW_VALUES = {
    0.01: [0.020, 0.024, 0.022, 0.026, 0.023],
    0.001: [0.025, 0.027, 0.028, 0.031, 0.026],
}  # val_mse of the `draws` sweep, by penalty.lam, over data.seed 1-5


@pytest.fixture
def draws(tmp_path: Path) -> Path:
    """Two penalties over five data draws (val_mse DRAW_VALUES), one run of λ 0.001 failed."""
    jobs = []
    for lam, values in DRAW_VALUES.items():
        for seed, value in enumerate(values, start=1):
            failed = (lam, seed) == (0.001, 5)
            result = metrics(None, status="failed") if failed else metrics(value)
            overrides = [f"penalty.lam={lam}", f"data.seed={seed}"]
            jobs.append(dict(config={"penalty.lam": lam, "data.seed": seed}, overrides=overrides,
                             result=result))  # fmt: skip
    return make_sweep(tmp_path / "draws", jobs)
