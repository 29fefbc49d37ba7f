"""Validation of train_population's inputs: every refusal with its full message."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

import netreg
from expected_messages import not_a_nonnegative_float
from netreg.engine import TrainConfig, train_population
from netreg.nets import MLP

X_SMALL, Y_SMALL = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 3


class _Recurrent(nn.Module):
    """A GRU over a sequence of 2 steps of 3 features, then a linear layer to 3 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(3, 4, batch_first=True)
        self.out = nn.Linear(4, 3)

    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"alphas": [0.1, -1.0]},
            netreg.InvalidParameterError,
            not_a_nonnegative_float("alphas[1]", "-1.0"),
        ),
        (
            {"alphas": [float("nan")]},
            netreg.InvalidParameterError,
            not_a_nonnegative_float("alphas[0]", "nan"),
        ),
        (
            {"alphas": [True]},
            netreg.InvalidParameterError,
            not_a_nonnegative_float("alphas[0]", "True"),
        ),
        (
            {"alphas": []},
            netreg.InvalidParameterError,
            "`alphas` must be a non-empty sequence of floats >= 0. Got alphas=[].",
        ),
        (
            {"y": Y_SMALL[:-1]},
            netreg.DataError,
            "X has 20 rows and y 19; expected the same number of rows in each.",
        ),
        (
            {"X": np.where(np.eye(20, 3) > 0, np.nan, X_SMALL)},
            netreg.DataError,
            "X contains 3 NaN or infinite value(s) (first at row 0, column 0); expected finite numbers. Remove or impute them before training.",
        ),
        (
            {"X": X_SMALL[:, 0]},
            netreg.DataError,
            "X must be a 2-D array of shape (n_samples, n_features). Got a 1-D array of shape (20,). Use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample.",
        ),
        (
            {"X": np.zeros((0, 3))},
            netreg.DataError,
            "X could not be read as a 2-D array of shape (n_samples, n_features) of numbers: Found array with 0 sample(s) (shape=(0, 3)) while a minimum of 1 is required.",
        ),
        (
            {"X": np.array([["a", 1, 2]] * 20, dtype=object)},
            netreg.DataError,
            "X could not be read as a 2-D array of shape (n_samples, n_features) of numbers: could not convert string to float: 'a'.",
        ),
        (
            {"sample_weight": np.ones((20, 1))},
            netreg.DataError,
            "sample_weight must be a 1-D array of shape (n_samples,). Got a 2-D array of shape (20, 1).",
        ),
        (
            {"sample_weight": np.ones(19)},
            netreg.DataError,
            "X has 20 rows and sample_weight 19; expected the same number of rows in each.",
        ),
        (
            {"y": Y_SMALL - 1},
            netreg.DataError,
            "y for the multiclass task must hold class indices 0, 1, ..., n_classes - 1. Got values from -1.0 to 1.0. Encode labels with sklearn's LabelEncoder.",
        ),
        (
            {"y": (np.arange(20) % 5)},
            netreg.DataError,
            "The module's output has shape (2, 3) for 2 rows; the multiclass task expected shape (2, n_outputs) with at least 5 columns (one per class; y has labels up to 4).",
        ),
        (
            {"alphas": [0.1, 0.2], "config": TrainConfig(solver="lbfgs")},
            netreg.InvalidParameterError,
            "`solver` must be 'adam' or 'sgd' for a population of 2 members. Got solver='lbfgs'. L-BFGS trains a "
            "single member: its line search and curvature pairs would couple the members.",
        ),
        (
            {"config": TrainConfig(early_stopping=True)},
            netreg.InvalidParameterError,
            "`eval_rows` must be a mapping with the 'val' rows of every member when early_stopping=True. Got the "
            "sets [].",
        ),
        (
            {"train_rows": [np.array([0, 25])]},
            netreg.DataError,
            "train_rows[0] must be a non-empty 1-D array of row indices in [0, 20). Got shape (2,), dtype int64, range [0, 25].",
        ),
        (
            {"seeds": [1, 2]},
            netreg.InvalidParameterError,
            "`seeds` must be an int or a sequence of 1 ints (one per member). Got seeds=[1, 2].",
        ),
        (
            {"module": nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, momentum=None))},
            netreg.InvalidParameterError,
            "The module's BatchNorm1d layer (1) has momentum=None (a cumulative average of the batch statistics), which the members of a population cannot keep. Expected a float momentum, such as PyTorch's default 0.1.",
        ),
        (
            {"module": _Recurrent(), "X": np.zeros((20, 2, 3))},
            netreg.InvalidParameterError,
            "`module` must be a module that torch.func.vmap can run, without recurrent layers. Got a module with a "
            "GRU layer (rnn).",
        ),
        (
            {"module": nn.Sequential(nn.Linear(3, 3), nn.AlphaDropout(0.2))},
            netreg.InvalidParameterError,
            "The module uses alpha dropout (AlphaDropout), whose masks netreg cannot draw per member; expected nn.Dropout (or Dropout1d/2d/3d). Replace it, or set its p to 0.",
        ),
        (
            {"module": nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(9, 3)), "X": np.zeros((20, 1, 4, 4))},
            netreg.DataError,
            "The module cannot run on X[:2], of shape (2, 1, 4, 4): mat1 and mat2 shapes cannot be multiplied (2x8 and 9x3). Expected X with rows along the first axis, each row of the shape the module takes.",
        ),
        (
            {"sample_weight": -np.ones(20)},
            netreg.DataError,
            "sample_weight must be >= 0 with a positive sum. Got min=-1.0, sum=-20.0.",
        ),
    ],
)
def test_bad_input_raises_the_full_message(kwargs, error, message):
    arguments = {"module": MLP(3, (4,), 3), "X": X_SMALL, "y": Y_SMALL, "task": "multiclass", **kwargs}
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        train_population(**arguments)


