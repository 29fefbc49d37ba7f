r"""scikit-learn estimators: ``NetRegClassifier`` and ``NetRegRegressor``.

Drop-in replacements for ``MLPClassifier`` and ``MLPRegressor`` (same parameter names and
meanings, same fitted attributes), trained by netreg's engine, with the regularization
done exactly: for every solver they minimize

.. math:: J(W) = \frac{1}{m} \sum_i \ell_i + \frac{\alpha}{2m} \sum_j \lVert W_j \rVert_F^2

with m the number of training examples (the sum of the sample weights). scikit-learn's MLP
divides the penalty by the *batch* size for ``sgd`` and ``adam``, so its ``alpha`` means a
different strength for every batch size; netreg's does not (see
:func:`netreg.conventions.to_sklearn_alpha`).
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalidParameterError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data
from torch.nn import functional as F

from netreg import penalties
from netreg._checks import check_hidden_sizes
from netreg.engine import Callback, MemberResult, TrainConfig, member_module, train_population
from netreg.exceptions import DataError, InvalidParameterError, NotFittedError
from netreg.nets import MLP

__all__ = ["NetRegClassifier", "NetRegRegressor"]

_PREDICT_CHUNK = 8192


def _is_stochastic(estimator: Any) -> bool:
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {estimator.solver} is not stochastic."
        )
    return True


class _BaseNetReg(BaseEstimator):
    """Shared machinery of the two estimators; not for direct use."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
        "dtype": [StrOptions({"float32", "float64"})],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        penalty="l2",
        l1_ratio=0.5,
        dropout=0.0,
        batch_size="auto",
        learning_rate_init=0.001,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        max_fun=15000,
        shuffle=True,
        random_state=None,
        device="auto",
        dtype="float32",
        verbose=False,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dropout = dropout
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.max_fun = max_fun
        self.shuffle = shuffle
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose
        self.warm_start = warm_start

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, *, callback: Callback | None = None):
        """Fit the network to ``(X, y)``, minimizing the regularized objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: the data loss is their weighted mean and m in the penalty is
            their sum.
        callback : netreg.Callback, optional
            Receives the engine's progress (a progress bar, a logger).

        Returns
        -------
        self
        """
        self._check_params()
        X, y = self._validate_input(X, y, reset=True)
        return self._fit(X, y, sample_weight, incremental=False, callback=callback)

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        first = not hasattr(self, "module_")
        if first:
            self._check_params()
        X, y = self._validate_input(X, y, reset=first, classes=classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, incremental: bool, callback: Callback | None = None):
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        targets, task = self._encode_targets(y)
        template = self._template(X.shape[1], targets)
        continuing = hasattr(self, "module_") and (incremental or self.warm_start)
        if continuing:
            _check_same_network(self.module_, template)
        seed, rng = self._seed_and_rng()
        train_rows = np.arange(len(X))
        eval_rows = None
        use_validation = self.early_stopping and self.solver != "lbfgs" and not incremental
        if use_validation:
            train_rows, val_rows = self._validation_split(train_rows, targets, task, rng)
            eval_rows = {"val": [val_rows]}
        config = self._train_config(len(train_rows), early_stopping=use_validation)
        if incremental:
            config = dataclasses.replace(config, max_iter=1)
        result = train_population(
            template,
            X,
            targets,
            task=task,
            alphas=[float(self.alpha)],
            penalty=self._penalty(),
            config=config,
            seeds=seed,
            train_rows=[train_rows],
            eval_rows=eval_rows,
            sample_weight=sample_weight,
            init_states=self.module_.state_dict() if continuing else None,
            init_optimizer_states=[getattr(self, "_optimizer_state", None)] if incremental and continuing else None,
            callbacks=[
                c for c in (_PrintProgress(type(self).__name__) if self.verbose else None, callback) if c is not None
            ],
        )
        member = result.members[0]
        self._store(
            template,
            member,
            task,
            len(train_rows),
            use_validation,
            previous_history=self.history_ if continuing else None,
        )
        if member.status in ("max_iter", "stalled") and not incremental:
            warnings.warn(f"{type(self).__name__}: {member.message}", ConvergenceWarning, stacklevel=3)
        return self

    # The pieces below turn the estimator's parameters into the engine's inputs; the
    # cross-validated estimators use them too, so both train exactly the same networks.
    def _template(self, n_features: int, targets: np.ndarray) -> MLP:
        hidden = check_hidden_sizes(self.hidden_layer_sizes)
        n_outputs = targets.shape[1] if targets.ndim == 2 else len(self.classes_)
        template = MLP(n_features, hidden, n_outputs, activation=self.activation, dropout=self.dropout)
        return template.to(getattr(torch, self.dtype))

    def _seed_and_rng(self) -> tuple[int, np.random.RandomState]:
        """The engine's seed, and the generator that then draws the validation split."""
        rng = check_random_state(self.random_state)
        return int(rng.randint(np.iinfo(np.int32).max)), rng

    def _validation_split(self, rows: np.ndarray, targets: np.ndarray, task: str, rng) -> tuple[np.ndarray, np.ndarray]:
        """scikit-learn's early-stopping split: ``validation_fraction`` held out, stratified."""
        stratify = targets[rows] if task in ("binary", "multiclass") else None
        train, val = train_test_split(rows, test_size=self.validation_fraction, random_state=rng, stratify=stratify)
        return np.sort(train), np.sort(val)

    def _train_config(self, n_train: int, *, early_stopping: bool, monitor: str = "val") -> TrainConfig:
        return TrainConfig(
            solver=self.solver,
            learning_rate=float(self.learning_rate_init),
            momentum=float(self.momentum),
            nesterov=bool(self.nesterovs_momentum),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
            batch_size=min(200, n_train) if self.batch_size == "auto" else int(self.batch_size),
            max_iter=int(self.max_iter),
            tol=float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            early_stopping=early_stopping,
            early_stopping_metric="score",
            monitor=monitor,
            shuffle=bool(self.shuffle),
            max_fun=int(self.max_fun),
            device=self.device,
            dtype=self.dtype,
        )

    def _store(
        self, template, member: MemberResult, task: str, n_train: int, validated: bool, previous_history
    ) -> None:
        self.module_ = member_module(template, member.state_dict)
        layers = self.module_.layers
        self.coefs_ = [layer.weight.detach().numpy().T.copy() for layer in layers]
        self.intercepts_ = [layer.bias.detach().numpy().copy() for layer in layers]
        self.history_ = list(previous_history or []) + list(member.history)
        self.loss_curve_ = [record["objective"] for record in self.history_]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
        if validated:
            self.validation_scores_ = [record.get("val_score") for record in self.history_]
            self.best_validation_score_ = max(s for s in self.validation_scores_ if s is not None)
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else float("nan")
        self.n_iter_ = len(self.history_)
        self.t_ = (self.t_ if previous_history is not None else 0) + member.n_iter * n_train
        self.n_layers_ = len(layers) + 1
        self.n_outputs_ = layers[-1].out_features
        self.out_activation_ = {"multiclass": "softmax", "regression": "identity"}.get(task, "logistic")
        self.status_ = member.status
        self._optimizer_state = member.optimizer_state

    def _restore(
        self, module: MLP, *, task: str, classes: Any, n_features: int, feature_names: Any, y_ndim: int
    ) -> None:
        """Make a fitted estimator from a trained module and what ``fit`` would have learned.

        Used to load a saved model without pickle (:mod:`netreg.persistence`).
        """
        self.module_ = module.eval()
        layers = module.layers
        self.coefs_ = [layer.weight.detach().numpy().T.copy() for layer in layers]
        self.intercepts_ = [layer.bias.detach().numpy().copy() for layer in layers]
        self.n_features_in_ = int(n_features)
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.n_layers_ = len(layers) + 1
        self.n_outputs_ = layers[-1].out_features
        self.out_activation_ = {"multiclass": "softmax", "regression": "identity"}.get(task, "logistic")
        if task == "regression":
            self._y_ndim = int(y_ndim)
        else:
            self._task = task
            self.classes_ = np.asarray(classes)
            self._label_binarizer = LabelBinarizer().fit(
                self.classes_ if task != "multilabel" else np.eye(len(self.classes_))
            )

    def _penalty(self) -> penalties.Penalty:
        if self.penalty == "elasticnet":
            return penalties.ElasticNet(float(self.alpha), float(self.l1_ratio))
        return penalties.get(self.penalty)

    def _check_params(self) -> None:
        validate_parameters(self)
        if self.hidden_layer_sizes is not None:
            sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes, dtype=object))
            if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in sizes):
                raise InvalidParameterError(f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes}.")

    # -- prediction --------------------------------------------------------------------
    def _raw_output(self, X) -> torch.Tensor:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        parameter = next(self.module_.parameters())
        outputs = []
        with torch.no_grad():
            for start in range(0, len(X), _PREDICT_CHUNK):
                chunk = torch.as_tensor(X[start : start + _PREDICT_CHUNK], dtype=parameter.dtype)
                outputs.append(self.module_(chunk))
        return torch.cat(outputs).to(torch.float64)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")

    def __getstate__(self) -> dict[str, Any]:
        # A model trained on a GPU must unpickle on a machine without one.
        state = self.__dict__.copy()
        if "module_" in state:
            state["module_"] = state["module_"].cpu()
        if state.get("_optimizer_state") is not None:
            state["_optimizer_state"] = _to_cpu(state["_optimizer_state"])
        return state


