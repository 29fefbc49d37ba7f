"""The exceptions netreg raises, and the two templates their messages follow.

``except netreg.NetRegError`` catches everything netreg raises on purpose; each subclass also
derives from the built-in (or scikit-learn) exception a user would expect. Messages follow
:func:`invalid` for a parameter and :func:`bad_data` for data, naming Python parameters in
backticks (the command line shows its flags instead); the estimators' own parameter errors
use scikit-learn's wording.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import sklearn
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "invalid",
    "bad_data",
    "NetRegError",
    "InvalidParameterError",
    "DataError",
    "DivergenceError",
    "NotFittedError",
    "StoreError",
    "ModelFormatError",
    "OutputError",
    "MissingDependencyError",
    "ChunkFailedError",
    "NetRegWarning",
    "DataWarning",
    "ClusterError",
    "RAY_MISSING_MSG",
    "warn",
]

#: The folders whose frames a warning skips: netreg's own, and scikit-learn's, which calls
#: netreg's estimators from its wrappers (``set_output``, ``Pipeline``, the searches).
_SKIPPED_DIRS = tuple(os.path.dirname(os.path.abspath(path)) + os.sep for path in (__file__, sklearn.__file__))

#: The error of ``backend="ray"`` when Ray is not installed.
RAY_MISSING_MSG = 'backend="ray" needs Ray, which is not installed. Install it with: pip install "netreg[ray]"'


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


class StoreError(NetRegError):
    """A results store that cannot be opened, written, or belongs to another sweep.

    Examples
    --------
    >>> issubclass(StoreError, NetRegError)
    True
    """


class ModelFormatError(NetRegError):
    """A model folder that is missing, corrupt, incompatible, or would overwrite another model.

    Examples
    --------
    >>> issubclass(ModelFormatError, NetRegError)
    True
    """


class OutputError(NetRegError, OSError):
    """A file netreg was asked to write could not be written: a full disk, a read-only folder, ...

    Raised after the partial file was removed: what was there before is left as it was.
    Also an ``OSError``, which is what the failed write raised.

    Examples
    --------
    >>> issubclass(OutputError, OSError) and issubclass(OutputError, NetRegError)
    True
    """


class MissingDependencyError(NetRegError, ImportError):
    """An optional dependency of the feature asked for is not installed.

    Also an ``ImportError``, which is what the missing import raised.

    Examples
    --------
    >>> str(MissingDependencyError(RAY_MISSING_MSG)) == RAY_MISSING_MSG
    True
    >>> issubclass(MissingDependencyError, ImportError)
    True
    """


class ChunkFailedError(NetRegError, RuntimeError):
    """A chunk of a sweep could not be trained: its task raised, or Ray gave up on it.

    Raised after every member that had come back from the cluster was kept (written to
    the results store, if the sweep has one), so a rerun with the same store trains only
    the others. Tasks still running are cancelled, and their members trained again then.

    Parameters
    ----------
    message : str
    chunk : list of (int, int)
        The chunk's members, as ``(alpha_index, fold)``.
    n_kept : int
        Members of this run kept before the failure.

    Examples
    --------
    >>> error = ChunkFailedError("chunk 1 of 2 failed", chunk=[(0, 0), (1, 0)], n_kept=2)
    >>> error.chunk, error.n_kept
    ([(0, 0), (1, 0)], 2)
    """

    # Defaults only so that pickle, which calls the class with the message alone and then
    # restores the attributes, can rebuild it (say, in another process).
    def __init__(self, message: str, *, chunk: Sequence[tuple[int, int]] = (), n_kept: int = 0) -> None:
        super().__init__(message)
        self.chunk = list(chunk)
        self.n_kept = n_kept


class ClusterError(NetRegError, ConnectionError):
    """The Ray cluster a sweep was asked to use cannot be reached or joined.

    Raised before any member trains, with what was tried and what to check.

    Examples
    --------
    >>> issubclass(ClusterError, ConnectionError) and issubclass(ClusterError, NetRegError)
    True
    """


class NetRegWarning(UserWarning):
    """Base class of the warnings netreg gives on purpose (the command line prints them as notes).

    Examples
    --------
    >>> issubclass(DataWarning, NetRegWarning) and issubclass(NetRegWarning, UserWarning)
    True
    """


class DataWarning(NetRegWarning):
    """Data that is used, with a caveat worth knowing: a text column with many distinct
    values, a column that looks like a row number, categories not seen at fit.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("column 'id' looks like a row number", DataWarning)
    >>> caught[0].category.__name__
    'DataWarning'
    """


def invalid(
    name: str, expected: str, value: Any = None, fix: str = "", *, got: str | None = None
) -> InvalidParameterError:
    """The parameter template: ``"`name` must be <expected>. Got name=<value!r>. <fix>"``.

    ``got`` describes what was received when its ``repr`` would not say it well (a shape,
    a count): ``"... Got <got>."``.

    Examples
    --------
    >>> str(invalid("cv", "an int >= 2", 1, "Use cv=2 or more."))
    '`cv` must be an int >= 2. Got cv=1. Use cv=2 or more.'
    >>> str(invalid("X", "a 2-D array", got="a 3-D array of shape (2, 2, 2)"))
    '`X` must be a 2-D array. Got a 3-D array of shape (2, 2, 2).'
    """
    message = f"`{name}` must be {expected}. Got {f'{name}={value!r}' if got is None else got}."
    return InvalidParameterError(f"{message} {fix}" if fix else message)


def bad_data(received: str, expected: str, fix: str = "") -> DataError:
    """The data template: ``"<what was received>; expected <what was expected>. <fix>"``.

    Examples
    --------
    >>> str(bad_data("y has 3 rows and X 4", "one target per row of X"))
    'y has 3 rows and X 4; expected one target per row of X.'
    """
    message = f"{received}; expected {expected}."
    return DataError(f"{message} {fix}" if fix else message)


def warn(message: str, category: type[Warning]) -> None:
    """Issue a warning attributed to the first caller outside netreg and scikit-learn: the user's line.

    A warning is reached through calls of any depth, so the ``stacklevel`` is found by walking
    up the stack past netreg's and scikit-learn's frames (its wrappers call netreg's methods),
    as Python 3.12's ``skip_file_prefixes`` does. Every warning netreg gives a user goes here.

    Examples
    --------
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("column 'id' looks like a row number", DataWarning)
    >>> caught[0].filename == __file__ or caught[0].filename.startswith("<doctest")
    True
    """
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(_SKIPPED_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
