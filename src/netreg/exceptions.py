"""The exceptions netreg raises.

One base class, :class:`NetRegError`, so ``except netreg.NetRegError`` catches everything
netreg raises on purpose. Each subclass also derives from the built-in exception a Python
or scikit-learn user would expect (``ValueError`` for bad values, scikit-learn's
``NotFittedError`` for an unfitted estimator), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

from typing import Any

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "NetRegError",
    "InvalidParameterError",
    "DataError",
    "DivergenceError",
    "NotFittedError",
]


class NetRegError(Exception):
    """Base class of every error netreg raises on purpose.

    Examples
    --------
    >>> import netreg
    >>> try:
    ...     netreg.L2(alpha=-1.0)
    ... except netreg.NetRegError as error:
    ...     message = str(error)
    >>> message
    '`alpha` must be a finite float >= 0. Got alpha=-1.0.'
    """


class InvalidParameterError(NetRegError, ValueError, TypeError):
    """A parameter has a value or type outside what the function accepts.

    Subclasses both ``ValueError`` and ``TypeError``, as scikit-learn's
    ``InvalidParameterError`` does, so either ``except`` clause catches it.

    Examples
    --------
    >>> import netreg
    >>> try:
    ...     netreg.ElasticNet(alpha=1.0, l1_ratio=2.0)
    ... except ValueError as error:
    ...     message = str(error)
    >>> message
    '`l1_ratio` must be a float in [0, 1]. Got l1_ratio=2.0.'
    """


class DataError(NetRegError, ValueError):
    """Training or prediction data is malformed: wrong shape, NaN or inf, bad labels.

    Examples
    --------
    >>> import numpy as np
    >>> import netreg
    >>> from netreg.data import check_float_array
    >>> try:
    ...     check_float_array(np.array([[1.0, np.nan]]), name="X")
    ... except netreg.DataError as error:
    ...     message = str(error)
    >>> message
    'X contains 1 NaN or infinite value(s) (first at row 0, column 1); expected finite numbers. Remove or impute them before training.'
    """


class DivergenceError(NetRegError, FloatingPointError):
    """Training produced a non-finite loss or non-finite weights.

    The per-epoch records up to and including the epoch that diverged are kept in
    ``history``, so nothing computed is lost.

    Parameters
    ----------
    message : str
        What diverged and how to fix it.
    history : list of dict, optional
        The per-epoch records, the last one being the epoch that diverged.

    Examples
    --------
    >>> error = DivergenceError("loss became nan at epoch 3", history=[{"epoch": 1}])
    >>> error.history
    [{'epoch': 1}]
    """

    def __init__(self, message: str, history: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.history = list(history or [])


class NotFittedError(NetRegError, _SklearnNotFittedError):
    """An estimator was used before ``fit``.

    Also a ``sklearn.exceptions.NotFittedError``, so scikit-learn code that catches
    that keeps working.

    Examples
    --------
    >>> from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    >>> issubclass(NotFittedError, SklearnNotFittedError)
    True
    """
