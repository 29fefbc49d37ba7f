"""Units switched off: row norms of the incoming weights against the stated thresholds."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from expected_messages import not_a_nonnegative_float
from netreg.evidence import UNITS_OFF_ATOL, UNITS_OFF_RTOL, log_evidence, units_off, units_off_mask
from netreg.exceptions import InvalidParameterError
from netreg.nets import MLP


def _net(first: torch.Tensor, second: torch.Tensor) -> MLP:
    net = MLP(first.shape[1], (first.shape[0], second.shape[0]), 2).double()
    with torch.no_grad():
        net.layers[0].weight.copy_(first)
        net.layers[1].weight.copy_(second)
    return net


def test_thresholds_are_relative_to_the_layers_largest_row_and_absolute():
    # Row norms 10, 0.05, 0.2, 0 in layer 0: threshold max(0.01 * 10, 1e-3) = 0.1, so rows 1 and 3 are off.
    first = torch.tensor([[6.0, 8.0, 0.0], [0.03, 0.04, 0.0], [0.0, 0.0, 0.2], [0.0, 0.0, 0.0]], dtype=torch.float64)
    # Layer 1 driven to zero as a whole: the relative test is blind, the absolute one counts all 3 rows.
    second = torch.full((3, 4), 1e-4, dtype=torch.float64)
    net = _net(first, second)
    assert (UNITS_OFF_RTOL, UNITS_OFF_ATOL) == (1e-2, 1e-3)
    assert units_off_mask(first).tolist() == [False, True, False, True]
    assert units_off(net).tolist() == [[2, 3]]
    assert units_off(net, rtol=0.05).tolist() == [[3, 3]]
    assert units_off(net, atol=0.0).tolist() == [[2, 0]]
    X, y = np.random.default_rng(0).normal(size=(6, 3)), np.arange(6) % 2
    assert log_evidence(net, X, y, task="multiclass", alpha=1.0).units_off == (2, 3)


def test_counts_per_member_of_a_stack_and_none_without_hidden_layers():
    nets = [MLP(3, (5,), 1) for _ in range(3)]
    with torch.no_grad():
        nets[1].layers[0].weight[:2] = 0.0
        nets[2].layers[0].weight[:] = 0.0
    assert units_off(nets).tolist() == [[0], [2], [5]]
    stacked = {name: torch.stack([net.state_dict()[name] for net in nets]) for name in nets[0].state_dict()}
    assert units_off(stacked).tolist() == [[0], [2], [5]]
    assert units_off(MLP(3, (), 2)).shape == (1, 0)


def test_threshold_errors():
    with pytest.raises(InvalidParameterError, match=re.escape(not_a_nonnegative_float("rtol", "-1.0"))):
        units_off(MLP(3, (2,), 1), rtol=-1.0)
