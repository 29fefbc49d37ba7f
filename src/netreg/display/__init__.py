"""Figures of a sweep, drawn once: the notebook displays and the report share the drawings.

Displays (:mod:`~netreg.display.displays`), in scikit-learn's convention (``from_...``
class methods, ``plot(ax=None, ...)`` returning the display, ``ax_`` and ``figure_``)
    ``ValidationCurveDisplay``: train and validation score against alpha; ``WeightNormDisplay``:
    the norm of each penalized layer against alpha; ``LearningCurveDisplay``: the per-epoch
    curves of one alpha's member; ``AlphaPathDisplay``: a learned alpha over the epochs.
Drawings (:mod:`~netreg.display.drawing`)
    One function per figure, each drawing on a given ``Axes`` and returning what it plotted:
    ``draw_validation_curve``, ``draw_evidence``, ``draw_weight_norms``,
    ``draw_learning_curve``, ``draw_alpha_path``.
Alpha axis (:mod:`~netreg.display.axes`)
    ``alpha_positions``, ``set_alpha_axis``: a log axis that can show alpha = 0.
"""

from netreg.display.axes import alpha_positions, set_alpha_axis
from netreg.display.displays import AlphaPathDisplay, LearningCurveDisplay, ValidationCurveDisplay, WeightNormDisplay
from netreg.display.drawing import (
    draw_alpha_path,
    draw_evidence,
    draw_learning_curve,
    draw_validation_curve,
    draw_weight_norms,
)

__all__ = [
    "ValidationCurveDisplay",
    "WeightNormDisplay",
    "LearningCurveDisplay",
    "AlphaPathDisplay",
    "draw_validation_curve",
    "draw_evidence",
    "draw_weight_norms",
    "draw_learning_curve",
    "draw_alpha_path",
    "alpha_positions",
    "set_alpha_axis",
]
