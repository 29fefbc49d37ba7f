"""Cross-validation folds as scikit-learn makes them, and refusals."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.model_selection import KFold, PredefinedSplit, StratifiedKFold

import netreg
from netreg.tuning.splits import cv_splits


def test_int_cv_is_stratified_k_fold_for_classifiers_and_k_fold_for_regressors(digits):
    X, y = digits[0][:200], digits[1][:200]
    ours = cv_splits(4, X, y, classifier=True)
    theirs = list(StratifiedKFold(4).split(X, y))
    assert all(np.array_equal(a[1], np.sort(b[1])) for a, b in zip(ours, theirs))
    ours = cv_splits(3, X, y.astype(float), classifier=False)
    theirs = list(KFold(3).split(X))
    assert all(np.array_equal(a[1], np.sort(b[1])) for a, b in zip(ours, theirs))


def test_iterables_and_splitters_are_accepted():
    X, y = np.zeros((6, 1)), np.array([0, 1] * 3)
    pairs = [(np.array([0, 1, 2, 3]), np.array([4, 5])), (np.array([2, 3, 4, 5]), np.array([0, 1]))]
    assert [t.tolist() for _, t in cv_splits(pairs, X, y, classifier=True)] == [[4, 5], [0, 1]]
    assert len(cv_splits(KFold(3), X, y, classifier=True)) == 3


@pytest.mark.parametrize(
    "cv, y, message",
    [
        (
            5,
            np.array([0] * 10 + [1] * 3),
            "cv=5 stratified folds, but class 1 has 3 row(s); expected a row of every class in every fold. "
            "Use cv <= 3, or collect more rows of that class.",
        ),
        (20, np.array([0, 1] * 5), "cv=20 folds for 10 rows; expected at least one row per fold. Use cv <= 10."),
        (
            3,
            np.array([0] * 8 + [1]),
            "cv=3 stratified folds, but class 1 has 1 row(s); expected a row of every class in every fold. "
            "Collect more rows of that class: cross-validation needs at least 2 of each.",
        ),
    ],
)
def test_too_many_folds_are_refused(cv, y, message):
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        cv_splits(cv, np.zeros((len(y), 1)), y, classifier=True)


def test_cv_below_two_is_refused():
    message = "`cv` must be an int >= 2, a splitter or an iterable of (train, test) pairs. Got cv=1."
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        cv_splits(1, np.zeros((4, 1)), np.array([0, 1, 0, 1]), classifier=True)


def test_one_split_is_accepted_and_none_is_refused(refused):
    X, y = np.zeros((6, 1)), np.array([0, 1] * 3)
    folds = cv_splits(PredefinedSplit([-1, -1, -1, -1, 0, 0]), X, y, classifier=True)
    assert [(train.tolist(), test.tolist()) for train, test in folds] == [([0, 1, 2, 3], [4, 5])]
    with refused("`cv` must be a splitter that yields at least 1 split. Got cv=[].", netreg.InvalidParameterError):
        cv_splits([], X, y, classifier=True)
