"""Cross-validated estimators: ``NetRegClassifierCV`` and ``NetRegRegressorCV``.

Like ``RidgeCV``, they choose ``alpha`` by cross-validation and refit with it; unlike
``GridSearchCV``, every (alpha, fold) pair is a member of one population trained at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from torch import nn

from netreg._checks import COUNT, Choice
from netreg._compat import StrOptions
from netreg.engine import member_module
from netreg.estimators import (
    FittedState,
    NetRegClassifier,
    NetRegRegressor,
    TrainingRequest,
    set_fitted_state,
    validate_parameters,
)
from netreg.estimators.folds import FoldsAverage
from netreg.estimators.params import (
    CLASSIFIER_PARAMS,
    N_POSITIONAL,
    REGRESSOR_PARAMS,
    Param,
    constraints,
    store_parameters,
)
from netreg.exceptions import NotFittedError
from netreg.grid import DEFAULT_N_ALPHAS, GRID_SIZE
from netreg.search.views import SearchViews
from netreg.tuning.halving import FACTOR
from netreg.tuning.hybrid import N_ALPHAS, SPAN, center_alpha, check_hybrid, hybrid_grid, learn_center
from netreg.tuning.plan import SweepPlan, check_seed, plan_from_request
from netreg.tuning.progress import VerboseSweep
from netreg.tuning.rules import SELECTIONS
from netreg.tuning.search_results import search_cv_results
from netreg.tuning.sweep import run_sweep
from netreg.tuning.sweep_hooks import SweepCallback, check_sweep_callbacks
from netreg.tuning.sweep_result import SweepResult

__all__ = ["CV_PARAMS", "NetRegClassifierCV", "NetRegRegressorCV"]

#: What the cross-validated estimators add; they take every parameter of their plain
#: estimator but ``alpha`` and ``auto_alpha``.
CV_PARAMS: tuple[Param, ...] = (
    Param("alphas", DEFAULT_N_ALPHAS, [GRID_SIZE, "array-like"]),
    Param("cv", 5, ["cv_object"]),
    Param("scoring", None, [None, str, callable]),
    Param("selection", "min", [Choice(SELECTIONS)]),
    Param("search", "grid", [StrOptions({"grid", "halving", "hybrid"})]),
    Param("factor", 3, [FACTOR]),
    Param("min_epochs", None, [None, COUNT]),
    Param("store", None, [None, str, os.PathLike]),
    Param("backend", "local", "no_validation"),
    Param("chunk_size", None, [None, COUNT]),
    Param("refit", True, ["boolean", StrOptions({"folds"})]),
    Param("return_train_score", False, ["boolean"]),
)


def _cv_params(params: tuple[Param, ...]) -> tuple[tuple[Param, ...], tuple[Param, ...]]:
    """The plain estimator's parameters the CV estimator shares (all but ``alpha`` and
    ``auto_alpha``), and the CV estimator's own signature: the shared ones with the sweep's
    after the positional two."""
    shared = tuple(param for param in params if param.name not in ("alpha", "auto_alpha"))
    return shared, shared[:N_POSITIONAL] + CV_PARAMS + shared[N_POSITIONAL:]


def _check_refit(search: Any, name: str) -> None:
    """Refuse ``name`` of a search fitted with ``refit=False``, which keeps no model: the
    ``AttributeError`` of ``GridSearchCV`` (``hasattr`` is False), in its words."""
    if not search.refit:
        raise AttributeError(
            f"This {type(search).__name__} instance was initialized with `refit=False`. {name} is available only "
            "after refitting on the best parameters. You can refit an estimator manually using the `best_params_` "
            "attribute"
        )


def _has_model(name: str) -> Callable[[Any], bool]:
    """``available_if``'s check of the method ``name``: absent with ``refit=False`` (``hasattr``
    is False), the cause of its error :func:`_check_refit`'s, as with ``GridSearchCV``."""

    def check(search: Any) -> bool:
        _check_refit(search, name)
        return True

    return check


class _ScoreAfterRefit:
    """``score`` as the estimator mixin after it scores (accuracy, R^2; not the sweep's
    ``scoring``), refused with ``refit=False`` as ``GridSearchCV`` refuses it."""

    def score(self, X, y, sample_weight=None) -> float:
        """``best_estimator_``'s score on ``(X, y)``: accuracy for a classifier, R^2 for a regressor
        (scikit-learn's, not the sweep's ``scoring``). With ``refit=False`` an ``AttributeError``,
        as ``GridSearchCV`` raises it."""
        _check_refit(self, "score")
        return super().score(X, y, sample_weight=sample_weight)


