"""Shared fixtures: small real data sets (shipped with scikit-learn) and fixed seeds."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

from netreg.exceptions import DataError


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


@pytest.fixture()
def refused():
    """``with refused(message, error):`` expects ``error`` with exactly ``message`` (the whole
    message, verbatim: a substring match would let a garbled message through)."""

    def expect(message, error=DataError):
        return pytest.raises(error, match=f"^{re.escape(message)}$")

    return expect
