"""An Optuna study's own figures, drawn by optuna.visualization.matplotlib at an Optuna
sweep's ending into its folder: optuna_history.png (each trial's value, the best so far; the
trials the pruner stopped marked × at the last value they reported, an earlier epoch's) and
optuna_importance.png (how much of the value each searched key explains, by Optuna's
default evaluator, PED-ANOVA: deterministic, and needs no scikit-learn). Imported only for
an Optuna search (regexp.read.outcome); the study comes from the caller (regexp.runs.study).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
from optuna.trial import TrialState

from regexp.figures.templates import plain_log_axis, save_figure

HISTORY = "optuna_history.png"
IMPORTANCE = "optuna_importance.png"
# fewer completed trials than this say next to nothing about which key matters
MIN_IMPORTANCE_TRIALS = 5
SIZE = (8.0, 4.5)  # inches
LOG_SPAN = 10.0  # a history whose values span more than this factor gets a log axis
PRUNED = "#ff7f0e"  # the pruned trials' marks: beside Optuna's blue trials and red best line


def _completed(study: Any) -> list[Any]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def _pruned(study: Any) -> list[Any]:
    """Pruned trials with a value (the last they reported)."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    return [t for t in trials if t.value is not None]


def importance_skipped(study: Any) -> str | None:
    """Why optuna_importance.png is not worth drawing; None when it is."""
    done = _completed(study)
    searched = {key for trial in done for key in trial.params}
    if len(searched) < 2:
        return f"{len(searched)} searched key(s); an importance compares two or more"
    if len(done) < MIN_IMPORTANCE_TRIALS:
        return f"{len(done)} completed trial(s); it takes {MIN_IMPORTANCE_TRIALS} or more"
    return None


def import_plots() -> Any:
    """optuna.visualization.matplotlib, with pyplot (which it imports) on the Agg backend: a
    sweep writes files, it never opens a window."""
    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as plots

    return plots


def _draw(plot: Any, path: Path, title: str) -> None:
    """One optuna.visualization.matplotlib plot (a function of no arguments giving its Axes),
    titled and saved as regexp saves a figure. Optuna sets its own style sheet: kept within
    this figure."""
    import_plots()
    with matplotlib.rc_context():
        ax = plot()
        for loc in ("left", "right"):  # Optuna's own title, replaced by ours in the middle
            ax.set_title("", loc=loc)
        ax.set_title(title)
        fig = ax.figure
        try:
            fig.set_size_inches(*SIZE)
            fig.tight_layout()
            save_figure(fig, path, Title=title)
        finally:
            matplotlib.pyplot.close(fig)  # pyplot: imported by import_plots


def _history(study: Any, metric: str) -> Any:
    """The optimization history, the pruned trials marked beside the completed ones; on a log
    axis where the values span decades (a few bad trials would flatten the good ones against
    the axis)."""
    ax = import_plots().plot_optimization_history(study, target_name=metric)
    pruned = _pruned(study)
    if pruned:
        ax.scatter([t.number for t in pruned], [t.value for t in pruned], marker="x", s=24,
                   color=PRUNED, label="pruned (last reported value)", zorder=3)  # fmt: skip
        ax.legend(loc="best", fontsize=8)
    values = [t.value for t in [*_completed(study), *pruned]]
    if min(values) > 0 and max(values) / min(values) > LOG_SPAN:
        plain_log_axis(ax)
    return ax


def draw_study(study: Any, sweep_dir: Path, metric: str) -> tuple[list[Path], list[str]]:
    """(the figures written into sweep_dir, a note for each one not drawn). metric: the
    objective's name, the value axis's label."""
    plots = import_plots()
    done = _completed(study)
    if not done:
        return [], ["no Optuna figures: no trial completed"]
    failed = len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    pruned = len(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
    told = f"{len(done)} completed" + (f", {pruned} pruned" if pruned else "")
    told += f", {failed} failed" if failed else ""
    history, importance = sweep_dir / HISTORY, sweep_dir / IMPORTANCE
    _draw(lambda: _history(study, metric), history,
          f"Optuna study {study.study_name}: {metric} by trial ({told})")  # fmt: skip
    reason = importance_skipped(study)
    if reason is not None:
        return [history], [f"{IMPORTANCE} not drawn: {reason}"]
    title = f"Optuna study {study.study_name}: what explains {metric} ({len(done)} completed)"
    _draw(lambda: plots.plot_param_importances(study, target_name=metric), importance, title)
    return [history, importance], []