def _check_same_network(previous: MLP, template: MLP) -> None:
    """warm_start and partial_fit continue from the previous weights: the network must not change."""
    before = {name: tuple(t.shape) for name, t in previous.state_dict().items()}
    now = {name: tuple(t.shape) for name, t in template.state_dict().items()}
    if before != now:
        raise DataError(
            f"warm_start continues from the previous fit's network, shaped {before}; this data and these "
            f"parameters need {now} (the features, classes or hidden layers changed). Set warm_start=False "
            "to start afresh."
        )


def validate_parameters(estimator: BaseEstimator) -> None:
    """scikit-learn's parameter validation, with its wording, plus a refusal of bools for floats.

    scikit-learn accepts ``alpha=True`` (a bool is a Real); a strength of ``True`` is
    always a mistake, so it is refused with the same wording.
    """
    try:
        estimator._validate_params()
    except SklearnInvalidParameterError as error:
        raise InvalidParameterError(str(error)) from None
    for name, constraints in estimator._parameter_constraints.items():
        value = getattr(estimator, name)
        real = [c for c in constraints if isinstance(c, Interval) and c.type is Real]
        if real and isinstance(value, bool | np.bool_):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be {real[0]}. Got {value!r} instead."
            )


class NetRegClassifier(ClassifierMixin, _BaseNetReg):
    r"""Multi-layer perceptron classifier with exact L2 / L1 / elastic-net regularization.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: same parameters and fitted
    attributes, trained by netreg's engine (PyTorch, CPU or CUDA). It minimizes the mean
    log-loss plus the penalty, for every solver:

    .. math:: J(W) = \frac{1}{m} \sum_i \ell_i + \frac{\alpha}{2m} \sum_j \lVert W_j \rVert_F^2

    (``penalty="l1"``: :math:`\frac{\alpha}{m} \sum_j \lVert W_j \rVert_1`; elastic net mixes
    both with ``l1_ratio``). Binary problems use one logistic output, multiclass a softmax,
    multilabel one logistic output per label.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int or int, default=(100,)
        Units of each hidden layer; ``()`` gives L2-regularized logistic regression.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Hidden-layer activation.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"lbfgs"`` is full-batch L-BFGS (recommended for small data sets).
    alpha : float, default=0.0001
        Strength of the penalty, the lambda of the objective above (>= 0). Unlike
        scikit-learn's MLP with ``sgd``/``adam``, the penalty is divided by the number of
        training examples m, never by the batch size, so its meaning does not change with
        ``batch_size``.
    penalty : {"l2", "l1", "elasticnet"}, default="l2"
        Which penalty on the weight matrices (biases are never penalized).
    l1_ratio : float, default=0.5
        Mix of L1 in the elastic net, in [0, 1]; used only with ``penalty="elasticnet"``.
    dropout : float, default=0.0
        Dropout probability after each hidden activation during training, in [0, 1).
    batch_size : int or "auto", default="auto"
        Minibatch size for ``sgd``/``adam``; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate_init : float, default=0.001
        Step size of ``sgd`` and ``adam``.
    momentum : float, default=0.9
        SGD momentum, in [0, 1].
    nesterovs_momentum : bool, default=True
        Use Nesterov momentum with ``sgd``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's constants.
    max_iter : int, default=200
        Maximum epochs (``sgd``, ``adam``) or iterations (``lbfgs``).
    tol : float, default=1e-4
        An epoch that improves the objective (or the validation score, with early
        stopping) by less than ``tol`` counts as no progress; for ``lbfgs``, the gradient
        tolerance.
    n_iter_no_change : int, default=10
        Epochs without progress before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop when its accuracy
        stops improving and keep the best weights (``sgd``/``adam`` only).
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in (0, 1).
    max_fun : int, default=15000
        Maximum loss evaluations of ``lbfgs``.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, shuffling, dropout and the validation split.
    device : str, default="auto"
        ``"auto"`` trains on CUDA when available, else on the CPU; or a torch device.
        The fitted model always lives on the CPU.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the network.
    verbose : bool, default=False
        Print one line per epoch to standard output, as scikit-learn's MLP does.
    warm_start : bool, default=False
        Start ``fit`` from the weights of the previous fit (the optimizer starts afresh).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray
        ``coefs_[j]`` is the weight matrix of layer j, shape (fan_in, fan_out).
    intercepts_ : list of ndarray
        ``intercepts_[j]`` is the bias vector of layer j.
    loss_ : float
        Objective (data loss plus penalty) at the last epoch.
    loss_curve_ : list of float
        Objective per epoch (mean of the minibatch losses plus the penalty).
    best_loss_ : float or None
        Smallest value of ``loss_curve_``; ``None`` with early stopping.
    validation_scores_ : list of float or None
        Validation accuracy per epoch with early stopping, else ``None``.
    best_validation_score_ : float or None
        Best validation accuracy with early stopping, else ``None``.
    n_iter_ : int
        Epochs (or L-BFGS iterations) trained.
    t_ : int
        Training samples seen.
    history_ : list of dict
        Per-epoch records: ``train_loss``, ``penalty``, ``objective``, validation metrics
        and ``weight_norms`` (Frobenius norm of each weight matrix); see
        :mod:`netreg.history`.
    status_ : str
        Why training stopped: ``"converged"``, ``"early_stopped"``, ``"max_iter"`` or
        ``"stalled"``.
    module_ : netreg.MLP
        The trained PyTorch module (CPU, eval mode).
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        ``"softmax"`` or ``"logistic"``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` had string column names.

    See Also
    --------
    NetRegRegressor : The same for regression.
    sklearn.neural_network.MLPClassifier : The scikit-learn estimator this replaces.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from netreg import NetRegClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(
    ...     StandardScaler(), NetRegClassifier((32,), alpha=1.0, solver="lbfgs", random_state=0)
    ... ).fit(X_train, y_train)
    >>> bool(model.score(X_test, y_test) > 0.95)
    True
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _validate_input(self, X, y, reset: bool, classes=None):
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            kind = type_of_target(y)
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(unique_labels(classes, y) if classes is not None else y)
            self.classes_ = self._label_binarizer.classes_
            self._task = {"multilabel-indicator": "multilabel", "binary": "binary"}.get(kind, "multiclass")
            if len(self.classes_) < 2 and self._task != "multilabel":
                raise DataError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data, but the data "
                    f"contains only one class: {self.classes_[0].item()!r}."
                )
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise DataError(
                f"`classes={np.unique(classes).tolist()}` is not the same as on the first call to partial_fit, "
                f"which was {self.classes_.tolist()}."
            )
        else:
            unseen = np.setdiff1d(unique_labels(y), self.classes_) if self._task != "multilabel" else []
            if len(unseen):
                raise DataError(
                    f"y has classes {unseen.tolist()} not seen in the first call to fit or partial_fit: "
                    f"{self.classes_.tolist()}."
                )
        return X, y

    def _encode_targets(self, y):
        if self._task == "multilabel":
            return np.asarray(y, dtype=np.float64), "multilabel"
        indices = np.searchsorted(self.classes_, y)
        if self._task == "binary":
            return indices.astype(np.float64).reshape(-1, 1), "binary"
        return indices, "multiclass"

    @available_if(_is_stochastic)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state.

        m in the penalty is the number of rows (or weight sum) of this call's data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            All classes over all calls; required on the first call unless ``y`` holds
            them all.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._partial_fit(X, y, sample_weight, classes)

    def predict(self, X):
        """Predicted class labels (an indicator matrix for multilabel problems)."""
        scores = self._raw_output(X)
        if self._task == "multilabel":
            return (scores > 0).numpy().astype(int)
        if self._task == "binary":
            return self.classes_[(scores[:, 0] > 0).numpy().astype(int)]
        return self.classes_[scores.argmax(1).numpy()]

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (n_labels for multilabel)."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the network's logits."""
        scores = self._raw_output(X)
        if self._task == "multiclass":
            return F.log_softmax(scores, dim=1).numpy()
        if self._task == "binary":
            return torch.cat([F.logsigmoid(-scores), F.logsigmoid(scores)], dim=1).numpy()
        return F.logsigmoid(scores).numpy()