class _BaseNetRegCV(SearchViews, BaseEstimator):
    """What both CV estimators share: the sweep, the choice of alpha and the refit; their
    report and notebook summary (:class:`~netreg.search.views.SearchViews`)."""

    _estimator_class: type[NetRegClassifier] | type[NetRegRegressor]
    _default_scoring: str
    _shared: tuple[Param, ...]

    def fit(self, X, y, sample_weight=None, *, groups=None, callback: SweepCallback | None = None):
        """Sweep the alphas over the folds, choose one, refit on all the data.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features), or (n_samples, ...) with a module
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware splitter given as ``cv`` (``GroupKFold``, ...).
        callback : SweepCallback, optional
            Progress of the sweep (:class:`netreg.tuning.ProgressBar`, the command line's).

        Returns
        -------
        self
        """
        validate_parameters(self)
        callbacks = check_sweep_callbacks(callback)
        base = self._base_estimator()
        hybrid = self.search == "hybrid"
        if hybrid:
            check_hybrid(self, base, DEFAULT_N_ALPHAS)
        if self.store is not None:
            check_seed(base)
        request = base.training_request(X, y, sample_weight)
        by_evidence = self.selection == "evidence"
        halving = (self.factor, self.min_epochs) if self.search == "halving" else None
        cv = None if by_evidence else self.cv
        alphas = self.alphas
        self.__dict__.pop("learned_estimator_", None)
        self.__dict__.pop("learned_alpha_", None)
        if hybrid:
            learned = learn_center(base, X, y, sample_weight)
            center = center_alpha(learned)
            alphas = hybrid_grid(center)
        plan = plan_from_request(base, request, alphas=alphas, cv=cv, groups=groups, halving=halving)
        if self.verbose:
            callbacks.append(
                VerboseSweep(n_folds=len(plan.folds), n_alphas=len(plan.alphas), verbose=int(self.verbose))
            )
        result = run_sweep(
            plan,
            scoring=self.scoring or self._default_scoring,
            selection=self.selection,
            store=None if self.store is None else str(self.store),
            backend=self.backend,
            chunk_size=self.chunk_size,
            callback=callbacks,
            n_jobs=self.n_jobs,
            keep_folds=self.refit == "folds" and not by_evidence,
        )
        self._set_result(result, n_splits=len(plan.folds))
        if hybrid:
            self.learned_estimator_, self.learned_alpha_ = learned, center
        for name in ("best_estimator_", "n_features_in_", "feature_names_in_"):
            if name in vars(self):
                delattr(self, name)  # a model of an earlier fit is not this fit's
        if self.refit:
            self._refit(base, X, y, sample_weight, plan, request, result)
        for item in callbacks:
            item.on_fit_end(self)
        return self

    def _refit(self, base, X, y, sample_weight, plan: SweepPlan, request, result: SweepResult) -> None:
        """Refit the chosen alpha on all the rows (or, chosen by the evidence, keep its member)."""
        by_evidence = self.selection == "evidence"
        base.set_params(alpha=self.alpha_)
        if by_evidence:
            # The chosen member was trained on all the rows: it is the model, no refit.
            set_fitted_state(base, _member_state(plan, request, result, base, 0, result.best_state_dict))
            self.best_estimator_ = base
        elif self.refit == "folds":
            members = []
            for fold, state_dict in enumerate(result.fold_state_dicts):
                member = clone(base)
                set_fitted_state(member, _member_state(plan, request, result, base, fold, state_dict))
                members.append(member)
            self.best_estimator_ = FoldsAverage(members)
        else:
            # GridSearchCV's verbose speaks of the search; its refit prints nothing. The refit's
            # own ``verbose`` is restored after it, so best_estimator_ has the CV estimator's.
            base.set_params(verbose=0).fit(X, y, sample_weight=sample_weight)
            self.best_estimator_ = base.set_params(verbose=self.verbose)
        self.n_features_in_ = self.best_estimator_.n_features_in_
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    def _set_result(self, result: SweepResult, n_splits: int) -> None:
        self.sweep_ = result
        self.alphas_ = result.alphas
        self.alpha_ = result.alpha
        self.best_index_ = result.best_index
        self.best_params_ = {"alpha": result.alpha}
        self.cv_results_ = search_cv_results(result, return_train_score=self.return_train_score)
        best = result.log_evidence if result.selection == "evidence" else result.cv_results["mean_test_score"]
        self.best_score_ = float(best[result.best_index])
        self.scoring_ = result.scoring
        self.n_splits_ = n_splits

    def _base_estimator(self) -> Any:
        return self._estimator_class(**{param.name: getattr(self, param.name) for param in self._shared})

    def _fitted(self) -> Any:
        if not hasattr(self, "best_estimator_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        check_is_fitted(self)
        return self.best_estimator_

    @available_if(_has_model("predict"))
    def predict(self, X):
        """Predict with ``best_estimator_``: refit on all data with ``alpha_``, or the
        average of the chosen alpha's fold models (``refit="folds"``)."""
        return self._fitted().predict(X)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "sweep_")


