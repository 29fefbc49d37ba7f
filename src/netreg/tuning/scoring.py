"""How a sweep scores its members: the scoring names and how each reads a member's metrics
(:class:`netreg.MemberResult`'s losses and scores), greater is better as scikit-learn's scorers."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from sklearn.metrics import get_scorer_names

from netreg.exceptions import invalid
from netreg.losses import get_task

__all__ = ["SCORINGS", "check_scoring", "check_scoring_name", "is_native", "scoring_name", "score"]

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


def check_scoring_name(scoring: str) -> str:
    """Return ``scoring`` if it names a scorer (:data:`SCORINGS` or scikit-learn's), else raise suggesting the closest.

    Examples
    --------
    >>> check_scoring_name("roc_auc")
    'roc_auc'
    >>> check_scoring_name("f1macro")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `scoring` must be a scikit-learn scorer name. Got scoring='f1macro'. Did you mean 'f1_macro' or 'f1_micro'?
    """
    names = sorted(set(SCORINGS) | set(get_scorer_names()))
    if scoring in names:
        return scoring
    close = [repr(name) for name in difflib.get_close_matches(str(scoring), names, n=3)]
    if close:
        fix = f"Did you mean {', '.join(close[:-1])} or {close[-1]}?" if len(close) > 1 else f"Did you mean {close[0]}?"
    else:
        fix = "The names are listed by sklearn.metrics.get_scorer_names()."
    raise invalid("scoring", "a scikit-learn scorer name", scoring, fix)


def check_scoring(scoring: Any, task: str) -> Any:
    """Return ``scoring`` if it applies to ``task``, else raise naming what would.

    ``scoring`` is a name (:func:`check_scoring_name`) or a callable ``scorer(estimator, X, y)``
    (greater is better), as ``GridSearchCV`` takes it.

    Examples
    --------
    >>> check_scoring("r2", "regression"), check_scoring("f1_macro", "multiclass")
    ('r2', 'f1_macro')
    >>> check_scoring("r2", "multiclass")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `scoring` must be 'neg_log_loss', 'accuracy', another scikit-learn scorer name or a callable scorer(estimator, X, y) for a classifier. Got scoring='r2'.
    """
    kind = "regressor" if get_task(task).regression else "classifier"
    if isinstance(scoring, str):
        check_scoring_name(scoring)
    if scoring == "neg_mean_squared_error" and task == "poisson":
        # The native value is read from the training loss, the Poisson deviance here.
        raise invalid(
            "scoring",
            "'r2' or another scorer with loss='poisson' ('neg_mean_squared_error' is read from the squared-error loss)",
            scoring,
            "Use 'neg_mean_poisson_deviance', or make_scorer(mean_squared_error, greater_is_better=False).",
        )
    # A name reaching here is a scorer's (check_scoring_name): a native one must apply to the task.
    if callable(scoring) or (isinstance(scoring, str) and SCORINGS.get(scoring, (kind,))[0] == kind):
        return scoring
    native = ", ".join(repr(name) for name, (applies, _) in SCORINGS.items() if applies == kind)
    raise invalid(
        "scoring",
        f"{native}, another scikit-learn scorer name or a callable scorer(estimator, X, y) for a {kind}",
        scoring,
    )


def is_native(scoring: Any) -> bool:
    """Whether ``scoring`` is read from the engine's metrics (else a scikit-learn scorer runs).

    Examples
    --------
    >>> is_native("accuracy"), is_native("f1_macro")
    (True, False)
    """
    return isinstance(scoring, str) and scoring in SCORINGS


def scoring_name(scoring: Any) -> str:
    """How ``scoring`` is named in tables and stores (a callable by its qualified name).

    Examples
    --------
    >>> scoring_name("f1_macro"), scoring_name(len)
    ('f1_macro', 'custom:len')
    """
    return scoring if isinstance(scoring, str) else f"custom:{getattr(scoring, '__qualname__', type(scoring).__name__)}"


def score(scoring: Any, metrics: Mapping[str, float], part: str, n_outputs: int) -> float:
    """A member's ``scoring`` on its ``part`` ("train" or "val") rows, greater is better (NaN for rows
    it was not scored on); a scikit-learn scorer's is the stored ``<part>_scorer``.

    Examples
    --------
    >>> score("neg_log_loss", {"val_loss": 0.25, "val_score": 0.9}, "val", 1)
    -0.25
    >>> score("f1_macro", {"val_scorer": 0.8}, "val", 1)
    0.8
    """
    if is_native(scoring):
        return SCORINGS[scoring][1](metrics, part, n_outputs)
    return metrics.get(f"{part}_scorer", math.nan)
