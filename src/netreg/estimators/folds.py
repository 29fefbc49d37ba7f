"""The folds' models as one model (``refit="folds"`` of the CV estimators): they predict together, averaged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if

__all__ = ["FoldsAverage"]


class FoldsAverage:
    """Fitted models of the same kind that predict as their average.

    Parameters
    ----------
    estimators : sequence of fitted NetRegClassifier or NetRegRegressor
        The members, all of one class, one task and the same classes.

    Attributes
    ----------
    estimators_ : list
        The members.
    classes_ : ndarray
        The classes (classifiers).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When the members have it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> members = [NetRegClassifier((4,), solver="lbfgs", random_state=s).fit(X, y) for s in (0, 1)]
    >>> model = FoldsAverage(members)
    >>> bool(np.allclose(model.predict_proba(X), (members[0].predict_proba(X) + members[1].predict_proba(X)) / 2))
    True
    """

    def __init__(self, estimators: Sequence[Any]) -> None:
        self.estimators_ = list(estimators)
        first = self.estimators_[0]
        for name in ("classes_", "n_features_in_", "feature_names_in_"):
            if hasattr(first, name):
                setattr(self, name, getattr(first, name))

    @property
    def is_classifier(self) -> bool:
        """Whether the members are classifiers."""
        return hasattr(self.estimators_[0], "classes_")

    def predict(self, X: Any) -> np.ndarray:
        """The class of largest mean probability (the labels above one half, multilabel), or
        the mean prediction in the target's units."""
        if not self.is_classifier:
            return np.mean([member.predict(X) for member in self.estimators_], axis=0)
        proba = self.predict_proba(X)
        if getattr(self.estimators_[0], "_task", None) == "multilabel":
            return (proba > 0.5).astype(int)
        return self.classes_[proba.argmax(1)]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of :meth:`predict` (classifiers), or its R^2 (regressors), as scikit-learn's mixins score."""
        if self.is_classifier:
            return float(accuracy_score(y, self.predict(X)))
        return float(r2_score(y, self.predict(X)))

    @available_if(lambda self: self.is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """The members' class probabilities, averaged."""
        return np.mean([member.predict_proba(X) for member in self.estimators_], axis=0)

    @available_if(lambda self: self.is_classifier)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
