"""Validation of user arrays before they reach the engine, through scikit-learn's checks.

On top of :func:`sklearn.utils.check_array`, netreg raises a :class:`netreg.DataError` that
names what was received and expected, says where non-finite values are, and requires the
exact number of dimensions: a 1-D input where 2-D is expected is refused, not reshaped (one
feature and one sample look the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_array, check_consistent_length

from netreg.exceptions import DataError, bad_data

__all__ = ["check_float_array", "check_same_rows"]

_EXPECTED = {1: "a 1-D array of shape (n_samples,)", 2: "a 2-D array of shape (n_samples, n_features)"}
_EXPECTED_ND = "an array of shape (n_samples, ...) with 2 or more dimensions"


def check_float_array(
    value: Any,
    *,
    name: str,
    ndim: int = 2,
    allow_nd: bool = False,
    accept_sparse: bool = False,
    keep_float32: bool = False,
) -> np.ndarray | sp.csr_matrix:
    """Return ``value`` as a finite, writable float64 NumPy array of ``ndim`` dimensions.

    Parameters
    ----------
    value : array-like
        The data.
    name : str
        How to call it in messages (``"X"``, ``"y"``, ``"sample_weight"``).
    ndim : {1, 2}, default=2
        Required number of dimensions.
    allow_nd : bool, default=False
        With ``ndim=2``, accept 2 or more dimensions: rows along the first axis, each row
        an array of any shape (an image ``(channels, height, width)``, a sequence).
    accept_sparse : bool, default=False
        With ``ndim=2``, return a SciPy sparse matrix (any format) as a float64 CSR matrix
        (rows are gathered from it cheaply) instead of refusing it; only its stored values
        are checked.
    keep_float32 : bool, default=False
        Return a dense float32 array as it is (not copied into float64, which would double
        its memory); anything else still becomes float64.

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
    >>> check_float_array(np.zeros((5, 1, 8, 8)), name="X", allow_nd=True).shape
    (5, 1, 8, 8)
    >>> check_float_array(np.ones((2, 2), dtype=np.float32), name="X", keep_float32=True).dtype
    dtype('float32')
    >>> check_float_array(sp.csc_matrix(np.eye(3)), name="X", accept_sparse=True).format
    'csr'
    >>> check_float_array([["a", 1.0]], name="X")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X could not be read as a 2-D array of shape (n_samples, n_features) of numbers: could not convert string to float: 'a'.
    """
    nd = allow_nd and ndim == 2
    expected = _EXPECTED_ND if nd else _EXPECTED.get(ndim, f"a {ndim}-D array")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()  # tensors on any device, with or without gradients
    if accept_sparse and ndim == 2 and sp.issparse(value):
        return _check_sparse(value, name)
    try:
        array = check_array(
            value,
            dtype=(np.float64, np.float32) if keep_float32 else np.float64,
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite=False,
            input_name=name,
        )
    except (TypeError, ValueError) as error:
        reason = str(error).rstrip(".")
        raise DataError(f"{name} could not be read as {expected} of numbers: {reason}.") from None
    if array.ndim != ndim and not (nd and array.ndim > ndim):
        fix = ""
        if ndim == 2 and array.ndim == 1:
            fix = f" Use {name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) for a single sample."
        raise DataError(f"{name} must be {expected}. Got a {array.ndim}-D array of shape {array.shape}.{fix}")
    # The sum is finite when every entry is (one pass, no temporary array); only when it is
    # not (a NaN, an inf, or an overflow of large values) is each entry checked.
    bad = np.zeros(0, dtype=bool) if np.isfinite(array.sum()) else ~np.isfinite(array)
    if bad.any():
        where = np.argwhere(bad)[0]
        location = f"row {where[0]}" + (f", column {where[1]}" if array.ndim == 2 else "")
        location += f", position {tuple(int(i) for i in where[1:])}" if array.ndim > 2 else ""
        raise bad_data(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) (first at {location})",
            "finite numbers",
            "Remove or impute them before training.",
        )
    if not array.flags.writeable:
        array = array.copy()  # a read-only array (a memmap) cannot back a torch tensor safely
    return array


def _check_sparse(value: Any, name: str) -> sp.csr_matrix:
    try:
        matrix = check_array(value, accept_sparse="csr", dtype=np.float64, ensure_all_finite=False, input_name=name)
    except (TypeError, ValueError) as error:
        reason = str(error).rstrip(".")
        raise DataError(f"{name} could not be read as a sparse matrix of numbers: {reason}.") from None
    bad = ~np.isfinite(matrix.data)
    if bad.any():
        first = int(np.argmax(bad))
        row = int(np.searchsorted(matrix.indptr, first, side="right") - 1)
        raise bad_data(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) (first at row {row}, column "
            f"{int(matrix.indices[first])})",
            "finite numbers",
            "Remove or impute them before training.",
        )
    return matrix


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
    netreg.exceptions.DataError: X has 3 rows and y 4; expected the same number of rows in each.
    """
    given = {name: array for name, array in arrays.items() if array is not None}
    try:
        check_consistent_length(*given.values())
    except ValueError:
        (first, array), *others = given.items()
        counts = [f"{first} has {_n_rows(array)} rows"] + [f"{name} {_n_rows(other)}" for name, other in others]
        received = ", ".join(counts[:-1]) + " and " + counts[-1]
        raise bad_data(received, "the same number of rows in each") from None
    return _n_rows(next(iter(given.values())))


def _n_rows(array: Any) -> int:
    # A sparse matrix has no len().
    return int(array.shape[0]) if sp.issparse(array) else len(array)
