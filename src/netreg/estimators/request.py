"""What an estimator trains, as plain data: the :class:`TrainingRequest` that ``fit`` and a sweep's members (:mod:`netreg.tuning`) are trained from alike."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data
from torch import nn

from netreg.engine import TrainConfig
from netreg.exceptions import DataError, InvalidParameterError, bad_data
from netreg.penalties import Penalty

__all__ = ["TrainingRequest", "draw_seed", "class_row_weights", "with_validation_set"]


def class_row_weights(class_weight: Any, y: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
    """Each row's class weight, as ``NetRegClassifier``'s ``class_weight`` defines it: ``"balanced"``
    weighs class c by ``sum(sample_weight) / (n_classes * sum(sample_weight[y == c]))``; a 2-D
    ``y`` (multilabel) multiplies the weights of its columns.

    Examples
    --------
    >>> y = np.array([0, 0, 0, 1])
    >>> class_row_weights("balanced", y, np.ones(4)).tolist()
    [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]
    >>> class_row_weights("balanced", y, np.array([1.0, 1.0, 1.0, 3.0])).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> class_row_weights({1: 5.0}, y, np.ones(4)).tolist()
    [1.0, 1.0, 1.0, 5.0]
    """
    if class_weight != "balanced":
        return compute_sample_weight(class_weight, y)
    weights = np.ones(len(y))
    for column in np.asarray(y).reshape(len(y), -1).T:
        classes, index = np.unique(column, return_inverse=True)
        totals = np.bincount(index, weights=sample_weight, minlength=len(classes))
        # A class whose rows all weigh 0 needs no weight (and would divide by 0).
        per_class = np.divide(totals.sum(), len(classes) * totals, out=np.zeros(len(classes)), where=totals > 0)
        weights *= per_class[index]
    return weights


def draw_seed(random_state: Any) -> tuple[int, np.random.RandomState]:
    """The engine's seed drawn from ``random_state``, and the generator that goes on to draw
    the early-stopping split (scikit-learn's order: initialization first, then the split).

    Examples
    --------
    >>> seed, rng = draw_seed(0)
    >>> seed == draw_seed(0)[0]
    True
    """
    rng = check_random_state(random_state)
    return int(rng.randint(np.iinfo(np.int32).max)), rng


@dataclass(frozen=True)
class TrainingRequest:
    """One fit of an estimator, described for the engine.

    Attributes
    ----------
    template : torch.nn.Module
        The network to train (its initial weights are drawn from ``seed``): netreg's MLP,
        or the estimator's ``module`` built for the data.
    X : ndarray of shape (n_samples, ...)
        Validated inputs: ``(n_samples, n_features)`` for the MLP, rows of any shape for
        a ``module``.
    y : ndarray
        Validated targets as given (class labels for a classifier), what cross-validation
        splits stratify on.
    targets : ndarray
        Encoded targets, as :func:`netreg.train_population` takes them for ``task``.
    task : {"regression", "binary", "multiclass", "multilabel"}
    sample_weight : ndarray of shape (n_samples,)
        Row weights (ones when none were given), times a classifier's class weights.
    penalty : Penalty
        The penalty, with the estimator's ``alpha``.
    seed : int
        Seed of initialization, data order and dropout masks.
    early_stopping : bool
        Whether a fit holds out ``validation_fraction`` of its rows to stop on (never with
        L-BFGS, as in scikit-learn).
    validation_fraction : float
    random_state : int, RandomState or None
        What the early-stopping split is drawn from (after the seed, see :func:`draw_seed`).
    solver_settings : dict
        The :class:`~netreg.engine.TrainConfig` fields that come from the estimator's
        parameters; :meth:`config` completes them.
    batch_size : int or "auto"
        ``"auto"`` is ``min(200, n_train)``.
    classes : ndarray or None
        Class labels of a classifier (``None`` for regression).
    y_ndim : int
        Dimensions of ``y`` as given (1 or 2), to shape predictions.
    target_transformer : transformer or None
        A regressor's fitted transformer of the targets: ``targets`` are its output.
    class_weight : dict, "balanced" or None
        A classifier's ``class_weight``, multiplied into ``sample_weight``
        (:meth:`fold_weights` computes it from a fold's rows).
    given_weight : ndarray of shape (n_samples,) or None
        The row weights as given, before the class weights (``None`` without them).
    X_val, targets_val, sample_weight_val : ndarray or None
        The fit's own validation set (``fit(X_val=..., y_val=...)``), validated and encoded as
        ``X``, ``targets`` and ``sample_weight`` are (its weights are ``sample_weight_val``
        alone, as ``HistGradientBoostingClassifier`` weighs them: no class weights).
    """

    template: nn.Module
    X: np.ndarray
    y: np.ndarray
    targets: np.ndarray
    task: str
    sample_weight: np.ndarray
    penalty: Penalty
    seed: int
    early_stopping: bool
    validation_fraction: float
    random_state: Any
    solver_settings: dict[str, Any]
    batch_size: int | str
    classes: np.ndarray | None
    y_ndim: int
    target_transformer: Any = None
    class_weight: Any = None
    given_weight: np.ndarray | None = None
    X_val: Any = None
    targets_val: np.ndarray | None = None
    sample_weight_val: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one row of ``X``."""
        return tuple(self.X.shape[1:])

    @property
    def n_outputs(self) -> int:
        """The outputs the network has: one per class (multiclass), label or target; 1 for binary."""
        return int(self.targets.shape[1]) if self.targets.ndim == 2 else len(self.classes)

    def holdout(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split ``rows`` into training and early-stopping rows, as the estimator's own fit
        on ``rows`` would: ``validation_fraction`` held out (rounded up to whole rows, as
        ``train_test_split`` rounds), stratified by class for classifiers.

        Raises
        ------
        DataError
            When the validation set would have fewer than 2 rows, or a stratified split
            cannot hold every class on both sides; the message gives the sizes.

        Examples
        --------
        >>> from netreg import NetRegClassifier
        >>> X, y = np.zeros((30, 2)), np.repeat([0, 1, 2], 10)
        >>> request = NetRegClassifier(early_stopping=True, validation_fraction=0.05).training_request(X, y)
        >>> request.holdout(np.arange(30))
        Traceback (most recent call last):
        ...
        netreg.exceptions.DataError: The validation set is too small: validation_fraction=0.05 of 30 training rows holds out 2 rows, fewer than the 3 classes (the split is stratified: each class needs a row on each side). Increase validation_fraction or the size of your dataset, or set early_stopping=False.
        """
        _, rng = draw_seed(self.random_state)
        stratify = self.targets[rows] if self.task in ("binary", "multiclass") else None
        _check_holdout(len(rows), self.validation_fraction, stratify)
        train, stop = train_test_split(rows, test_size=self.validation_fraction, random_state=rng, stratify=stratify)
        return np.sort(train), np.sort(stop)

    def fold_weights(self, rows: np.ndarray) -> np.ndarray:
        """The row weights of a fit on ``rows`` alone: the class weights computed from the
        classes of ``rows`` (:func:`class_row_weights`, as scikit-learn's ``GridSearchCV``
        computes them in each fold), times the given weights; the other rows keep the given
        weights.

        Examples
        --------
        >>> from netreg import NetRegClassifier
        >>> X, y = np.zeros((6, 1)), np.array([0, 0, 0, 1, 1, 0])
        >>> request = NetRegClassifier(class_weight="balanced").training_request(X, y)
        >>> request.sample_weight.tolist()
        [0.75, 0.75, 0.75, 1.5, 1.5, 0.75]
        >>> request.fold_weights(np.arange(4)).tolist()
        [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0, 1.0, 1.0]
        """
        if self.class_weight is None:
            return self.sample_weight
        weights = np.array(self.given_weight, dtype=np.float64)
        weights[rows] *= class_row_weights(self.class_weight, self.y[rows], weights[rows])
        return weights

    def fit_data(self, *, early_stopping: bool) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``X``, targets, row weights, training rows and validation rows of one fit.

        A validation set given to ``fit`` is appended after the rows of ``X`` and is the
        validation set, whether or not the fit stops early on it (no split is drawn);
        otherwise ``early_stopping`` holds out :meth:`holdout` of the rows; else there are no
        validation rows (``None``).

        Examples
        --------
        >>> from netreg import NetRegRegressor
        >>> X, y = np.zeros((4, 2)), np.arange(4.0)
        >>> request = NetRegRegressor().training_request(X, y, X_val=np.ones((2, 2)), y_val=[5.0, 6.0])
        >>> X_all, targets, weights, train, val = request.fit_data(early_stopping=True)
        >>> X_all.shape, targets.ravel().tolist(), train.tolist(), val.tolist()
        ((6, 2), [0.0, 1.0, 2.0, 3.0, 5.0, 6.0], [0, 1, 2, 3], [4, 5])
        """
        rows = np.arange(self.X.shape[0])
        if self.X_val is None:
            return self.X, self.targets, self.sample_weight, *(self.holdout(rows) if early_stopping else (rows, None))
        if sp.issparse(self.X) or sp.issparse(self.X_val):
            X = sp.vstack([sp.csr_matrix(self.X), sp.csr_matrix(self.X_val)], format="csr")
        else:
            X = np.concatenate([self.X, np.asarray(self.X_val, dtype=self.X.dtype)])
        targets = np.concatenate([self.targets, self.targets_val])
        weights = np.concatenate([self.sample_weight, self.sample_weight_val])
        return X, targets, weights, rows, np.arange(len(rows), X.shape[0])

    def config(self, n_train: int, *, early_stopping: bool, monitor: str = "val") -> TrainConfig:
        """The engine's settings for members that train on (at most) ``n_train`` rows."""
        batch_size = min(200, n_train) if self.batch_size == "auto" else int(self.batch_size)
        return TrainConfig(
            **self.solver_settings,
            batch_size=batch_size,
            early_stopping=early_stopping,
            early_stopping_metric="score",
            monitor=monitor,
        )


_FIX = "Increase validation_fraction or the size of your dataset, or set early_stopping=False."


def _check_holdout(n_rows: int, fraction: float, stratify: np.ndarray | None) -> None:
    """Refuse an early-stopping split that cannot be drawn (scikit-learn raises from deep in
    ``train_test_split``); say how many rows each side would get and what it needs."""
    n_val = math.ceil(fraction * n_rows)
    n_train = n_rows - n_val
    where = f"validation_fraction={fraction:g} of {n_rows} training rows holds out {n_val} row{'s' * (n_val != 1)}"
    if n_val < 2 or n_train < 1:
        side = "early stopping needs at least 2" if n_val < 2 else "leaving none to train on"
        raise DataError(f"The validation set is too small: {where}; {side}. {_FIX}")
    if stratify is None:
        return
    labels, counts = np.unique(stratify, axis=0, return_counts=True)
    stratified = f"fewer than the {len(labels)} classes (the split is stratified: each class needs a row on each side)"
    if n_val < len(labels):
        raise DataError(f"The validation set is too small: {where}, {stratified}. {_FIX}")
    if n_train < len(labels):
        raise DataError(f"The training set is too small: {where}, leaving {n_train} to train on, {stratified}. {_FIX}")
    if counts.min() < 2:
        raise DataError(
            f"A class has only {int(counts.min())} training row (class index {labels[counts.argmin()].ravel()[0]:g}): "
            "early stopping's stratified split needs at least 2 rows of each class, one on each side. Add rows of "
            "that class, or set early_stopping=False."
        )


def with_validation_set(
    estimator: Any, request: TrainingRequest, X_val: Any, y_val: Any, sample_weight_val: Any
) -> TrainingRequest:
    """``request`` with the fit's own validation set (``fit(X_val=, y_val=, sample_weight_val=)``),
    validated as ``X`` and encoded as ``y`` were (the estimator's ``_validation_targets``).

    Raises
    ------
    InvalidParameterError
        For ``X_val`` without ``y_val`` or the reverse (scikit-learn's words, from
        ``HistGradientBoostingClassifier.fit``), or ``sample_weight_val`` without them.
    DataError
        For an ``X_val`` whose rows are not shaped as those of ``X``, or a ``y_val`` of
        another kind, width or other classes than ``y``.

    Examples
    --------
    >>> from netreg import NetRegClassifier
    >>> net = NetRegClassifier()
    >>> request = net.training_request(np.zeros((4, 2)), [0, 1, 0, 1])
    >>> with_validation_set(net, request, np.zeros((2, 3)), [0, 1], None)
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X_val has 3 features; expected 2 features, as X has.
    """
    if y_val is None and X_val is not None:
        raise InvalidParameterError("X_val is provided, but y_val was not provided.")
    if X_val is None and y_val is not None:
        raise InvalidParameterError("y_val is provided, but X_val was not provided.")
    if X_val is None:
        raise InvalidParameterError("sample_weight_val is provided, but X_val and y_val were not provided.")
    if hasattr(X_val, "detach"):  # a tensor, read through NumPy as X is
        X_val = X_val.detach().cpu().numpy()
    shape = tuple(getattr(X_val, "shape", None) or np.shape(X_val))
    if len(shape) >= 2 and shape[1:] != request.input_shape:
        table = len(shape) == 2 and len(request.input_shape) == 1
        received = f"{shape[1]} features" if table else f"rows of shape {shape[1:]}"
        expected = f"{request.input_shape[0]} features" if table else f"rows of shape {request.input_shape}"
        raise bad_data(f"X_val has {received}", f"{expected}, as X has")
    X_val, y_val = validate_data(
        estimator,
        X_val,
        y_val,
        accept_sparse=["csr", "csc"],
        multi_output=True,
        dtype=(np.float64, np.float32),
        reset=False,
        allow_nd=len(request.input_shape) > 1 or getattr(estimator, "module", None) is not None,
        **estimator._y_kind,
    )
    if y_val.ndim == 2 and y_val.shape[1] == 1:
        y_val = column_or_1d(y_val, warn=True)
    weights = np.asarray(_check_sample_weight(sample_weight_val, X_val, dtype=np.float64, ensure_non_negative=True))
    targets = estimator._validation_targets(y_val, request)
    return dataclasses.replace(request, X_val=X_val, targets_val=targets, sample_weight_val=weights)