class NetRegRegressor(RegressorMixin, _BaseNetReg):
    r"""Multi-layer perceptron regressor with exact L2 / L1 / elastic-net regularization.

    A drop-in for ``sklearn.neural_network.MLPRegressor``, trained by netreg's engine. It
    minimizes half the squared error plus the penalty, for every solver:

    .. math:: J(W) = \frac{1}{2m} \sum_i \lVert y_i - f(x_i) \rVert^2
              + \frac{\alpha}{2m} \sum_j \lVert W_j \rVert_F^2

    With one target the data term is scikit-learn's half mean squared error; with several
    it sums them over the targets (the function whose gradient scikit-learn follows), so
    ``hidden_layer_sizes=()`` is exactly ``Ridge(alpha=alpha)``.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, penalty, l1_ratio, dropout, batch_size, \
learning_rate_init, momentum, nesterovs_momentum, beta_1, beta_2, epsilon, max_iter, tol, \
n_iter_no_change, early_stopping, validation_fraction, max_fun, shuffle, random_state, \
device, dtype, verbose, warm_start
        As in :class:`NetRegClassifier`; early stopping watches the validation R^2.

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_, \
best_validation_score_, n_iter_, t_, history_, status_, module_, n_layers_, n_outputs_, \
n_features_in_, feature_names_in_
        As in :class:`NetRegClassifier` (validation scores are R^2).
    out_activation_ : str
        ``"identity"``.

    See Also
    --------
    NetRegClassifier : The same for classification.
    sklearn.neural_network.MLPRegressor : The scikit-learn estimator this replaces.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from netreg import NetRegRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> linear = NetRegRegressor((), alpha=0.1, solver="lbfgs", dtype="float64", random_state=0).fit(X, y)
    >>> ridge = Ridge(alpha=0.1).fit(X, y)  # the same objective, solved exactly
    >>> bool(np.allclose(linear.coefs_[0].ravel(), ridge.coef_, rtol=1e-3, atol=0.1))
    True
    """

    def _validate_input(self, X, y, reset: bool, classes=None):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if reset:
            self._y_ndim = y.ndim
        return X, y

    def _encode_targets(self, y):
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1), "regression"

    @available_if(_is_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state.

        Returns
        -------
        self
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        output = self._raw_output(X).numpy()
        return output.ravel() if self._y_ndim == 1 else output


class _PrintProgress(Callback):
    """``verbose=True``: one line per epoch on standard output, as scikit-learn's MLP prints."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on_epoch_end(self, epoch: int, records) -> None:
        for record in records.values():
            line = f"{self.name} epoch {epoch}, objective = {record['objective']:.8f} (penalty {record['penalty']:.3g})"
            if "val_score" in record:
                line += f", validation score = {record['val_score']:.6f}"
            sys.stdout.write(line + "\n")


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    return value
