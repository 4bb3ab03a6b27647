"""regexp.figures.study: an Optuna study's history and importance figures (a study made here,
no training), and the line that says why the importance is not drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

optuna = pytest.importorskip("optuna")

from optuna.distributions import FloatDistribution  # noqa: E402

from regexp.figures.study import HISTORY, IMPORTANCE, _draw, draw_study  # noqa: E402
from regexp.runs.study import quiet_optuna  # noqa: E402


def _study(n: int, keys: tuple[str, ...] = ("lam", "lr"), fail: int = 0):
    """n trials of (log lam + 3)^2 + lr, plus `fail` failed ones."""
    quiet_optuna()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), study_name="t")
    space = {key: FloatDistribution(1e-6, 1e-1, log=True) for key in keys}
    for _ in range(n):
        trial = study.ask(space)
        study.tell(trial, (math.log10(trial.params[keys[0]]) + 3) ** 2 + trial.params[keys[-1]])
    for _ in range(fail):
        study.tell(study.ask(space), state=optuna.trial.TrialState.FAIL)
    return study


def _picture(path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def test_both_figures_of_a_two_key_search(tmp_path):
    written, notes = draw_study(_study(8, fail=2), tmp_path, "val_mse")
    assert written == [tmp_path / HISTORY, tmp_path / IMPORTANCE] and notes == []
    for path in written:
        image = _picture(path)
        assert image.size == (800, 450)  # 8 x 4.5 inches at 100 dpi
        colours = np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)
        assert len(colours) > 10  # drawn, not blank
    title = _picture(tmp_path / HISTORY).text["Title"]
    assert title == "Optuna study t: val_mse by trial (8 completed, 2 failed)"


@pytest.mark.parametrize(
    ("study", "note"),
    [
        (lambda: _study(8, keys=("lam",)), "1 searched key(s); an importance compares two"),
        (lambda: _study(3), "3 completed trial(s); it takes 5 or more"),
    ],
)
def test_the_importance_says_why_it_is_not_drawn(tmp_path, study, note):
    written, notes = draw_study(study(), tmp_path, "val_mse")
    assert written == [tmp_path / HISTORY]
    assert len(notes) == 1 and notes[0].startswith(f"optuna_importance.png not drawn: {note}")


def test_a_study_without_a_completed_trial_draws_nothing(tmp_path):
    written, notes = draw_study(_study(0, fail=3), tmp_path, "val_mse")
    assert written == [] and notes == ["no Optuna figures: no trial completed"]
    assert not list(tmp_path.iterdir())


def test_optunas_style_stays_within_its_figures(tmp_path):
    import matplotlib

    before = dict(matplotlib.rcParams)
    draw_study(_study(6), tmp_path, "val_mse")
    assert dict(matplotlib.rcParams) == before


def test_a_figure_shows_one_title_ours(tmp_path):
    import matplotlib.pyplot as plt

    def plot():
        _, ax = plt.subplots()
        ax.set_title("Hyperparameter Importances", loc="left")  # as Optuna titles its plots
        return ax

    axes = []
    _draw(lambda: axes.append(plot()) or axes[0], tmp_path / "f.png", "ours")
    titles = [axes[0].get_title(loc=loc) for loc in ("left", "center", "right")]
    assert titles == ["", "ours", ""]
