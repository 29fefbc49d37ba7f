"""Warnings (:class:`netreg.DataWarning`) for a regression target trained in its own units where it should not be.

A target far from unit scale is out of reach of the default learning rate: ``adam`` moves each
weight by about ``learning_rate_init`` a step, and the network stays near a constant (figures:
``docs/architecture.md``, "Measurements and history"). Neither warning fires with a
``transformer`` or with ``loss="poisson"``; each names the fix, ``transformer=StandardScaler()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import r2_score

from netreg.exceptions import DataWarning, warn

__all__ = ["TARGET_RMS", "UNIT_RMS", "target_rms", "warn_below_constant", "warn_target_scale"]

#: Above this root mean square, a target is out of reach of ``adam``'s and ``sgd``'s steps.
TARGET_RMS = 10.0
#: At or below this root mean square, a target is near unit scale: standardizing it changes little.
UNIT_RMS = 2.0
#: The fix both warnings name.
FIX = "Pass `transformer=StandardScaler()` to train on the standardized target and predict in its units."


def target_rms(targets: np.ndarray) -> float:
    """The largest root mean square of a target's columns: how far it lies from 0, mean and spread together.

    Examples
    --------
    >>> target_rms(np.array([[3.0, 0.0], [-3.0, 1.0]]))
    3.0
    """
    values = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    return float(np.sqrt(np.mean(np.square(values), axis=0)).max())


def _too_large(estimator: Any, targets: np.ndarray) -> bool:
    return estimator.solver in ("adam", "sgd") and target_rms(targets) > TARGET_RMS


def _checked(estimator: Any, targets: np.ndarray) -> bool:
    return estimator.transformer is None and estimator.loss == "squared_error" and len(targets) > 1


def warn_target_scale(estimator: Any, targets: np.ndarray) -> None:
    """Warn, before training with ``adam`` or ``sgd``, of a target whose root mean square is above :data:`TARGET_RMS`.

    Examples
    --------
    >>> from netreg import NetRegRegressor
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_target_scale(NetRegRegressor(), np.array([2e5, 3e5]))
    >>> print(caught[0].message)
    NetRegRegressor: the target is far from unit scale (root mean square 2.55e+05), out of reach of solver='adam' at learning_rate_init=0.001: trained as it is, the network stays near a constant prediction. Pass `transformer=StandardScaler()` to train on the standardized target and predict in its units.
    """
    if not _checked(estimator, targets) or not _too_large(estimator, targets):
        return
    warn(
        f"{type(estimator).__name__}: the target is far from unit scale (root mean square {target_rms(targets):.3g}), "
        f"out of reach of solver={estimator.solver!r} at learning_rate_init={estimator.learning_rate_init:g}: "
        f"trained as it is, the network stays near a constant prediction. {FIX}",
        DataWarning,
    )


def warn_below_constant(
    estimator: Any, y: np.ndarray, predictions: np.ndarray, sample_weight: np.ndarray | None
) -> None:
    """Warn if a fitted model's ``predictions`` of its training targets ``y`` score an R^2 below 0, that of their mean.

    Not for a target near unit scale (root mean square up to :data:`UNIT_RMS`), nor for one
    :func:`warn_target_scale` warned of before training.

    Examples
    --------
    >>> from netreg import NetRegRegressor
    >>> X, y = np.linspace(0.0, 1.0, 40).reshape(-1, 1), np.linspace(0.0, 80.0, 40)
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:  # fit calls it
    ...     warnings.simplefilter("always")
    ...     model = NetRegRegressor((), solver="lbfgs", max_iter=1).fit(X, y)
    >>> print(caught[-1].message)  # doctest: +ELLIPSIS
    NetRegRegressor: the fitted model predicts its own training rows worse than their mean does (R^2 = -...): its target is far from unit scale (root mean square 46.5). Pass `transformer=StandardScaler()` to train on the standardized target and predict in its units. Or train longer (`max_iter`), or with another learning rate.
    """
    if not _checked(estimator, y) or _too_large(estimator, y) or target_rms(y) <= UNIT_RMS:
        return
    with np.errstate(all="ignore"):
        score = r2_score(y, predictions, sample_weight=sample_weight)
    if not score < 0:
        return
    warn(
        f"{type(estimator).__name__}: the fitted model predicts its own training rows worse than their mean does "
        f"(R^2 = {score:.3g}): its target is far from unit scale (root mean square {target_rms(y):.3g}). {FIX} Or "
        "train longer (`max_iter`), or with another learning rate.",
        DataWarning,
    )
