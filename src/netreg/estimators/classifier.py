"""``NetRegClassifier``: a drop-in for scikit-learn's ``MLPClassifier``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from torch import nn
from torch.nn import functional as F

from netreg.estimators.base import BaseNetReg, is_stochastic
from netreg.estimators.params import CLASSIFIER_PARAMS, constraints, store_parameters
from netreg.exceptions import DataError, InvalidParameterError, bad_data, invalid

__all__ = ["NetRegClassifier"]


class NetRegClassifier(ClassifierMixin, BaseNetReg):
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
    module : torch.nn.Module subclass or callable, default=None
        Your own network instead of the MLP (skorch's ``module``): a class or a function
        that builds one, called with ``module_kwargs`` and with those of ``n_features``
        (``X.shape[1]``), ``input_shape`` (``X.shape[1:]``) and ``n_outputs`` that its
        signature names; it returns logits of shape ``(n_samples, n_outputs)``. ``X`` may
        then have rows of any shape (images ``(n, channels, height, width)``).
        ``hidden_layer_sizes``, ``activation`` and ``dropout`` shape the MLP only and must
        keep their defaults. See ``docs/own_module.md``.
    module_kwargs : dict, default=None
        The module's own keyword arguments (one dict parameter, so that ``clone`` and
        ``GridSearchCV`` handle it as scikit-learn does any other).
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"lbfgs"`` is full-batch L-BFGS (recommended for small data sets).
    alpha : float, "auto" or dict of str to float, default=0.0001
        Strength of the penalty, the lambda of the objective above (>= 0). Unlike
        scikit-learn's MLP with ``sgd``/``adam``, the penalty is divided by the number of
        training examples m, never by the batch size, so its meaning does not change with
        ``batch_size`` (see ``alpha_scale``). A dict ``{parameter name: alpha}`` gives each
        penalized weight matrix (``"layers.0.weight"``, ...) its own strength: every one
        must be named (a learned ``alpha_`` is such a dict). ``"auto"``: alpha is learned in
        the one fit from the Laplace evidence, starting from 1.0 (MacKay's fixed point,
        :mod:`netreg.estimators.auto_alpha`); L2 and netreg's MLP only, not with
        ``warm_start`` or ``partial_fit``; give the fit the epochs to converge.
    auto_alpha : {"layerwise", "scalar"}, default="layerwise"
        What ``alpha="auto"`` learns: one alpha per penalized weight matrix (MacKay's and
        Immer et al.'s layerwise prior) or one for the network. With ``"scalar"`` and a small
        network (exact curvature), the re-estimate also counts how the curvature moves with the
        weights, and seeks the alpha the evidence grid would choose
        (:mod:`netreg.evidence.weight_drift`). Unused otherwise.
    alpha_scale : {"n_samples", "batch"}, default="n_samples"
        What ``alpha`` is divided by in each ``sgd``/``adam`` step: m (netreg's objective
        above), or the sum of the batch's sample weights, as scikit-learn's MLP divides it:
        ``"batch"`` minimizes scikit-learn's exact objective, for code and results carried
        over from ``MLPClassifier`` (``lbfgs``'s batch is the training set: the two agree).
        The recorded penalty is then ``alpha * n_batches / (2 m) * sum_j ||W_j||^2``, the
        mean of the epoch's per-batch penalties.
    penalty : {"l2", "l1", "elasticnet"}, default="l2"
        Which penalty on the weight matrices (biases are never penalized).
    l1_ratio : float, default=0.5
        Mix of L1 in the elastic net, in [0, 1]; used only with ``penalty="elasticnet"``.
    dropout : float, default=0.0
        Dropout probability after each hidden activation during training, in [0, 1). Each
        fit draws its masks from its own generator, seeded from ``random_state``.
    batch_size : int or "auto", default="auto"
        Minibatch size for ``sgd``/``adam``; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The step-size schedule of ``sgd`` (``adam`` ignores it), as scikit-learn's:
        ``"constant"`` keeps ``learning_rate_init``; ``"invscaling"`` sets it after each
        epoch to ``learning_rate_init / (t_ + 1) ** power_t`` (``t_`` the training rows seen);
        ``"adaptive"`` keeps it while training improves, and divides it by 5 each time
        more than ``n_iter_no_change`` epochs in a row improve by less than ``tol``,
        instead of stopping; it stops once the step size is at most 1e-6. Momentum keeps
        its velocity across a change, as in scikit-learn.
    learning_rate_init : float, default=0.001
        Step size of ``sgd`` and ``adam``.
    power_t : float, default=0.5
        The exponent of ``learning_rate="invscaling"``.
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
    n_iter_no_change : int or np.inf, default=10
        The most epochs in a row without progress: training stops at the next one, as in
        scikit-learn; ``np.inf`` never stops on stalling (only at ``max_iter``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified by class), stop when its
        accuracy stops improving and keep the best weights (``sgd``/``adam`` only; refused
        by ``partial_fit``, as in scikit-learn). A split too small to hold every class is
        refused, with the sizes.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in [0, 1) (rounded up to whole rows,
        as ``train_test_split`` does).
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
        Floating-point type of the network and of the data it trains on, whatever the
        input's (scikit-learn's MLP computes in the input's: ``"float64"`` gives its precision).
    n_jobs : int or None, default=None
        CPU threads of the fit, as in scikit-learn (``-1``: every usable core). ``None``:
        netreg's thread policy (:mod:`netreg.engine.threads`: one thread for small networks,
        more for large ones), or the ``NETREG_N_JOBS`` environment variable when it is set.
    verbose : bool, default=False
        Print scikit-learn's lines (``Iteration 1, loss = ...``, and ``Validation score: ...``
        with early stopping) with the data loss and the penalty after them.
    warm_start : bool, default=False
        Start ``fit`` from the weights of the previous fit (the optimizer starts afresh).
        ``loss_curve_``, ``validation_scores_`` and ``t_`` go on from the previous fit;
        ``n_iter_`` counts this fit's epochs, as in scikit-learn.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``, as scikit-learn's linear
        classifiers define them (:func:`sklearn.utils.class_weight.compute_sample_weight`):
        ``"balanced"`` weighs class c by ``n_samples / (n_classes * n_c)``, its rows counted by
        their ``sample_weight`` (a row of weight 2 is that row twice); a dict maps classes of
        ``y`` to weights (others weigh 1). A multilabel ``y`` takes ``"balanced"`` only: the
        product of each label's balanced weights. Early stopping's
        split carries the class weights (its rows are drawn after weighting); a validation set
        given to ``fit`` (``X_val``) does not. ``partial_fit`` refuses ``"balanced"``, as
        ``SGDClassifier`` does.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray
        ``coefs_[j]`` is the weight matrix of layer j, shape (fan_in, fan_out) (netreg's
        MLP only; a ``module``'s parameters are in ``module_``).
    intercepts_ : list of ndarray
        ``intercepts_[j]`` is the bias vector of layer j (MLP only).
    loss_ : float
        Objective (data loss plus penalty) at the last epoch.
    loss_curve_ : list of float
        Objective per epoch (mean of the minibatch losses plus the penalty), over every
        fit of a warm start or ``partial_fit`` (per L-BFGS iteration with ``lbfgs``, where
        scikit-learn keeps none).
    best_loss_ : float or None
        Smallest value of ``loss_curve_``; ``None`` with early stopping.
    validation_scores_ : list of float or None
        Validation accuracy per epoch with early stopping, else ``None``.
    best_validation_score_ : float or None
        Best validation accuracy with early stopping, else ``None``.
    n_iter_ : int
        Epochs (or L-BFGS iterations) of the last call to ``fit`` (1 after ``partial_fit``),
        as in scikit-learn; ``len(history_)`` counts every epoch.
    t_ : int
        Training rows seen, over every fit of a warm start or ``partial_fit`` (with ``lbfgs``,
        rows times iterations, where scikit-learn leaves 0).
    history_ : list of dict
        Per-epoch records: ``train_loss``, ``penalty``, ``objective``, validation metrics
        and ``weight_norms`` (Frobenius norm of each weight matrix); see
        :mod:`netreg.history`.
    status_ : str
        Why training stopped: ``"converged"``, ``"early_stopped"``, ``"max_iter"`` or
        ``"stalled"``.
    module_ : netreg.MLP or torch.nn.Module
        The trained PyTorch module (CPU, eval mode): the MLP, or the one ``module`` built.
    n_layers_ : int
        Number of layers, input and output included (MLP only).
    alpha_ : float or dict of str to float
        With ``alpha="auto"`` only: the alpha learned, that of the final weights (per
        parameter with ``auto_alpha="layerwise"``; ``alpha=model.alpha_`` fits at it again).
    alpha_history_ : list of dict
        With ``alpha="auto"`` only: one record per re-estimate: ``epoch``, ``alpha`` set after
        it, ``gamma`` (effective parameters, per layer or in all), ``log_evidence`` before it
        (and ``noise_variance`` for a regressor).
    log_evidence_ : float
        With ``alpha="auto"`` only: the log evidence of the final weights at ``alpha_``.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        ``"softmax"`` or ``"logistic"``.
    n_features_in_ : int
        Number of features seen in ``fit``: ``X.shape[1]``, as scikit-learn counts them
        (the channels of images).
    input_shape_ : tuple of int
        The shape of one row of ``X`` seen in ``fit`` (``(n_features,)`` for a table).
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

    _parameter_constraints: dict = constraints(CLASSIFIER_PARAMS)

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        module: Callable[..., nn.Module] | None = None,
        module_kwargs: dict[str, Any] | None = None,
        solver: str = "adam",
        alpha: float | str | dict[str, float] = 0.0001,
        auto_alpha: str = "layerwise",
        alpha_scale: str = "n_samples",
        penalty: str = "l2",
        l1_ratio: float = 0.5,
        dropout: float = 0.0,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        max_iter: int = 200,
        tol: float = 1e-4,
        n_iter_no_change: int | float = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        max_fun: int = 15000,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        device: str = "auto",
        dtype: str = "float32",
        n_jobs: int | None = None,
        verbose: bool | int = False,
        warm_start: bool = False,
        class_weight: dict[Any, float] | str | None = None,
    ) -> None:
        store_parameters(self, locals())

    _y_kind: dict[str, Any] = {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _targets(self, y: np.ndarray, *, reset: bool, classes: Any) -> tuple[np.ndarray, str, np.ndarray, int, None]:
        """Encoded targets, task, class labels, ``y.ndim`` and no target transformer; checks
        the labels against earlier calls."""
        check_classification_targets(y)
        kind = type_of_target(y)
        if reset and self.warm_start and getattr(self, "classes_", None) is not None and kind != "multilabel-indicator":
            if set(unique_labels(y)) != set(self.classes_):  # scikit-learn's words
                raise DataError(
                    "warm_start can only be used where `y` has the same classes as in the previous call to fit. "
                    f"Previously got {self.classes_}, `y` has {unique_labels(y)}"
                )
        if reset:
            # A multilabel y names its labels by column (scikit-learn ignores `classes` then).
            given = y if classes is None or kind == "multilabel-indicator" else unique_labels(classes)
            labels = LabelBinarizer().fit(given).classes_
            task = {"multilabel-indicator": "multilabel", "binary": "binary"}.get(kind, "multiclass")
            if classes is not None and task != "multilabel":
                task = "binary" if len(labels) == 2 else "multiclass"
            if len(labels) < 2 and task != "multilabel":
                raise DataError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data, but the data "
                    f"contains only one class: {labels[0].item()!r}."
                )
        else:
            labels, task = self.classes_, self._task
            self._check_same_kind(y, kind, classes)
        if task != "multilabel":
            # scikit-learn's words (MLPClassifier._validate_input).
            seen = unique_labels(y)
            if len(np.setdiff1d(seen, labels)):
                raise DataError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {labels}. 'y' has {seen}."
                )
        return _encode(y, labels, task), task, labels, y.ndim, None

    def _class_weight(self, y: np.ndarray, labels: np.ndarray, task: str, *, incremental: bool) -> Any:
        """``class_weight``, checked against the classes (what :func:`compute_sample_weight` takes)."""
        class_weight = self.class_weight
        if class_weight is None:
            return None
        if incremental and class_weight == "balanced":  # scikit-learn's words (SGDClassifier.partial_fit)
            raise InvalidParameterError(
                "class_weight 'balanced' is not supported for partial_fit. In order to use 'balanced' weights, use "
                "compute_class_weight('balanced', classes=classes, y=y). In place of y you can use a large enough "
                "sample of the full training set target to properly estimate the class frequency distributions. "
                "Pass the resulting weights as the class_weight parameter."
            )
        if isinstance(class_weight, dict):
            if task == "multilabel":
                raise invalid(
                    "class_weight",
                    "None or 'balanced' with a multilabel y (each label's two classes balanced, as "
                    "compute_sample_weight balances multi-output targets)",
                    class_weight,
                )
            unknown = [key for key in class_weight if key not in set(labels.tolist())]
            if unknown:
                raise invalid(
                    "class_weight",
                    f"a dict whose keys are classes of y ({labels.tolist()})",
                    class_weight,
                    f"Remove {unknown}.",
                )
        return class_weight

    def _validation_targets(self, y_val: np.ndarray, request: Any) -> np.ndarray:
        """``y_val`` encoded as the fit's targets; of the kind of ``y``, with classes among its classes."""
        check_classification_targets(y_val)
        multilabel, kind = request.task == "multilabel", type_of_target(y_val)
        if multilabel != (kind == "multilabel-indicator"):
            expected = "a multilabel indicator matrix" if multilabel else "class labels"
            raise bad_data(f"y_val is {kind!r}", f"{expected}, as y is")
        if multilabel and y_val.shape[1] != len(request.classes):
            raise bad_data(f"y_val has {y_val.shape[1]} label columns", f"{len(request.classes)}, as y has")
        unseen = [] if multilabel else np.setdiff1d(unique_labels(y_val), request.classes).tolist()
        if unseen:
            raise bad_data(
                f"y_val has classes that y does not have: {unseen}",
                f"classes among those of y, {request.classes.tolist()}",
                "The network has no output for a class it did not train on.",
            )
        return _encode(y_val, request.classes, request.task)

    def _check_same_kind(self, y: np.ndarray, kind: str, classes: Any) -> None:
        """A later partial_fit continues the first fit: the same kind of targets, the same classes."""
        multilabel = self._task == "multilabel"
        if multilabel != (kind == "multilabel-indicator"):
            raise DataError(
                f"y is {kind!r} but {type(self).__name__} was fitted on "
                f"{'a multilabel indicator matrix' if multilabel else 'class labels'}; partial_fit continues the "
                "first fit's kind of targets."
            )
        if multilabel and y.shape[1] != len(self.classes_):
            raise DataError(
                f"y has {y.shape[1]} label columns; expected {len(self.classes_)}, as in the first call to fit or "
                "partial_fit."
            )
        # scikit-learn's words (sklearn.utils.multiclass._check_partial_fit_first_call).
        if classes is not None and not multilabel and not np.array_equal(self.classes_, unique_labels(classes)):
            raise DataError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, was: {self.classes_!r}"
            )

    @available_if(is_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state.

        m in the penalty is the number of rows (or weight sum) of this call's data.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features), or (n_samples, ...) with a module
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            All classes over all calls (``np.unique(y_all)``); required on the first call,
            as in scikit-learn (then checked: a changed ``classes``, or a ``y`` with a class
            not among them, is refused). For a multilabel ``y`` its columns are the labels.
        sample_weight : array-like of shape (n_samples,), default=None
        X_val, y_val, sample_weight_val : None
            Refused: a validation set is :meth:`fit`'s.

        Returns
        -------
        self
        """
        if classes is None and getattr(self, "classes_", None) is None:
            raise InvalidParameterError("classes must be passed on the first call to partial_fit.")
        return self._partial_fit(X, y, sample_weight, classes, (X_val, y_val, sample_weight_val))

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


def _encode(y: np.ndarray, labels: np.ndarray, task: str) -> np.ndarray:
    """Targets as the engine takes them: indicator columns (multilabel), the positive class as a
    ``(n, 1)`` float column (binary), class indices (multiclass)."""
    if task == "multilabel":
        return np.asarray(y, dtype=np.float64)
    indices = np.searchsorted(labels, y)
    if task == "binary":
        return indices.astype(np.float64).reshape(-1, 1)
    return indices
