"""How a sweep scores its members: the scoring names and how each reads a member's metrics.

Every member's metrics (:class:`netreg.MemberResult`) hold the data loss and the task's
score (accuracy, or R^2) of its training and validation rows; a scoring turns them into
"greater is better", as scikit-learn's scorers do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from netreg._checks import check_options

__all__ = ["SCORINGS", "check_scoring", "score"]

#: Scoring name -> (the kind of task it applies to, how to read it from a member's metrics
#: for ``part`` "train" or "val", with q the number of outputs).
SCORINGS: dict[str, tuple[str, Callable[[Mapping[str, float], str, int], float]]] = {
    "neg_log_loss": ("classifier", lambda m, part, q: -m.get(f"{part}_loss", math.nan)),
    "accuracy": ("classifier", lambda m, part, q: m.get(f"{part}_score", math.nan)),
    "r2": ("regressor", lambda m, part, q: m.get(f"{part}_score", math.nan)),
    # The regression loss is half the squared error summed over q targets; scikit-learn's
    # MSE averages the squared error over targets.
    "neg_mean_squared_error": ("regressor", lambda m, part, q: -2.0 * m.get(f"{part}_loss", math.nan) / q),
}


def check_scoring(scoring: str, task: str) -> str:
    """Return ``scoring`` if it applies to ``task``, else raise naming the ones that do.

    Examples
    --------
    >>> check_scoring("r2", "regression")
    'r2'
    >>> check_scoring("r2", "multiclass")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `scoring` must be one of 'neg_log_loss', 'accuracy'. Got scoring='r2'.
    """
    kind = "regressor" if task == "regression" else "classifier"
    options = [name for name, (applies, _) in SCORINGS.items() if applies == kind]
    return check_options(scoring, "scoring", options)


def score(scoring: str, metrics: Mapping[str, float], part: str, n_outputs: int) -> float:
    """A member's ``scoring`` on its ``part`` ("train" or "val") rows, greater is better (NaN
    for rows it was not scored on: a sweep without folds has no validation rows).

    Examples
    --------
    >>> score("neg_log_loss", {"val_loss": 0.25, "val_score": 0.9}, "val", 1)
    -0.25
    """
    return SCORINGS[scoring][1](metrics, part, n_outputs)
