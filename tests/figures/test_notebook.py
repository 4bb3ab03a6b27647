"""regexp.figures.notebook: each draw a line through its models, the notebook's figures beside
them, and each section's lessons written beside its panel."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from regexp.figures.notebook import (
    COLOURS,
    LessonNote,
    Panel,
    draw_lines,
    notebook_figure,
    plot_notebook,
)

UNITS = Panel(
    "units", "train_mse", ["model_8units", "model_128units", "model_1024units"],
    [[0.04, 0.05, math.nan], [0.03, 0.035, 0.031], [0.01, 0.012, 0.009]],
    [0.0428, None, 0.0096],
    [LessonNote("holds", "wider models reach lower training MSE", "ratio 0.3 [0.2, 0.4]"),
     LessonNote("undecided", "8 units no worse than 2", "ratio 1.05 [0.9, 1.2]")],
)  # fmt: skip
FAILS = [LessonNote("fails", "b beats a", "difference -0.01")]
ACCURACY = Panel("classification", "val_accuracy", ["a", "b"], [[0.86, 0.87], [0.9, 0.91]],
                 [0.88, 0.9029], FAILS)  # fmt: skip


def test_each_draw_is_a_row_through_the_models():
    lines = draw_lines(UNITS)
    assert lines.shape == (3, 3)  # three draws, three models
    np.testing.assert_array_equal(lines[0], [0.04, 0.03, 0.01])
    assert math.isnan(lines[2, 0])


def test_the_figure_draws_a_line_per_draw_and_writes_the_lessons_in_their_colours():
    fig = notebook_figure([UNITS, ACCURACY], 3, "one look")
    plot, notes, plot2, notes2 = fig.axes
    assert len(plot.get_lines()) == 3 and len(plot2.get_lines()) == 2
    # the draw whose first model is missing has no point there (drawn last: lines reversed)
    assert [int(np.isnan(line.get_ydata()).sum()) for line in plot.get_lines()] == [1, 0, 0]
    assert plot.get_yscale() == "log" and plot2.get_yscale() == "linear"
    texts = [(t.get_text(), t.get_color()) for t in notes.texts]
    assert ("HOLDS", COLOURS["holds"]) in texts and ("UNDECIDED", COLOURS["undecided"]) in texts
    assert ("ratio 1.05 [0.9, 1.2]", COLOURS["undecided"]) in texts
    assert [t.get_text() for t in notes2.texts][:1] == ["FAILS"]
    assert fig.get_suptitle() == "The notebook reproduced on 3 data draws\none look"


def test_a_model_a_draw_lacks_breaks_its_line_there():
    """A draw without the middle model's number: its line keeps the gap (matplotlib draws
    no segment to or from a NaN), so a and c are not joined as if compared."""
    gap = Panel("penalties", "val_mse", ["a", "b", "c"], [[0.04], [math.nan], [0.03]],
                [None, None, None], [])  # fmt: skip
    fig = notebook_figure([gap], 1, "one look")
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(line.get_ydata(), [0.04, math.nan, 0.03])


def test_plot_notebook_writes_the_png(tmp_path):
    path = tmp_path / "notebook.png"
    plot_notebook([UNITS, ACCURACY], 2, path)
    with Image.open(path) as png:
        assert (
            png.size == (1300, 750)
            and png.text["Description"] == "regexp notebook over 2 data draws"
        )
