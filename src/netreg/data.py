"""Validation of user arrays before they reach the engine, through scikit-learn's checks.

:func:`sklearn.utils.check_array` reads the data (lists, NumPy arrays, DataFrames, tensors
on the CPU) as a float64 array and :func:`sklearn.utils.check_consistent_length` compares
row counts. netreg adds what it needs on top: a :class:`netreg.DataError` that names what
was received and what was expected, the exact number of dimensions (a 1-D input where
2-D is expected is refused, not reshaped: a single feature and a single sample look the
same, and guessing wrong trains a different model), and where non-finite values are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_array, check_consistent_length

from netreg.exceptions import DataError

__all__ = ["check_float_array", "check_same_rows"]

_EXPECTED = {1: "a 1-D array of shape (n_samples,)", 2: "a 2-D array of shape (n_samples, n_features)"}


def check_float_array(value: Any, *, name: str, ndim: int = 2) -> np.ndarray:
    """Return ``value`` as a finite, writable float64 NumPy array of ``ndim`` dimensions.

    Parameters
    ----------
    value : array-like
        The data.
    name : str
        How to call it in messages (``"X"``, ``"y"``, ``"sample_weight"``).
    ndim : {1, 2}, default=2
        Required number of dimensions.

    Raises
    ------
    DataError
        If :func:`sklearn.utils.check_array` cannot read it as a non-empty array of
        numbers (its reason is quoted), or it has another number of dimensions, or it
        holds NaN or infinite values.

    Examples
    --------
    >>> check_float_array([[1, 2], [3, 4]], name="X")
    array([[1., 2.],
           [3., 4.]])
    >>> check_float_array([1.0, 2.0], name="X")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X must be a 2-D array of shape (n_samples, n_features). Got a 1-D array of shape (2,). Use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample.
    >>> check_float_array([["a", 1.0]], name="X")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X could not be read as a 2-D array of shape (n_samples, n_features) of numbers: could not convert string to float: 'a'.
    """
    expected = _EXPECTED.get(ndim, f"a {ndim}-D array")
    try:
        array = check_array(
            value, dtype=np.float64, ensure_2d=False, allow_nd=True, ensure_all_finite=False, input_name=name
        )
    except (TypeError, ValueError) as error:
        reason = str(error).rstrip(".")
        raise DataError(f"{name} could not be read as {expected} of numbers: {reason}.") from None
    if array.ndim != ndim:
        fix = ""
        if ndim == 2 and array.ndim == 1:
            fix = f" Use {name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) for a single sample."
        raise DataError(f"{name} must be {expected}. Got a {array.ndim}-D array of shape {array.shape}.{fix}")
    # The sum is finite when every entry is (one pass, no temporary array); only when it is
    # not (a NaN, an inf, or an overflow of large values) is each entry checked.
    bad = np.zeros(0, dtype=bool) if np.isfinite(array.sum()) else ~np.isfinite(array)
    if bad.any():
        where = np.argwhere(bad)[0]
        location = f"row {where[0]}" + (f", column {where[1]}" if array.ndim > 1 else "")
        raise DataError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) (first at {location}); "
            "expected finite numbers. Remove or impute them before training."
        )
    if not array.flags.writeable:
        array = array.copy()  # a read-only array (a memmap) cannot back a torch tensor safely
    return array


def check_same_rows(**arrays: Any) -> int:
    """Check that the arrays (``None`` skipped) have the same number of rows; return it.

    Examples
    --------
    >>> import numpy as np
    >>> check_same_rows(X=np.zeros((3, 2)), y=np.zeros(3))
    3
    >>> check_same_rows(X=np.zeros((3, 2)), y=np.zeros(4))
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X and y must have the same number of rows. Found input variables with inconsistent numbers of samples: [3, 4].
    """
    given = {name: array for name, array in arrays.items() if array is not None}
    try:
        check_consistent_length(*given.values())
    except ValueError as error:
        raise DataError(f"{' and '.join(given)} must have the same number of rows. {error}.") from None
    return len(next(iter(given.values())))
