"""``search="hybrid"``: the evidence proposes alpha, the folds confirm it.

The Laplace evidence learns alpha in one fit (``alpha="auto"``, :mod:`netreg.estimators.auto_alpha`)
but chooses worse than cross-validation on some data sets (``benchmarks/README.md``). The
hybrid spends a few fits more to get cross-validation's word: one ``alpha="auto"`` fit on
all the rows (one alpha for the network, ``auto_alpha="scalar"``) learns ``x``; a short
grid of :data:`N_ALPHAS` alphas log-spaced from ``x / SPAN`` to ``x * SPAN`` is then swept
over the folds, every member to the end, and the chosen alpha is refit on all the rows, as
any CV search does: the choice is ``GridSearchCV``'s over the short grid. The short grid is
not halved: its 5 x 5 members train as one population in the workers side by side, which
measured faster than halving's single population (``benchmarks/README.md``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import clone

from netreg.estimators.auto_alpha import auto_gap
from netreg.exceptions import invalid

__all__ = ["N_ALPHAS", "SPAN", "hybrid_grid", "check_hybrid", "learn_center"]

#: The short grid's size: the learned alpha, two decades' halves below and above it.
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
    """Refuse, before any work, what ``search="hybrid"`` cannot take: the CV estimator
    ``search``'s ``alphas``, ``selection`` and ``scoring``, and a plain ``estimator`` (the one
    it refits) whose alpha the evidence cannot learn (:func:`auto_gap`).

    Raises
    ------
    InvalidParameterError
        For a grid of ``alphas`` (the hybrid lays its own, centred on the learned alpha),
        ``selection="evidence"`` (the hybrid is chosen by the folds), or a network, penalty or
        loss the evidence does not describe.
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
    """The fitted ``alpha="auto"`` estimator (``auto_alpha="scalar"``) whose ``alpha_`` centres
    the hybrid's grid: ``base`` (a :class:`netreg.NetRegClassifier` or
    :class:`netreg.NetRegRegressor`, unchanged) cloned and fitted on all of ``X``.

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
