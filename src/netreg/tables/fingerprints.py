"""One fingerprint (SHA-256) for data and settings: what a store, a model or a run was made from."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["fingerprint", "HashedAs"]

#: Bytes of the blocks of rows a :class:`HashedAs` array is converted in.
_BLOCK_BYTES = 2**24


@dataclass(frozen=True)
class HashedAs:
    """A part of :func:`fingerprint` hashed exactly as ``np.asarray(array, dtype=dtype)``, but
    converted a block of rows at a time: a float32 ``X`` gets its float64 fingerprint without a
    float64 copy of it.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    >>> fingerprint(HashedAs(X, np.float64), [1]) == fingerprint(X.astype(np.float64), [1])
    True
    """

    array: np.ndarray
    dtype: Any


def fingerprint(*parts: Any) -> str:
    """SHA-256 hex digest of ``parts``, in order.

    Each part is hashed after a header that says its kind and size, so that no two
    different sequences of parts give the same stream of bytes:

    * a NumPy array (or what else :func:`numpy.asarray` takes): the text of ``(dtype.str,
      shape)``, then its bytes in C order; an array of Python objects (text labels, say) as
      ``array.astype(str)``;
    * a SciPy sparse matrix: the text of ``("csr", dtype.str, shape, nnz)``, then the bytes
      of its CSR ``indptr``, ``indices`` and ``data`` (never made dense);
    * a pandas DataFrame or Series: its column names (or name) and dtypes as JSON, then
      :func:`pandas.util.hash_pandas_object` of its values (the index is left out);
    * a dict, list, tuple, str, number, bool or None: its JSON (keys sorted; NumPy scalars and
      arrays inside it as Python numbers and lists, paths as text); a value JSON cannot write
      is a ``TypeError``.

    Arrays alone are hashed exactly as the sweep's results store has hashed its data
    since version 0.1, so that store fingerprints stay the same.

    Parameters
    ----------
    *parts : array, DataFrame, Series or JSON-able value

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> fingerprint({"alpha": 0.1}, X) == fingerprint({"alpha": 0.1}, X.copy())
    True
    >>> fingerprint({"alpha": 0.1}, X) == fingerprint({"alpha": 0.2}, X)
    False
    >>> fingerprint(X) == fingerprint(X.astype(np.float32))  # the dtype is part of the data
    False
    >>> len(fingerprint())
    64
    """
    digest = hashlib.sha256()
    for part in parts:
        for chunk in _chunks(part):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(part: Any) -> Iterable[bytes | memoryview]:
    if isinstance(part, HashedAs):
        return _converted(part)
    if isinstance(part, pd.DataFrame | pd.Series):
        names = list(part.columns) if isinstance(part, pd.DataFrame) else [part.name]
        dtypes = [str(dtype) for dtype in (part.dtypes if isinstance(part, pd.DataFrame) else [part.dtype])]
        header = _json({"pandas": type(part).__name__, "names": names, "dtypes": dtypes, "rows": len(part)})
        hashes = pd.util.hash_pandas_object(part, index=False).to_numpy()
        return [b"(pandas)", header, hashes.tobytes()]
    if isinstance(part, dict | list | tuple | str | int | float | bool | np.generic) or part is None:
        encoded = _json(part)
        return [str(("json", len(encoded))).encode(), encoded]
    if sp.issparse(part):
        # Its stored parts: the same matrix in the same CSR layout (a sweep's plan makes it
        # canonical) has one fingerprint, and a sparse X is never made dense to be hashed.
        matrix = sp.csr_matrix(part)
        header = str(("csr", matrix.dtype.str, matrix.shape, matrix.nnz)).encode()
        return [header, *(_bytes(np.ascontiguousarray(a)) for a in (matrix.indptr, matrix.indices, matrix.data))]
    array = np.asarray(part)
    if array.dtype == object:
        array = array.astype(str)
    array = np.ascontiguousarray(array)
    return [str((array.dtype.str, array.shape)).encode(), _bytes(array)]


def _converted(part: HashedAs) -> Iterable[bytes | memoryview]:
    dtype = np.dtype(part.dtype)
    yield str((dtype.str, part.array.shape)).encode()
    row = dtype.itemsize * int(np.prod(part.array.shape[1:]))
    step = max(1, _BLOCK_BYTES // max(1, row))
    for start in range(0, len(part.array), step):
        yield _bytes(np.ascontiguousarray(part.array[start : start + step], dtype=dtype))


def _bytes(array: np.ndarray) -> memoryview:
    """A C-contiguous array's bytes in place (``tobytes`` would copy X)."""
    return memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(b"")


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=_plain).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"fingerprint: a {type(value).__name__} cannot be written as JSON; pass plain data or an array.")
