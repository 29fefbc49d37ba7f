"""The data checks: scikit-learn reads the arrays, netreg's messages say what was received and expected."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch

import netreg
from netreg.data import check_float_array, check_same_rows


def test_arrays_frames_lists_and_tensors_become_float64_arrays():
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, pd.NA]}, dtype="Float64").fillna(0.0)
    for value in ([[1, 2], [3, 4]], np.array([[1, 2], [3, 4]], dtype=np.int8), torch.ones(2, 2), frame):
        array = check_float_array(value, name="X")
        assert array.dtype == np.float64 and array.shape == (2, 2)
    assert check_float_array([1, 2, 3], name="y", ndim=1).tolist() == [1.0, 2.0, 3.0]


def test_a_read_only_array_is_copied_so_a_tensor_can_share_it():
    array = np.ones((3, 2))
    array.flags.writeable = False
    checked = check_float_array(array, name="X")
    assert checked.flags.writeable and np.array_equal(checked, array)


@pytest.mark.parametrize(
    "value, ndim, message",
    [
        (
            np.array([[1.0, 2.0], [np.inf, np.nan]]),
            2,
            "X contains 2 NaN or infinite value(s) (first at row 1, column 0); expected finite numbers. "
            "Remove or impute them before training.",
        ),
        (
            np.array([1.0, np.nan]),
            1,
            "X contains 1 NaN or infinite value(s) (first at row 1); expected finite numbers. Remove or impute them before training.",
        ),
        (
            np.zeros((2, 2, 2)),
            2,
            "X must be a 2-D array of shape (n_samples, n_features). Got a 3-D array of shape (2, 2, 2).",
        ),
        (np.zeros((2, 1)), 1, "X must be a 1-D array of shape (n_samples,). Got a 2-D array of shape (2, 1)."),
        (
            np.zeros((3, 0)),
            2,
            "X could not be read as a 2-D array of shape (n_samples, n_features) of numbers: "
            "Found array with 0 feature(s) (shape=(3, 0)) while a minimum of 1 is required.",
        ),
        (
            np.array([[1, None]], dtype=object),
            2,
            # scikit-learn reads None in an object array as NaN: a missing value.
            "X contains 1 NaN or infinite value(s) (first at row 0, column 1); expected finite numbers. "
            "Remove or impute them before training.",
        ),
    ],
)
def test_bad_arrays_raise_the_full_message(value, ndim, message):
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        check_float_array(value, name="X", ndim=ndim)


def test_row_counts_are_compared_and_none_is_skipped():
    assert check_same_rows(X=np.zeros((3, 2)), y=np.zeros(3), sample_weight=None) == 3
    message = "X has 3 rows, y 3 and sample_weight 2; expected the same number of rows in each."
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        check_same_rows(X=np.zeros((3, 2)), y=np.zeros(3), sample_weight=np.zeros(2))
