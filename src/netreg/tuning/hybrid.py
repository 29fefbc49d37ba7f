"""``search="hybrid"``: one ``alpha="auto"`` fit proposes alpha ``x``, the folds confirm it.

The folds sweep the short grid :func:`hybrid_grid` around ``x``, every member to the end, and
the chosen alpha is refit on all the rows, as ``GridSearchCV`` would; why not halved, and how
it compares with the evidence alone: ``benchmarks/README.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import clone

from netreg.estimators.auto_alpha import auto_gap
from netreg.exceptions import invalid

__all__ = ["N_ALPHAS", "SPAN", "hybrid_grid", "check_hybrid", "learn_center"]

#: The short grid's size.
N_ALPHAS = 5
#: The grid runs from the learned alpha divided by ``SPAN`` to it multiplied by ``SPAN``.
SPAN = 10.0


def hybrid_grid(center: float) -> np.ndarray:
    """The short grid centred (in log space) on ``center``: :data:`N_ALPHAS` alphas from
    ``center / SPAN`` to ``center * SPAN``, ascending, ``center`` in the middle.

    Examples
    --------
    >>> hybrid_grid(2.0).round(4).tolist()
    [0.2, 0.6325, 2.0, 6.3246, 20.0]
    """
    return float(center) * np.logspace(-math.log10(SPAN), math.log10(SPAN), N_ALPHAS)


def check_hybrid(search: Any, estimator: Any, default_alphas: Any) -> None:
    """Refuse, before any work, what ``search="hybrid"`` cannot take from the CV estimator
    ``search`` and the plain ``estimator`` it refits.

    Raises
    ------
    InvalidParameterError
        For a grid of ``alphas`` (the hybrid lays its own), ``selection="evidence"``, or an
        ``estimator`` whose alpha the evidence cannot learn (:func:`auto_gap`).
    """
    if not (isinstance(search.alphas, type(default_alphas)) and search.alphas == default_alphas):
        raise invalid(
            "alphas",
            f"its default {default_alphas!r} with search='hybrid', which lays its own grid of {N_ALPHAS} alphas "
            f"from x/{SPAN:g} to x*{SPAN:g} around the alpha x learned by the evidence",
            search.alphas,
            "Leave alphas out, or use search='grid' or 'halving' for your grid.",
        )
    if search.selection == "evidence":
        raise invalid(
            "selection",
            "'min' or '1se' with search='hybrid': the folds choose among the alphas around the learned one",
            search.selection,
        )
    gap = auto_gap(estimator)
    if gap:
        raise invalid(
            "search",
            f"'grid' or 'halving' with {gap}: 'hybrid' centres its grid on the alpha the Laplace evidence learns",
            "hybrid",
        )


def learn_center(base: Any, X: Any, y: Any, sample_weight: Any = None) -> Any:
    """``base`` (unchanged) cloned with ``alpha="auto"``, ``auto_alpha="scalar"`` and fitted on all
    of ``X``: its ``alpha_`` centres the hybrid's grid.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> learned = learn_center(NetRegClassifier((8,), max_iter=20, random_state=0), X, y)
    >>> learned.alpha_ > 0
    True
    """
    auto = clone(base).set_params(alpha="auto", auto_alpha="scalar", warm_start=False)
    return auto.fit(X, y, sample_weight=sample_weight)
