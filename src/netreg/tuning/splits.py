"""Cross-validation folds, following scikit-learn's ``cv`` conventions."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import check_cv
from sklearn.utils.multiclass import type_of_target

from netreg.exceptions import bad_data, invalid

__all__ = ["cv_splits"]


def cv_splits(
    cv: Any, X: np.ndarray, y: np.ndarray, *, classifier: bool, groups: Any = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds as a list of ``(train_rows, test_rows)`` sorted index arrays.

    ``cv`` is an int (``StratifiedKFold`` for classifiers, ``KFold`` otherwise, unshuffled, as in
    ``GridSearchCV``), a splitter, or an iterable of ``(train, test)`` pairs, which may give a
    single split (a fixed validation set: its scores have no spread).

    Raises
    ------
    DataError
        When an int ``cv`` asks for more folds than the smallest class has rows (each
        stratified fold needs one of each), or than there are rows.
    InvalidParameterError
        For an int ``cv`` below 2, or a splitter that yields no split.

    Examples
    --------
    >>> import numpy as np
    >>> folds = cv_splits(3, np.zeros((6, 1)), np.array([0, 1, 0, 1, 0, 1]), classifier=True)
    >>> [len(test) for _, test in folds]
    [2, 2, 2]
    """
    if isinstance(cv, int | np.integer) and not isinstance(cv, bool):
        if cv < 2:
            raise invalid("cv", "an int >= 2, a splitter or an iterable of (train, test) pairs", cv)
        if cv > len(y):
            raise bad_data(f"cv={cv} folds for {len(y)} rows", f"at least one row per fold. Use cv <= {len(y)}")
        if classifier and type_of_target(y) in ("binary", "multiclass"):
            labels, counts = np.unique(y, return_counts=True)
            smallest = int(np.argmin(counts))
            if counts[smallest] < cv:
                label = labels[smallest]
                label = label.item() if isinstance(label, np.generic) else label
                fix = (
                    f"Use cv <= {counts[smallest]}, or collect more rows of that class."
                    if counts[smallest] >= 2
                    else "Collect more rows of that class: cross-validation needs at least 2 of each."
                )
                raise bad_data(
                    f"cv={cv} stratified folds, but class {label!r} has {counts[smallest]} row(s)",
                    "a row of every class in every fold",
                    fix,
                )
    splitter = check_cv(cv, y, classifier=classifier and type_of_target(y) in ("binary", "multiclass"))
    folds = [(np.sort(np.asarray(train)), np.sort(np.asarray(test))) for train, test in splitter.split(X, y, groups)]
    if not folds:
        raise invalid("cv", "a splitter that yields at least 1 split", cv)
    return folds
