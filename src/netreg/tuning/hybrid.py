"""``search="hybrid"``: one ``alpha="auto"`` fit proposes alpha ``x``, the folds confirm it.

The fit learns one alpha per penalized weight matrix (``auto_alpha="layerwise"``, the default
``alpha="auto"``); :func:`center_alpha` reads one alpha ``x`` from them, and the folds sweep
the short grid :func:`hybrid_grid` around ``x``, every member to the end (halving it was
measured to stop the winning alpha: ``benchmarks/README.md``); the chosen alpha is refit on
all the rows, as ``GridSearchCV`` would. How far the
centre lies from the full CV grid's choice, and what each part costs: ``benchmarks/README.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import clone

from netreg.estimators.auto_alpha import auto_gap
from netreg.exceptions import invalid

__all__ = ["N_ALPHAS", "SPAN", "hybrid_grid", "check_hybrid", "learn_center", "center_alpha"]

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
    """``base`` (unchanged) cloned with ``alpha="auto"``, ``auto_alpha="layerwise"`` and fitted
    on all of ``X``: :func:`center_alpha` of it centres the hybrid's grid.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> learned = learn_center(NetRegClassifier((8,), max_iter=20, random_state=0), X, y)
    >>> sorted(learned.alpha_)
    ['layers.0.weight', 'layers.1.weight']
    """
    auto = clone(base).set_params(alpha="auto", auto_alpha="layerwise", warm_start=False)
    return auto.fit(X, y, sample_weight=sample_weight)


def center_alpha(learned: Any) -> float:
    """The one alpha of a fit ``learned`` with ``alpha="auto"``: ``alpha_`` itself if scalar; per
    layer, the alpha whose penalty at the learned weights is the layers' own,
    ``sum_l alpha_l ||W_l||^2 / sum_l ||W_l||^2``.

    Where each layer's re-estimate has closed its gap (``alpha_l ||W_l||^2 = gamma_l``, the
    layer's effective number of parameters), this is the scalar fixed point ``gamma / ||W||^2``
    those counts give at the same weights. It weighs each layer by its weights' share of the
    penalty, where the geometric mean of the alphas weighs a layer of 10 weights as one of
    10,000. On a ReLU network it is not invariant along the layers' ridge
    (:mod:`netreg.evidence.online`: scaling a layer by c and the next by 1/c, their alphas by
    1/c^2 and c^2, changes neither the function nor the evidence, but moves this value), so it
    depends on where the learned alphas stand on it when the fit ends; the geometric mean,
    which that rescaling keeps, was measured farther from the CV grid's choice (0.67 decades
    rms against 0.53, ``benchmarks/README.md``). Weights all zero: the geometric mean.

    Examples
    --------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> module = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False), torch.nn.Linear(2, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = module[0].weight.fill_(1.0), module[1].weight.fill_(2.0)  # ||W||^2: 4 and 8
    >>> center_alpha(SimpleNamespace(alpha_={"0.weight": 10.0, "1.weight": 1.0}, module_=module))  # (40 + 8) / 12
    4.0
    """
    if not isinstance(learned.alpha_, dict):
        return float(learned.alpha_)
    weights = dict(learned.module_.named_parameters())
    alphas = {name: float(alpha) for name, alpha in learned.alpha_.items()}
    norms = {name: float(weights[name].detach().double().square().sum()) for name in alphas}
    total = sum(norms.values())
    if not total > 0:
        return float(np.exp(np.mean(np.log(list(alphas.values())))))
    return sum(alphas[name] * norms[name] for name in alphas) / total