def _member_state(
    plan: SweepPlan, request: TrainingRequest, result: SweepResult, base: Any, fold: int, state_dict: Any
) -> FittedState:
    """The fitted state of the sweep's member of the chosen alpha on ``fold``, with weights ``state_dict``."""
    record = next(m for m in result.members if m.key == (result.best_index, fold))
    rows = plan.train_rows[fold]
    return FittedState(
        module=member_module(plan.template, state_dict),
        task=request.task,
        classes=request.classes,
        y_ndim=request.y_ndim,
        n_features=request.X.shape[1],
        input_shape=request.input_shape,
        n_outputs=request.n_outputs,
        feature_names=getattr(base, "feature_names_in_", None),
        # The sweep's early-stopping rows are its "stop" set: the estimator's "val" set.
        history=[{f"val_{k[5:]}" if k.startswith("stop_") else k: v for k, v in r.items()} for r in record.history],
        status=record.status,
        n_samples_seen=record.n_iter * len(rows),
        validated=request.early_stopping,
        target_transformer=request.target_transformer,
    )


_CLASS_WEIGHT_DOC = """ A ``class_weight`` is computed in each fold
        from the fold's training rows, as ``GridSearchCV`` computes it (not with
        ``search="halving"``); the fold's held-out rows are scored without it."""


