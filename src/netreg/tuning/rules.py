"""Choosing alpha from scores that are greater-is-better; ties go to the larger alpha.

``"min"``
    The alpha with the best mean validation score.
``"1se"``
    The largest alpha whose mean score is within one standard error of the best
    (``best mean - std / sqrt(n_folds)`` at the best alpha): the simplest model the data
    cannot tell apart from it (Hastie, Tibshirani & Friedman, *Elements of Statistical Learning*, 7.10).
``"evidence"``
    The alpha with the largest log evidence (:mod:`netreg.evidence`; no folds), passed as the scores.
"""

from __future__ import annotations

import math

import numpy as np

from netreg._checks import check_options
from netreg.exceptions import bad_data

__all__ = ["SELECTIONS", "select_alpha"]

SELECTIONS = ("min", "1se", "evidence")


def select_alpha(
    alphas: np.ndarray, mean_scores: np.ndarray, std_scores: np.ndarray, n_folds: int, selection: str
) -> tuple[int, float | None]:
    """Index of the chosen alpha, and the 1-SE threshold (``None`` for ``"min"`` and ``"evidence"``).

    Alphas whose mean score is NaN (a fold missing or diverged) are not eligible.

    Examples
    --------
    >>> import numpy as np
    >>> alphas = np.array([0.01, 0.1, 1.0, 10.0])
    >>> mean, std = np.array([0.90, 0.93, 0.92, 0.80]), np.array([0.02, 0.02, 0.02, 0.02])
    >>> select_alpha(alphas, mean, std, 4, "min")
    (1, None)
    >>> select_alpha(alphas, mean, std, 4, "1se")
    (2, 0.92)
    """
    check_options(selection, "selection", SELECTIONS)
    eligible = np.isfinite(mean_scores)
    if not eligible.any():
        raise bad_data(
            "no alpha has a score on every fold (members missing or diverged)",
            "at least one alpha scored on every fold to choose from",
            "Resume the sweep, or lower the learning rate if members diverged.",
        )
    scores = np.where(eligible, mean_scores, -np.inf)
    best = int(np.flatnonzero(scores == scores.max())[-1])
    if selection in ("min", "evidence"):
        return best, None
    threshold = float(mean_scores[best] - std_scores[best] / math.sqrt(n_folds))
    within = np.flatnonzero(eligible & (scores >= threshold))
    return int(within[np.argmax(alphas[within])]), round(threshold, 12)
