"""Validation of the data the evidence is computed on."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from netreg.evidence.data_checks import check_data, check_rows
from netreg.evidence.stacked_mlp import stack_members
from netreg.exceptions import DataError
from netreg.nets import MLP


def test_targets_are_encoded_per_task_from_arrays_or_tensors():
    net1, net3 = stack_members(MLP(2, (), 1)), stack_members(MLP(2, (), 3))
    X = torch.zeros(4, 2, dtype=torch.float32)
    binary = check_data(net1, X, [0, 1, 1, 0], task="binary")
    assert binary.y.shape == (4, 1) and binary.y.dtype == torch.float64 and binary.x.dtype == torch.float64
    assert check_data(net1, X, np.ones(4), task="regression").y.shape == (4, 1)
    assert check_data(net3, X, torch.tensor([0, 2, 1, 2]), task="multiclass").y.dtype == torch.int64
    weighted = check_data(net3, X, np.eye(4, 3), task="multilabel", sample_weight=[1, 2, 0, 1])
    assert weighted.m == 4.0


def test_data_errors_say_what_was_received():
    net = stack_members(MLP(2, (), 3))
    X = np.zeros((3, 2))
    with pytest.raises(
        DataError,
        match=re.escape(
            "y is 0.5 at row 1; expected class indices 0, 1, ..., 2 for a multiclass network of 3 outputs."
        ),
    ):
        check_data(net, X, [0, 0.5, 1], task="multiclass")
    with pytest.raises(DataError, match=re.escape("sample_weight is all zeros; expected a positive sum.")):
        check_rows(net, X, np.zeros(3))
    with pytest.raises(
        DataError,
        match=re.escape("X has 3 rows and sample_weight 2; expected the same number of rows in each."),
    ):
        check_rows(net, X, np.ones(2))
    with pytest.raises(
        DataError,
        match=re.escape(
            "X contains 1 NaN or infinite value(s) (first at row 0, column 1); expected finite numbers. Remove or impute them before training."
        ),
    ):
        check_rows(net, [[0.0, np.inf]])