def _init_doc(kind: str) -> str:
    return f"""
    Parameters
    ----------
    hidden_layer_sizes, activation, module, module_kwargs, solver, alpha_scale, penalty, l1_ratio, dropout, \\
batch_size, learning_rate, learning_rate_init, power_t, momentum, nesterovs_momentum, beta_1, beta_2, epsilon, \\
max_iter, tol, n_iter_no_change, early_stopping, validation_fraction, max_fun, shuffle, random_state, \\
device, dtype, verbose, warm_start{", loss, transformer" if "Regressor" in kind else ", class_weight"}
        As in :class:`netreg.{kind}`; every member of the sweep and the refit use them. With
        ``early_stopping``, each member holds out ``validation_fraction`` of its fold's
        training rows to stop on; the fold's held-out rows only score it. With a
        ``module``, every member is that module (BatchNorm statistics and dropout masks its
        own, as in a fit alone) and ``X`` may have rows of any shape. A sparse ``X`` is made
        dense once for the sweep (its grid, store and evidence read an array); the refit
        trains on it sparse.{"" if "Regressor" in kind else _CLASS_WEIGHT_DOC}
    n_jobs : int or None, default=None
        CPU cores, as in scikit-learn (``-1``: all of them). The sweep trains up to
        ``n_jobs`` chunks of members side by side, each in a worker process on one thread
        (with ``backend="local"`` on the CPU), and the refit uses up to ``n_jobs`` threads.
        ``None``: the usable cores for the sweep and netreg's thread policy for the refit
        (see :mod:`netreg.engine.threads`), or the ``NETREG_N_JOBS`` environment variable
        when it is set.
    alphas : int or array-like of float, default=16
        The strengths to try (>= 0, at least two distinct values), or the size of a
        log-spaced default grid that runs from negligible to dominant for the data, and,
        for netreg's MLP with hidden layers, to half the strength that switches every unit
        off (see :mod:`netreg.grid`).
    cv : int, cross-validation generator or iterable, default=5
        As in scikit-learn: an int gives (stratified, for classifiers) K-fold.
    scoring : str or callable, optional
        What "better" means, as ``GridSearchCV`` takes it: a scorer name
        (:func:`sklearn.metrics.get_scorer_names`: ``"f1_macro"``, ``"roc_auc"``, ...) or a
        callable ``scorer(estimator, X, y)``, greater is better. ``"neg_log_loss"`` and
        ``"accuracy"`` (classifiers), ``"r2"`` and ``"neg_mean_squared_error"`` (regressors)
        come free with training; any other scorer is called on each member's validation
        rows (and training rows) as the member finishes, as if it were an estimator fitted
        alone (its predictions in the target's units). Default:
        ``"{"neg_log_loss" if "Classifier" in kind else "r2"}"``.
    selection : {{"min", "1se", "evidence"}}, default="min"
        ``"min"``: the alpha with the best mean validation score. ``"1se"``: the largest
        alpha within one standard error of the best, the simpler model. ``"evidence"``: no
        folds (``cv`` is not used); each alpha is trained once on all the rows and the one
        with the largest Laplace evidence (MacKay's marginal likelihood, see
        :mod:`netreg.evidence`) is chosen; its member is the model, with no refit. The
        evidence reads the L2 penalty as a Gaussian prior, so it needs ``penalty="l2"``,
        and it describes a converged member (give it enough epochs, no dropout); it reads
        netreg's MLP and is refused with a ``module``.
    search : {{"grid", "halving", "hybrid"}}, default="grid"
        ``"grid"`` trains every (alpha, fold) member to the end. ``"halving"``: successive
        halving inside the population (:mod:`netreg.tuning.halving`): at each rung
        (``min_epochs`` epochs, then ``factor`` times more) all but the best ``1/factor``
        alphas by mean validation score are stopped, all their folds together; alpha is chosen
        among the survivors, and the stopped ones stay in ``cv_results_`` with their partial
        scores (``stopped_at_epoch``). ``"hybrid"`` (:mod:`netreg.tuning.hybrid`): one
        ``alpha="auto"`` fit on all the rows learns an alpha per layer, read as one alpha ``x``
        (``learned_alpha_``: the alpha of the same penalty at the learned weights), then {N_ALPHAS} alphas log-spaced from ``x/{SPAN:g}`` to
        ``x*{SPAN:g}`` are cross-validated (``alphas`` stays at its default) and the chosen one
        refit; it needs ``penalty="l2"``, no ``class_weight`` and a native ``scoring``.
    factor : int, default=3
        With ``search="halving"``: keep the best ``ceil(n / factor)`` alphas at each rung.
    min_epochs : int, optional
        With ``search="halving"``: the epochs of the first rung. Default: as scikit-learn's
        ``HalvingGridSearchCV`` with ``min_resources="exhaust"``, so that the last rung
        leaves few alphas (:func:`netreg.tuning.halving.halving_rungs`).
    refit : bool or "folds", default=True
        ``True``: refit the chosen alpha on all the data (``best_estimator_``), as
        ``GridSearchCV`` does. ``"folds"``: no refit; the chosen alpha's fold models, already
        trained by the sweep, predict as their average (:class:`~netreg.estimators.folds.FoldsAverage`).
        ``False``: the search only chooses; as with ``GridSearchCV``, there is no
        ``best_estimator_`` and the prediction methods are absent. With
        ``selection="evidence"`` there are no folds: ``"folds"`` is ``True``.
    return_train_score : bool, default=False
        Add the training scores (``mean_train_score``, ``split{{k}}_train_score``, ...) to
        ``cv_results_``, as ``GridSearchCV`` does.
    store : path, optional
        SQLite file that keeps each member's result as it finishes; a rerun with the same
        store resumes, training only what is missing. Needs an int ``random_state``.
    backend : {{"local", "ray"}} or backend object, default="local"
        What trains the chunks of members.
    chunk_size : int, optional
        Members trained together; default: as many as fit in memory.

    Attributes
    ----------
    alpha_ : float
        The chosen alpha.
    alphas_ : ndarray
        The grid, ascending.
    best_index_ : int
        Position of ``alpha_`` in ``alphas_``.
    best_score_ : float
        Mean validation score of ``alpha_`` (its log evidence with ``selection="evidence"``).
    cv_results_ : dict
        One row per alpha (``pandas.DataFrame(cv_results_)``), with ``GridSearchCV``'s keys
        (``params``, ``param_alpha``, ``split{{k}}_test_score``, ``mean_test_score``,
        ``std_test_score``, ``rank_test_score``, ``mean_fit_time``, ``std_fit_time`` and the
        train scores with ``return_train_score``) and netreg's own: ``alpha``, the mean data
        loss, mean epochs, mean weight norm of each penalized layer, the log evidence and
        effective number of parameters (of the first fold's members, or of every member with
        ``selection="evidence"``), the hidden units switched off per layer
        (:func:`netreg.tuning.search_results.search_cv_results`).
    best_params_ : dict
        ``{{"alpha": alpha_}}``.
    n_splits_ : int
        Number of folds (1 with ``selection="evidence"``).
    scoring_ : str
        The scoring used (a callable as ``"custom:<its name>"``).
    sweep_ : netreg.tuning.SweepResult
        Everything the sweep produced, members' histories included.
    best_estimator_ : netreg.{kind}
        Refit on all the data with ``alpha_``; with ``refit="folds"`` the average of the
        chosen alpha's fold models (:class:`~netreg.estimators.folds.FoldsAverage`); absent
        with ``refit=False``.
    learned_alpha_ : float
        With ``search="hybrid"``: the centre of ``alphas_``, the one alpha the evidence's
        per-layer alphas make (:func:`netreg.tuning.hybrid.center_alpha`).
    learned_estimator_ : netreg.{kind}
        With ``search="hybrid"``: the ``alpha="auto"`` fit that learned it (its
        ``alpha_history_``, ``log_evidence_``, ``n_iter_``).
    n_features_in_ : int
        ``X.shape[1]``.
    feature_names_in_ : ndarray of str
        When ``X`` had string column names.
    """


