"""One fingerprint: arrays hashed as the sweep store has always hashed them, settings as
sorted JSON, frames by pandas' own row hashes; equal parts give equal digests, any change
a different one."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from netreg.tables import fingerprints
from netreg.tables.fingerprints import HashedAs, fingerprint

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3))
Y = RNG.integers(0, 3, size=20)


def _store_digest(*arrays):
    # The sweep store's fingerprint since netreg 0.1, written out: (dtype, shape), then the bytes.
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize(
    "arrays",
    [(X,), (X, Y), (X, Y, np.ones(20)), (X.astype(np.float32), Y.astype(np.int32)), (X[:, ::2],), ()],
)
def test_arrays_are_hashed_as_the_sweep_store_hashes_them(arrays):
    assert fingerprint(*arrays) == _store_digest(*arrays)


def test_values_dtype_shape_and_order_matter_memory_layout_does_not():
    assert fingerprint(X) == fingerprint(X.copy()) == fingerprint(np.asfortranarray(X))
    changed = X.copy()
    changed[3, 1] += 1e-12
    assert len({fingerprint(X), fingerprint(changed), fingerprint(X.astype(np.float32)), fingerprint(X.T)}) == 4
    assert fingerprint(X.reshape(30, 2)) != fingerprint(X)
    assert fingerprint(X, Y) != fingerprint(Y, X)


def test_settings_are_json_with_sorted_keys():
    settings = {"alpha": 0.1, "hidden": (10, 5), "scoring": None}
    assert fingerprint(settings) == fingerprint({"scoring": None, "hidden": [10, 5], "alpha": 0.1})
    assert fingerprint({"alpha": np.float64(0.1), "n": np.int64(3)}) == fingerprint({"alpha": 0.1, "n": 3})
    assert fingerprint({"alphas": np.array([0.1, 1.0])}) == fingerprint({"alphas": [0.1, 1.0]})
    assert fingerprint(settings) != fingerprint({**settings, "alpha": 0.2})
    # Parts are framed: the same text split differently is another sequence of parts.
    assert fingerprint("ab") != fingerprint("a", "b")
    assert fingerprint({"a": 1}, X) != fingerprint(X, {"a": 1})


def test_text_labels_are_hashed_by_value():
    labels = np.array(["cat", "dog", "cat"], dtype=object)
    assert (
        fingerprint(labels)
        == fingerprint(np.array(["cat", "dog", "cat"], dtype=object))
        == fingerprint(labels.astype(str))
    )
    assert fingerprint(labels) != fingerprint(labels[[1, 0, 2]])


def test_frames_are_hashed_by_names_dtypes_and_values_not_by_index():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    assert fingerprint(frame) == fingerprint(frame.set_axis([10, 11])) == fingerprint(frame.copy())
    others = [
        frame.rename(columns={"b": "c"}),
        frame.assign(b=["x", "z"]),
        frame.astype({"a": np.float32}),
        frame[["b", "a"]],
        frame["a"],
    ]
    assert len({fingerprint(frame), *map(fingerprint, others)}) == len(others) + 1
    assert fingerprint(frame["a"]) == fingerprint(pd.Series([1.0, 2.0], name="a", index=[5, 6]))


def test_values_json_cannot_write_are_refused():
    with pytest.raises(TypeError, match=re.escape("fingerprint: a object cannot be written as JSON; pass plain data")):
        fingerprint({"backend": object()})


@pytest.mark.parametrize("block_bytes", [1, 48, 2**24])
@pytest.mark.parametrize(
    "array", [X.astype(np.float32), X.astype(np.float32)[:0], X.astype(np.float32).reshape(20, 3, 1)]
)
def test_an_array_hashed_as_another_dtype_is_hashed_as_its_converted_copy_in_blocks(array, block_bytes, monkeypatch):
    # Blocks of one row, of two rows (48 bytes of float64 rows of 3), or all rows at once: one digest.
    monkeypatch.setattr(fingerprints, "_BLOCK_BYTES", block_bytes)
    expected = _store_digest(array.astype(np.float64), Y)
    assert fingerprint(HashedAs(array, np.float64), Y) == expected
    assert fingerprint(HashedAs(array, np.float64), Y) != fingerprint(array, Y)
