"""One drawing per figure: the report's figures and the displays draw the same artists, and
where their layout is the same, the same pixels."""

from __future__ import annotations

import numpy as np
import pytest

from netreg import LearningCurveDisplay, ValidationCurveDisplay, WeightNormDisplay
from netreg.report.figures import learning_curves, new_figure, validation_curve, weight_norm_curve
from netreg.report.page import png


def _drawing(ax):
    """Every artist of ``ax`` but its title, as plain data, in drawing order."""
    lines = [
        (line.get_gid(), line.get_label(), line.get_color(), line.get_linestyle(), line.get_marker())
        + (tuple(np.asarray(line.get_xdata(), dtype=float)), tuple(np.asarray(line.get_ydata(), dtype=float)))
        for line in ax.get_lines()
    ]
    bands = [tuple(map(tuple, c.get_paths()[0].vertices)) for c in ax.collections]
    texts = [(t.get_text(), t.get_position()) for t in ax.texts]
    legend = ax.get_legend()
    return {
        "lines": lines,
        "bands": bands,
        "texts": texts,
        "legend": [t.get_text() for t in legend.get_texts()] if legend else None,
        "axes": (ax.get_xscale(), ax.get_xlim(), tuple(ax.get_xticks()), ax.get_xlabel(), ax.get_ylabel()),
    }


@pytest.mark.parametrize("search", ["onese_search", "halving_search"])
def test_the_reports_validation_curve_and_the_display_are_one_drawing(request, search):
    result = request.getfixturevalue(search).sweep_
    report = validation_curve(result)[0]
    for ax, kind in zip(report.axes, ("score", "loss")):
        display = ValidationCurveDisplay.from_result(result, ax=new_figure(6, 4).subplots(), kind=kind, evidence=False)
        assert len(_drawing(ax)["lines"]) >= 4 and _drawing(display.ax_) == _drawing(ax)
        assert display.ax_.get_title() == report.get_suptitle()


def test_the_reports_weight_norms_and_the_display_are_the_same_pixels(onese_search):
    result = onese_search.sweep_
    report = weight_norm_curve(result)[0]
    width, height = report.get_size_inches()
    display = WeightNormDisplay.from_result(result, ax=new_figure(width, height).subplots())
    assert png(display.figure_) == png(report)


def test_the_reports_learning_curves_and_the_display_are_one_drawing(onese_search):
    result = onese_search.sweep_
    report, data = learning_curves(result)
    for ax, panel in zip(report.axes, data["panels"]):
        display = LearningCurveDisplay.from_result(
            result, ax=new_figure(5, 4).subplots(), alpha_index=panel["alpha_index"]
        )
        ours, theirs = _drawing(display.ax_), _drawing(ax)
        ours["axes"], theirs["axes"] = ours["axes"][:-1], theirs["axes"][:-1]  # the report labels its first panel only
        assert ours == theirs and display.ax_.get_title() == ax.get_title()


def test_the_reports_alpha_path_and_the_display_are_one_drawing(auto_fit):
    from netreg import AlphaPathDisplay
    from netreg.report.learned import alpha_path_figure

    report, data = alpha_path_figure(auto_fit)
    # The epoch axis's ticks are matplotlib's automatic choice for the axes' size: the display
    # is drawn on axes of the report panel's size and place, so that only the drawing differs.
    ax = new_figure(*report.get_size_inches()).add_axes(report.axes[0].get_position())
    display = AlphaPathDisplay.from_estimator(auto_fit, ax=ax)
    ours, theirs = _drawing(display.ax_), _drawing(report.axes[0])
    assert len(theirs["lines"]) == len(data["paths"]) >= 1 and ours == theirs
    assert display.ax_.get_title() == report.axes[0].get_title()
    np.testing.assert_array_equal(data["log_evidence"], [r["log_evidence"] for r in auto_fit.alpha_history_])
