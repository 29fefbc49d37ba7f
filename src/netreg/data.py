"""Validation of user arrays before they reach the engine.

Each check raises :class:`netreg.DataError` with a message that names what was received
(shape, dtype, where the bad values are) and what was expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netreg.exceptions import DataError

__all__ = ["as_float_array", "check_n_rows"]


def as_float_array(value: Any, *, name: str, ndim: int = 2, dtype: type = np.float64) -> np.ndarray:
    """Return ``value`` as a finite floating-point NumPy array of ``ndim`` dimensions.

    A 1-D input where 2-D is expected is refused (not reshaped): a single feature
    and a single sample look the same, and guessing wrong trains a different model.

    Parameters
    ----------
    value : array-like
        The data.
    name : str
        How to call it in messages (``"X"``, ``"y"``, ``"sample_weight"``).
    ndim : int, default=2
        Required number of dimensions.
    dtype : numpy dtype, default=numpy.float64
        Floating dtype of the result.

    Raises
    ------
    DataError
        If the data is not numeric, has the wrong number of dimensions, is empty, or
        holds NaN or infinite values.

    Examples
    --------
    >>> as_float_array([[1, 2], [3, 4]], name="X")
    array([[1., 2.],
           [3., 4.]])
    >>> as_float_array([1.0, 2.0], name="X")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X must be a 2-D array of shape (n_samples, n_features). Got a 1-D array of shape (2,). Use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise DataError(f"{name} could not be read as an array of numbers ({error}).") from None
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(dtype)
        except (TypeError, ValueError):
            raise DataError(
                f"{name} must hold numbers only. Got dtype {array.dtype} with a non-numeric "
                f"value such as {_first_non_numeric(array)!r}. Encode text or categorical "
                "columns as numbers first."
            ) from None
    array = array.astype(dtype, copy=False)
    if array.ndim != ndim:
        expected = {1: "a 1-D array of shape (n_samples,)", 2: "a 2-D array of shape (n_samples, n_features)"}
        fix = ""
        if ndim == 2 and array.ndim == 1:
            fix = f" Use {name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) for a single sample."
        raise DataError(
            f"{name} must be {expected.get(ndim, f'a {ndim}-D array')}. "
            f"Got a {array.ndim}-D array of shape {array.shape}.{fix}"
        )
    if array.size == 0:
        raise DataError(f"{name} is empty (shape {array.shape}); expected at least one row and one column.")
    bad = ~np.isfinite(array)
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


def check_n_rows(**arrays: Any) -> int:
    """Check that all arrays have the same number of rows and return it.

    Examples
    --------
    >>> import numpy as np
    >>> check_n_rows(X=np.zeros((3, 2)), y=np.zeros(3))
    3
    >>> check_n_rows(X=np.zeros((3, 2)), y=np.zeros(4))
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X and y must have the same number of rows. Got X with 3 rows and y with 4 rows.
    """
    counts = {name: len(array) for name, array in arrays.items() if array is not None}
    if len(set(counts.values())) > 1:
        names = list(counts)
        joined = " and ".join(f"{name} with {counts[name]} rows" for name in names)
        raise DataError(f"{' and '.join(names)} must have the same number of rows. Got {joined}.")
    return next(iter(counts.values()))


def _first_non_numeric(array: np.ndarray) -> Any:
    for item in array.ravel():
        try:
            float(item)
        except (TypeError, ValueError):
            return item
    return array.ravel()[0]
