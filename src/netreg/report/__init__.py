"""Reports of a sweep: the evidence for the chosen alpha, as figures in one self-contained HTML page.

The report renders what a :class:`~netreg.tuning.sweep.SweepResult` and its store hold; it trains
and selects nothing. ``report_run`` (:mod:`~netreg.report.run`) reports a run folder,
``write_report`` (:mod:`~netreg.report.page`) a result; the figures are laid out in
:mod:`~netreg.report.figures` and drawn by :mod:`netreg.display.drawing`.
"""

from netreg.display.axes import alpha_positions, set_alpha_axis
from netreg.report.figures import learning_curves, validation_curve, weight_histograms, weight_norm_curve
from netreg.report.page import write_report
from netreg.report.results_table import results_table
from netreg.report.run import report_run
from netreg.report.summary import summarize

__all__ = [
    "report_run",
    "write_report",
    "validation_curve",
    "weight_norm_curve",
    "learning_curves",
    "weight_histograms",
    "summarize",
    "results_table",
    "alpha_positions",
    "set_alpha_axis",
]
