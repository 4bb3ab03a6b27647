"""regexp.figures.study: an Optuna study's history and importance figures (a study made here,
no training), and the line that says why the importance is not drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

optuna = pytest.importorskip("optuna")

from optuna.distributions import FloatDistribution  # noqa: E402

from regexp.figures.study import HISTORY, IMPORTANCE, draw_study  # noqa: E402
from regexp.runs.study import quiet_optuna  # noqa: E402


def _study(n: int, keys: tuple[str, ...] = ("lam", "lr"), fail: int = 0, name: str = "t"):
    """n trials of (log lam + 3)^2 + lr, plus `fail` failed ones."""
    quiet_optuna()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), study_name=name)
    space = {key: FloatDistribution(1e-6, 1e-1, log=True) for key in keys}
    for _ in range(n):
        trial = study.ask(space)
        study.tell(trial, (math.log10(trial.params[keys[0]]) + 3) ** 2 + trial.params[keys[-1]])
    for _ in range(fail):
        study.tell(study.ask(space), state=optuna.trial.TrialState.FAIL)
    return study


def _pruned(study, n: int, keys: tuple[str, ...] = ("lam", "lr")):
    """n more trials the pruner stopped, each after reporting 5.0 at step 1."""
    space = {key: FloatDistribution(1e-6, 1e-1, log=True) for key in keys}
    for _ in range(n):
        trial = study.ask(space)
        trial.report(5.0, 1)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return study


def _orange(path) -> int:
    """Pixels near the pruned trials' marks' colour (figures.study.PRUNED, #ff7f0e)."""
    pixels = np.asarray(_picture(path).convert("RGB")).reshape(-1, 3).astype(int)
    return int((np.abs(pixels - [255, 127, 14]).max(axis=1) < 40).sum())


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


def test_the_history_marks_the_pruned_trials_at_their_last_reported_value(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    draw_study(_study(8), tmp_path / "a", "val_mse")
    draw_study(_pruned(_study(8), 3), tmp_path / "b", "val_mse")
    title = _picture(tmp_path / "b" / HISTORY).text["Title"]
    assert title == "Optuna study t: val_mse by trial (8 completed, 3 pruned)"
    assert _orange(tmp_path / "a" / HISTORY) == 0 < 20 < _orange(tmp_path / "b" / HISTORY)


def test_a_study_without_a_completed_trial_draws_nothing(tmp_path):
    written, notes = draw_study(_study(0, fail=3), tmp_path, "val_mse")
    assert written == [] and notes == ["no Optuna figures: no trial completed"]
    assert not list(tmp_path.iterdir())


def test_optunas_style_stays_within_its_figures(tmp_path):
    import matplotlib

    before = dict(matplotlib.rcParams)
    draw_study(_study(6), tmp_path, "val_mse")
    assert dict(matplotlib.rcParams) == before


def _title_and_plot(path) -> tuple[tuple[int, int], tuple[int, int]]:
    """The columns the title's text spans in a PNG of Optuna's ggplot style, and those of the
    plot under it (its grey face)."""
    rgb = np.asarray(_picture(path).convert("RGB")).astype(int)
    grey = (np.abs(rgb - 229) <= 3).all(axis=2)  # ggplot's axes face, #E5E5E5
    # the plot's rows and columns: the widest run, across its white grid lines (a legend
    # right of it is grey too)
    rows, cols = np.flatnonzero(grey.sum(axis=1) > 300), np.flatnonzero(grey.sum(axis=0) > 20)
    cols = max(np.split(cols, np.flatnonzero(np.diff(cols) > 5) + 1), key=len)
    # text above the plot, higher than the top tick's label reaches
    ink = np.flatnonzero((rgb[: rows[0] - 6].max(axis=2) < 100).any(axis=0))
    assert ink.size, f"{path.name}: no title"
    return (ink[0], ink[-1]), (cols[0], cols[-1])


def test_a_figure_shows_one_title_ours(tmp_path):
    """Optuna titles its importance plot on the left, its history in the middle: each PNG
    shows one title, centred over the plot, and it is ours (it names the study)."""
    widths = {}
    for study in ("t", "lam_and_lr"):
        draw_study(_study(8, name=study), tmp_path / study, "val_mse")
        for figure in (HISTORY, IMPORTANCE):
            title, plot = _title_and_plot(tmp_path / study / figure)
            assert abs(sum(title) - sum(plot)) / 2 <= 3, (study, figure, title, plot)
            widths[study, figure] = title[1] - title[0]
    for figure in (HISTORY, IMPORTANCE):
        assert widths["lam_and_lr", figure] > widths["t", figure] + 50