class NetRegClassifierCV(_ScoreAfterRefit, ClassifierMixin, _BaseNetRegCV):
    __doc__ = (
        """Classifier with alpha chosen by cross-validation, the whole grid trained at once.

    Every (alpha, fold) pair is a member of one population trained by netreg's engine
    (in chunks that fit in memory); the chosen alpha is refit on all the data.
    """
        + _init_doc("NetRegClassifier")
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from netreg import NetRegClassifierCV
    >>> X, y = load_digits(return_X_y=True)
    >>> model = NetRegClassifierCV((32,), alphas=[0.01, 1.0, 100.0], cv=3, max_iter=30, random_state=0)
    >>> model = model.fit(X[:300] / 16, y[:300])
    >>> model.alpha_ in (0.01, 1.0, 100.0), len(model.cv_results_["alpha"])
    (True, 3)
    """
    )

    _estimator_class = NetRegClassifier
    _default_scoring = "neg_log_loss"
    _shared, _params = _cv_params(CLASSIFIER_PARAMS)
    _parameter_constraints: dict = constraints(_params)

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        alphas: int | Sequence[float] = DEFAULT_N_ALPHAS,
        cv: Any = 5,
        scoring: str | Callable[..., float] | None = None,
        selection: str = "min",
        search: str = "grid",
        factor: int = 3,
        min_epochs: int | None = None,
        store: str | os.PathLike[str] | None = None,
        backend: Any = "local",
        chunk_size: int | None = None,
        refit: bool | str = True,
        return_train_score: bool = False,
        module: Callable[..., nn.Module] | None = None,
        module_kwargs: dict[str, Any] | None = None,
        solver: str = "adam",
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

    @property
    def classes_(self) -> np.ndarray:
        """The class labels of ``best_estimator_`` (absent with ``refit=False``, as ``GridSearchCV``'s)."""
        _check_refit(self, "classes_")
        return self._fitted().classes_

    @available_if(_has_model("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``best_estimator_`` (the mean of the fold models' with
        ``refit="folds"``)."""
        return self._fitted().predict_proba(X)

    @available_if(_has_model("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from ``best_estimator_``."""
        return self._fitted().predict_log_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NetRegRegressorCV(_ScoreAfterRefit, RegressorMixin, _BaseNetRegCV):
    __doc__ = (
        """Regressor with alpha chosen by cross-validation, the whole grid trained at once.

    Every (alpha, fold) pair is a member of one population trained by netreg's engine
    (in chunks that fit in memory); the chosen alpha is refit on all the data.
    """
        + _init_doc("NetRegRegressor")
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from netreg import NetRegRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = NetRegRegressorCV((), alphas=[0.1, 10.0, 1000.0], cv=3, solver="lbfgs", random_state=0)
    >>> model.fit(scale(X), scale(y)).alpha_ < 1000.0
    True
    """
    )

    _estimator_class = NetRegRegressor
    _default_scoring = "r2"
    _shared, _params = _cv_params(REGRESSOR_PARAMS)
    _parameter_constraints: dict = constraints(_params)

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        alphas: int | Sequence[float] = DEFAULT_N_ALPHAS,
        cv: Any = 5,
        scoring: str | Callable[..., float] | None = None,
        selection: str = "min",
        search: str = "grid",
        factor: int = 3,
        min_epochs: int | None = None,
        store: str | os.PathLike[str] | None = None,
        backend: Any = "local",
        chunk_size: int | None = None,
        refit: bool | str = True,
        return_train_score: bool = False,
        module: Callable[..., nn.Module] | None = None,
        module_kwargs: dict[str, Any] | None = None,
        solver: str = "adam",
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
        loss: str = "squared_error",
        transformer: Any = None,
    ) -> None:
        store_parameters(self, locals())
