"""An estimator's fitted state, set in one place (:func:`set_fitted_state`: ``fit``, ``partial_fit`` and ``load_model`` end there) and read back for saving (:func:`fitted_state`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from torch import nn

from netreg.nets import MLP

__all__ = ["FittedState", "set_fitted_state", "fitted_state"]

_OUT_ACTIVATION = {
    "multiclass": "softmax",
    "regression": "identity",
    "poisson": "exp",
    "binary": "logistic",
    "multilabel": "logistic",
}


@dataclass
class FittedState:
    """What a fitted estimator is made of; everything else is derived from it.

    Attributes
    ----------
    module : torch.nn.Module
        The trained network (CPU, eval mode): netreg's MLP or the estimator's ``module``.
    task : {"regression", "poisson", "binary", "multiclass", "multilabel"}
        ``"poisson"`` is a regression whose outputs are log means (``out_activation_``
        ``"exp"``); a fitted estimator reads back as ``"regression"`` with its ``loss``.
    classes : ndarray or None
        Class labels (``None`` for regression).
    y_ndim : int
        1 when ``y`` was a vector (predictions are then a vector too), else 2.
    n_features : int
        ``X.shape[1]``, as scikit-learn counts features.
    feature_names : ndarray of str or None
    history : list of dict
        Per-epoch records of every fit so far (:mod:`netreg.history`); each fit numbers
        its epochs from 1, so the last record's ``epoch`` is the last fit's ``n_iter_``.
    status : str
        Why the last fit stopped.
    n_samples_seen : int
        Training rows seen over all epochs (scikit-learn's ``t_``).
    validated : bool
        Whether the last fit stopped early on a validation set (a validation set given to
        ``fit`` without early stopping is only scored: its scores are in ``history``).
    optimizer_state : dict or None
        The optimizer's state, to continue with ``partial_fit`` (not saved to disk).
    target_transformer : transformer or None
        The fitted transformer of a regressor's targets (``transformer_``), if any.
    input_shape : tuple of int or None
        The shape of one row of ``X`` (``None``: ``(n_features,)``, a table).
    n_outputs : int or None
        The network's outputs (``None``: those of the MLP's last layer).
    """

    module: nn.Module
    task: str
    classes: np.ndarray | None
    y_ndim: int
    n_features: int
    feature_names: np.ndarray | None
    history: list[dict[str, Any]]
    status: str
    n_samples_seen: int = 0
    validated: bool = False
    optimizer_state: dict[str, Any] | None = field(default=None, repr=False)
    target_transformer: Any = None
    input_shape: tuple[int, ...] | None = None
    n_outputs: int | None = None


def set_fitted_state(estimator: Any, state: FittedState) -> None:
    """Make ``estimator`` fitted with ``state``: every fitted attribute, in one place.

    Examples
    --------
    >>> import numpy as np
    >>> from netreg import NetRegRegressor
    >>> from netreg.nets import MLP
    >>> model = NetRegRegressor(())
    >>> set_fitted_state(model, FittedState(MLP(2, (), 1), "regression", None, 1, 2, None, [], "converged"))
    >>> model.predict(np.zeros((3, 2))).shape
    (3,)
    """
    module = state.module.eval()
    estimator.module_ = module
    if isinstance(module, MLP):
        layers = module.layers
        estimator.coefs_ = [layer.weight.detach().numpy().T.copy() for layer in layers]
        estimator.intercepts_ = [layer.bias.detach().numpy().copy() for layer in layers]
        estimator.n_layers_ = len(layers) + 1
    else:
        # Layers of the MLP only: another module's parameters are in module_.
        for name in ("coefs_", "intercepts_", "n_layers_"):
            if hasattr(estimator, name):
                delattr(estimator, name)
    estimator.n_outputs_ = int(module.layers[-1].out_features if state.n_outputs is None else state.n_outputs)
    estimator.n_features_in_ = int(state.n_features)
    estimator.input_shape_ = tuple(int(size) for size in (state.input_shape or (state.n_features,)))
    if state.feature_names is not None:
        estimator.feature_names_in_ = np.asarray(state.feature_names, dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    task = state.task
    if task == "regression" and getattr(estimator, "loss", None) == "poisson":
        task = "poisson"  # a saved model reads back as a regression; its loss says which
    estimator.out_activation_ = _OUT_ACTIVATION[task]
    estimator._task = "regression" if task == "poisson" else task
    estimator._y_ndim = int(state.y_ndim)
    if estimator._task != "regression":
        estimator.classes_ = np.asarray(state.classes)
        estimator._label_binarizer = LabelBinarizer().fit(
            estimator.classes_ if state.task != "multilabel" else np.eye(len(estimator.classes_))
        )
    history = list(state.history)
    estimator.history_ = history
    estimator.loss_curve_ = [record.get("objective") for record in history]
    estimator.loss_ = estimator.loss_curve_[-1] if history else float("nan")
    # A last fit with a validation set (early stopping's, or one given to fit) scored it each epoch.
    if state.validated or (history and history[-1].get("val_score") is not None):
        estimator.validation_scores_ = [record.get("val_score") for record in history]
        estimator.best_validation_score_ = max(s for s in estimator.validation_scores_ if s is not None)
    else:
        estimator.validation_scores_ = None
        estimator.best_validation_score_ = None
    if state.validated:  # early stopping watched the validation score, not the loss
        estimator.best_loss_ = None
    else:
        losses = [loss for loss in estimator.loss_curve_ if loss is not None]
        estimator.best_loss_ = min(losses) if losses else float("nan")
    # scikit-learn's n_iter_ counts the last call's epochs (warm_start, partial_fit: 1).
    estimator.n_iter_ = int(history[-1].get("epoch", len(history))) if history else 0
    estimator.t_ = int(state.n_samples_seen)
    estimator.status_ = state.status
    estimator._optimizer_state = state.optimizer_state
    if state.target_transformer is not None:
        estimator.transformer_ = state.target_transformer
    elif hasattr(estimator, "transformer_"):
        del estimator.transformer_


def fitted_state(estimator: Any) -> FittedState:
    """Read back the :class:`FittedState` of a fitted estimator (what :func:`set_fitted_state` set).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> state = fitted_state(NetRegClassifier((4,), solver="lbfgs", max_iter=5, random_state=0).fit(X, y))
    >>> state.task, state.classes.tolist(), state.n_features
    ('multiclass', [0, 1, 2], 4)
    """
    return FittedState(
        module=estimator.module_,
        task=estimator._task,
        classes=getattr(estimator, "classes_", None),
        y_ndim=estimator._y_ndim,
        n_features=estimator.n_features_in_,
        feature_names=getattr(estimator, "feature_names_in_", None),
        history=list(estimator.history_),
        status=estimator.status_,
        n_samples_seen=estimator.t_,
        validated=estimator.validation_scores_ is not None and estimator.best_loss_ is None,
        optimizer_state=estimator._optimizer_state,
        target_transformer=getattr(estimator, "transformer_", None),
        input_shape=getattr(estimator, "input_shape_", None),
        n_outputs=estimator.n_outputs_,
    )
