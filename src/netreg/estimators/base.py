"""What ``NetRegClassifier`` and ``NetRegRegressor`` share: fit (request, engine, :func:`~netreg.estimators.fitted.set_fitted_state`), partial_fit, the raw output."""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from torch import nn

from netreg import memory, penalties
from netreg._compat import check_sample_weight
from netreg.engine import Callback, member_module, train_population
from netreg.engine.hooks import check_callbacks
from netreg.engine.threads import resolve_n_jobs
from netreg.estimators.auto_alpha import (
    AUTO,
    AUTO_START,
    check_auto,
    check_auto_fit,
    check_layer_alphas,
    learn_alpha,
    set_auto_attributes,
)
from netreg.estimators.fitted import FittedState, set_fitted_state
from netreg.estimators.network import build_network, check_output
from netreg.estimators.params import validate_parameters
from netreg.estimators.request import TrainingRequest, class_row_weights, draw_seed, with_validation_set
from netreg.estimators.verbose import PrintProgress
from netreg.exceptions import InvalidParameterError, NotFittedError, bad_data, warn
from netreg.nets import MLP

__all__ = ["BaseNetReg", "is_stochastic"]

_PREDICT_CHUNK = 8192


def is_stochastic(estimator: Any) -> bool:
    """``partial_fit`` exists for ``sgd`` and ``adam`` only, as in scikit-learn."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {estimator.solver} is not stochastic."
        )
    return True


class BaseNetReg(BaseEstimator):
    """Shared machinery of the two estimators; not for direct use."""

    def training_request(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight_val: Any = None,
    ) -> TrainingRequest:
        """Validate the parameters and ``(X, y)`` and describe the fit ``fit(X, y)`` would make.

        Used by ``fit`` itself and by the sweeps of :mod:`netreg.tuning`, which train every
        member of their grid from it.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features), or (n_samples, ...) with a module
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        X_val, y_val, sample_weight_val : default=None
            A validation set of the fit's own, as :meth:`fit` takes it.

        Returns
        -------
        TrainingRequest

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from netreg import NetRegClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> request = NetRegClassifier((8,), alpha=0.5).training_request(X, y)
        >>> request.task, request.targets[:3].tolist(), request.penalty
        ('multiclass', [0, 0, 0], L2(alpha=0.5))
        """
        validate_parameters(self)
        if self.alpha == AUTO:
            check_auto(self, incremental=False)
        request = self._request(X, y, sample_weight, reset=True)
        if X_val is None and y_val is None and sample_weight_val is None:
            return request
        return with_validation_set(self, request, X_val, y_val, sample_weight_val)

    def _request(
        self, X: Any, y: Any, sample_weight: Any, *, reset: bool, classes: Any = None, incremental: bool = False
    ) -> TrainingRequest:
        X = _as_array(X)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
            allow_nd=self.module is not None,
            **self._y_kind,
        )
        if not reset:
            _check_row_shape(self, X)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        targets, task, labels, y_ndim, transformer = self._targets(y, reset=reset, classes=classes)
        n_outputs = targets.shape[1] if targets.ndim == 2 else len(labels)
        template = build_network(self, X.shape[1:], n_outputs)
        check_output(self, template, X, n_outputs)
        penalty = self._penalty()
        if isinstance(self.alpha, dict):  # one strength per penalized weight, all named
            layers = check_layer_alphas(self.alpha, [p.name for p in penalty.targets(template)])
            penalty = self._penalty(layers)
        seed, _ = draw_seed(self.random_state)
        given = np.asarray(check_sample_weight(sample_weight, X, dtype=X.dtype))
        class_weight = self._class_weight(y, labels, task, incremental=incremental)
        return TrainingRequest(
            template=template.to(getattr(torch, self.dtype)),
            X=X,
            y=y,
            targets=targets,
            task=task,
            sample_weight=given if class_weight is None else given * class_row_weights(class_weight, y, given),
            penalty=penalty,
            seed=seed,
            early_stopping=bool(self.early_stopping) and self.solver != "lbfgs",
            validation_fraction=float(self.validation_fraction),
            random_state=self.random_state,
            solver_settings=self._solver_settings(),
            batch_size=self.batch_size,
            classes=labels,
            y_ndim=y_ndim,
            target_transformer=transformer,
            class_weight=class_weight,
            given_weight=None if class_weight is None else given,
        )

    def _class_weight(self, y: np.ndarray, labels: Any, task: str, *, incremental: bool) -> Any:
        """The class weights to multiply into the sample weights (a classifier's ``class_weight``)."""
        return None

    def _penalty(self, layer_alphas: dict[str, float] | None = None) -> penalties.Penalty:
        # alpha="auto" starts its member at AUTO_START; a dict gives each layer its own alpha.
        if isinstance(self.alpha, dict):
            alpha = 0.0
        else:
            alpha = AUTO_START if self.alpha == AUTO else float(self.alpha)
        if self.penalty == "elasticnet":
            return penalties.ElasticNet(alpha, float(self.l1_ratio), layer_alphas=layer_alphas)
        return penalties.get({"name": self.penalty, "alpha": alpha, "layer_alphas": layer_alphas or {}})

    def _solver_settings(self) -> dict[str, Any]:
        return {
            "solver": self.solver,
            "learning_rate": float(self.learning_rate_init),
            "lr_schedule": self.learning_rate,
            "power_t": float(self.power_t),
            "alpha_scale": self.alpha_scale,
            "momentum": float(self.momentum),
            "nesterov": bool(self.nesterovs_momentum),
            "beta_1": float(self.beta_1),
            "beta_2": float(self.beta_2),
            "epsilon": float(self.epsilon),
            "adam_epsilon": "sklearn",  # epsilon means scikit-learn's
            "max_iter": int(self.max_iter),
            "tol": float(self.tol),
            # scikit-learn stops when more than n_iter_no_change epochs in a row made no
            # progress; the engine stops after its n_iter_no_change such epochs.
            "n_iter_no_change": math.inf if self.n_iter_no_change == math.inf else int(self.n_iter_no_change) + 1,
            "shuffle": bool(self.shuffle),
            "max_fun": int(self.max_fun),
            "device": self.device,
            "dtype": self.dtype,
            "n_threads": resolve_n_jobs(self.n_jobs),
        }

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight_val: Any = None,
        callback: Callback | None = None,
    ) -> BaseNetReg:
        """Fit the network to ``(X, y)``, minimizing the regularized objective.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features), or (n_samples, ...) with a module
            A SciPy sparse matrix (CSR or CSC) stays sparse: each minibatch is made dense
            alone (with ``solver="lbfgs"``, whose one batch is the training set, all rows
            at once).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: the data loss is their weighted mean and m in the penalty is
            their sum.
        X_val : array-like or sparse matrix of shape (n_val, n_features), default=None
            A validation set of your own, as ``HistGradientBoostingClassifier.fit`` takes it
            (with ``y_val``; the same features as ``X``). With ``early_stopping=True`` it is
            the set the fit stops on (no split is drawn: ``validation_fraction`` is not
            used); without it, its score is recorded each epoch (``validation_scores_``)
            and training stops as usual. Not with ``partial_fit``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Its targets: for a classifier, classes among those of ``y``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Its row weights in the validation score (the ``class_weight`` is not applied to
            them, as in ``HistGradientBoostingClassifier``).
        callback : netreg.Callback or list of them, optional
            The engine's progress (a progress bar, a tracker of :mod:`netreg.callbacks`).

        Returns
        -------
        self
        """
        check_callbacks(callback, "callback")  # before the data are checked, not inside the engine as `callbacks`
        request = self.training_request(
            X, y, sample_weight, X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val
        )
        return self._train(request, incremental=False, callback=callback)

    def _partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None, validation: tuple = (None,) * 3
    ) -> BaseNetReg:
        if any(part is not None for part in validation):
            raise InvalidParameterError(
                "partial_fit does not support X_val, y_val or sample_weight_val: one epoch on a stream has no "
                "validation set to record or stop on. Pass them to fit."
            )
        first = not hasattr(self, "module_")
        if first:
            validate_parameters(self)
        if self.alpha == AUTO:
            check_auto(self, incremental=True)
        if self.early_stopping:
            # scikit-learn's words: one epoch on a stream has no validation set to stop on.
            raise InvalidParameterError("partial_fit does not support early_stopping=True")
        request = self._request(X, y, sample_weight, reset=first, classes=classes, incremental=True)
        return self._train(request, incremental=True)

    def _train(self, request: TrainingRequest, *, incremental: bool, callback: Callback | None = None) -> BaseNetReg:
        auto = self.alpha == AUTO  # its parameters were checked with the others (check_auto)
        continuing = hasattr(self, "module_") and (incremental or self.warm_start)
        if continuing:
            _check_same_network(self.module_, request.template)
        validated = request.early_stopping and not incremental
        X, targets, sample_weight, train_rows, val_rows = request.fit_data(early_stopping=validated)
        config = request.config(len(train_rows), early_stopping=validated)
        if auto:
            check_auto_fit(self, request, config, len(train_rows))
        if incremental:
            config = dataclasses.replace(config, max_iter=1)
        optimizer_states = None
        if continuing and incremental:
            optimizer_states = [self._optimizer_state]
        elif continuing and self.solver == "sgd":
            # A warm start's optimizer starts afresh, but a schedule counts the rows seen since the first fit.
            optimizer_states = [{"samples_seen": float(self.t_)}]
        progress = PrintProgress() if self.verbose else None
        layerwise = self.auto_alpha == "layerwise"
        learned = (
            learn_alpha(request, X, targets, sample_weight, config, train_rows, layerwise=layerwise) if auto else None
        )
        member = train_population(
            request.template,
            X,
            targets,
            task=request.task,
            alphas=[request.penalty.alpha],
            penalty=request.penalty,
            config=config,
            seeds=request.seed,
            train_rows=[train_rows],
            eval_rows=None if val_rows is None else {"val": [val_rows]},
            sample_weight=sample_weight,
            init_states=self.module_.state_dict() if continuing else None,
            init_optimizer_states=optimizer_states,
            callbacks=[c for c in (progress, *check_callbacks(callback, "callback"), learned) if c],
        ).members[0]
        state = FittedState(
            module=member_module(request.template, member.state_dict),
            task=request.task,
            classes=request.classes,
            y_ndim=request.y_ndim,
            n_features=request.X.shape[1],
            input_shape=request.X.shape[1:],
            n_outputs=request.n_outputs,
            feature_names=getattr(self, "feature_names_in_", None),
            history=(list(self.history_) if continuing else []) + list(member.history),
            status=member.status,
            n_samples_seen=(self.t_ if continuing else 0) + member.n_iter * len(train_rows),
            validated=validated,
            optimizer_state=member.optimizer_state,
            target_transformer=request.target_transformer,
        )
        set_fitted_state(self, state)
        set_auto_attributes(self, learned, member, layerwise=layerwise, verbose=bool(self.verbose))
        if member.status in ("max_iter", "stalled") and not incremental:
            warn(f"{type(self).__name__}: {member.message}", ConvergenceWarning)
        if not incremental:
            self._check_fit(request)
        return self

    def _check_fit(self, request: TrainingRequest) -> None:
        """What a fitted model says of itself on its training rows (a regressor's warnings); nothing here."""

    def _raw_output(self, X: Any) -> torch.Tensor:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        check_is_fitted(self)
        tables = isinstance(self.module_, MLP)
        X = validate_data(
            self,
            _as_array(X),
            reset=False,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            allow_nd=not tables,
        )
        _check_row_shape(self, X)
        return self._forward(X)

    def _forward(self, X: Any) -> torch.Tensor:
        """The network's float64 output on rows already validated (``_raw_output`` checks them)."""
        if sp.issparse(X):
            X = X.tocsr()  # rows are sliced from it, each chunk made dense alone
        module = self.module_
        tables = isinstance(module, MLP)
        if tables:
            # The MLP predicts in float64 whatever it trained in: a float32 product's rounding
            # depends on how many rows it multiplies, and a row's prediction must not depend
            # on the others predicted with it (scikit-learn's check_methods_subset_invariance).
            module = copy.deepcopy(module).double()
        dtype = next(module.parameters()).dtype
        outputs = []
        # A chunk made dense (float64, as read and as a tensor) stays within the budget: 8192
        # rows of a million sparse columns would be 65 GB.
        row_bytes = math.prod(X.shape[1:]) * torch.empty((), dtype=dtype).element_size()
        chunk = min(_PREDICT_CHUNK, memory.block_rows(row_bytes, copies=2))
        with torch.no_grad():
            for start in range(0, X.shape[0], chunk):
                rows = X[start : start + chunk]
                # A read-only array (a DataFrame's values) is copied: torch warns of sharing one.
                rows = rows.toarray() if sp.issparse(rows) else np.require(rows, requirements="W")
                outputs.append(module(torch.as_tensor(rows, dtype=dtype)))
        return torch.cat(outputs).to(torch.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC, each batch made dense alone
        return tags

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


def _as_array(X: Any) -> Any:
    # scikit-learn reads tensors through NumPy, which needs them on the CPU and detached.
    return X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X


def _check_row_shape(estimator: Any, X: np.ndarray) -> None:
    """Rows of the shape the estimator was fitted on (scikit-learn checks ``X.shape[1]`` only)."""
    expected = tuple(getattr(estimator, "input_shape_", X.shape[1:]))
    if tuple(X.shape[1:]) != expected:
        raise bad_data(
            f"X has rows of shape {tuple(X.shape[1:])}",
            f"rows of shape {expected}, as {type(estimator).__name__} was fitted on",
        )


def _check_same_network(previous: nn.Module, template: nn.Module) -> None:
    """warm_start and partial_fit continue from the previous weights: the network must not change."""
    before = {name: tuple(t.shape) for name, t in previous.state_dict().items()}
    now = {name: tuple(t.shape) for name, t in template.state_dict().items()}
    if before != now:
        raise bad_data(
            f"this data and these parameters need a network shaped {now} (the features, classes or hidden layers "
            "changed)",
            f"the previous fit's network, shaped {before}, which warm_start and partial_fit continue from",
            "Set `warm_start=False` to start afresh.",
        )


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    return value