def test_float64_inputs_are_read_in_place_on_the_cpu_not_copied():
    # A float32 copy of a float64 X would add half of X's size to a fit's memory.
    from netreg.engine.inputs import validate_inputs

    X = np.ascontiguousarray(X_SMALL)
    inputs = validate_inputs(MLP(3, (4,), 3), X, Y_SMALL, task="multiclass", config=TrainConfig(device="cpu"))
    assert inputs.X.data_ptr() == X.ctypes.data and inputs.dtype == torch.float32
    result = train_population(MLP(3, (4,), 3), X, Y_SMALL, task="multiclass", config=TrainConfig(device="cpu"))
    assert all(t.dtype == torch.float32 for t in result.members[0].state_dict.values())


def test_an_x_too_large_for_its_copy_on_the_device_is_refused_before_it_is_made(budget, refused):
    # On a GPU the engine copies X there in the run's dtype (on a CPU it reads X in place).
    from netreg.engine.inputs import _check_device_copy

    budget(16 / 1024**2)  # 16 KiB; 1000 x 10 float32 values take 39 KiB
    with refused(
        "X of shape (1000, 10) needs about 39 KiB on mps; expected data within the 16 KiB netreg may take there. Use "
        "a sample of the rows, or train on the CPU (`device='cpu'`), which reads X in place."
    ):
        _check_device_copy(np.zeros((1000, 10)), torch.float32, torch.device("mps"))
    _check_device_copy(np.zeros((100, 10)), torch.float32, torch.device("mps"))  # 4 KiB fit


def test_a_float32_x_is_read_in_place_and_trains_as_its_float64_copy_did():
    # Each batch is cast to the run's dtype when read: float32 -> float64 -> float32 is exact,
    # so keeping a float32 X (half the memory of its float64 copy) changes no weight.
    from netreg.engine.inputs import validate_inputs

    rng = np.random.default_rng(0)
    X32 = rng.normal(size=(60, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=60)
    inputs = validate_inputs(MLP(3, (4,), 3), X32, y, task="multiclass")
    assert inputs.X.data_ptr() == X32.ctypes.data and inputs.X.dtype == torch.float32
    for dtype in ("float32", "float64"):
        config = TrainConfig(max_iter=3, batch_size=16, dtype=dtype)
        fits = [
            train_population(MLP(3, (4,), 3), X, y, task="multiclass", alphas=[0.1, 1.0], config=config, seeds=1)
            for X in (X32, X32.astype(np.float64))
        ]
        for ours, copied in zip(fits[0].members, fits[1].members, strict=True):
            assert all(torch.equal(ours.state_dict[k], copied.state_dict[k]) for k in ours.state_dict)


def _rows_of_nothing(n, d, dtype=np.float32):
    """An (n, d) array of zeros that takes 4 bytes whatever its shape: a stride of 0."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype=dtype), shape=(n, d), strides=(0, 0))


def test_rows_over_the_budget_are_refused_before_anything_of_their_size_is_allocated(budget, refused):
    budget(1)  # 1 GiB
    # 40 million rows of one set of rows: 1.2 GiB of index arrays, never made.
    X, y = _rows_of_nothing(40_000_000, 10), _rows_of_nothing(40_000_000, 1)
    with refused(
        "40,000,000 rows need about 1.2 GiB to train (1 set of rows at 32 bytes a row); expected data within the "
        "1.0 GiB netreg may take (half the memory available). Use a sample of the rows."
    ):
        train_population(MLP(10, (), 1), X, y, task="regression")
    # An int X is copied into float64 (80 bytes a row here), counted too.
    X_int = _rows_of_nothing(10_000_000, 10, np.int64)
    with refused(
        "10,000,000 rows need about 1.0 GiB to train (a float64 copy of its 10 values a row and 1 set of rows at 32 "
        "bytes a row); expected data within the 1.0 GiB netreg may take (half the memory available). Use a sample of "
        "the rows, or pass X as a float32 or float64 array, read in place."
    ):
        train_population(MLP(10, (), 1), X_int, y[:10_000_000], task="regression")


def test_members_given_one_array_of_rows_count_it_once(budget, refused):
    budget(1)
    n = 12_000_000  # one set: 358 MiB; three: 1.1 GiB
    X, y = _rows_of_nothing(n, 4), _rows_of_nothing(n, 1)
    fold = np.arange(1)  # checked for its size alone: the check comes before the rows are read
    message = (
        "12,000,000 rows need about 1.1 GiB to train (3 sets of rows at 32 bytes a row); expected data within the "
        "1.0 GiB netreg may take (half the memory available). Use a sample of the rows."
    )
    with refused(message):
        train_population(MLP(4, (), 1), X, y, task="regression", alphas=[1, 2, 3], train_rows=[[0], [0], [0]])
    from netreg.engine.inputs import _check_row_memory

    _check_row_memory(X, [fold] * 3, torch.device("cpu"))  # one set: fits
