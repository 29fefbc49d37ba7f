"""Reports of a sweep: the evidence for the chosen alpha, as figures in one HTML page.

The report only renders what a :class:`~netreg.tuning.sweep.SweepResult` and its results
store hold; it trains and selects nothing.

Run folders (:mod:`~netreg.report.run`)
    ``report_run``: the report of ``sweep.sqlite`` + ``run.json`` in a folder.
Page (:mod:`~netreg.report.page`)
    ``write_report``: figures and a self-contained ``report.html`` from a result.
Figures (:mod:`~netreg.report.figures`)
    ``validation_curve``, ``weight_norm_curve``, ``learning_curves``,
    ``weight_histograms``: each returns the Figure and the data it plotted; the first three
    are drawn by the notebook displays' drawings (:mod:`netreg.display.drawing`).
Summary and table (:mod:`~netreg.report.summary`, :mod:`~netreg.report.results_table`)
    ``summarize``: the sentences at the top; ``results_table``: one row per alpha.
Alpha axis (:mod:`~netreg.display.axes`, shared with the displays)
    ``alpha_positions``, ``set_alpha_axis``: a log axis that can show alpha = 0.
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
