"""Figures of a sweep, drawn once: the notebook displays (:mod:`~netreg.display.displays`, scikit-learn's convention) and the report share the drawings (:mod:`~netreg.display.drawing`) and the alpha axis (:mod:`~netreg.display.axes`)."""

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
