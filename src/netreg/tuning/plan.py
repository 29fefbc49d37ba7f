"""A sweep's plan, and the training of any chunk of its members.

:func:`plan_sweep` lays the grid of alphas over the cross-validation folds as one fit of the
estimator would train (:meth:`~netreg.NetRegClassifier.training_request`): a :class:`SweepPlan`,
plain data and picklable, so that a Ray task can train any chunk of it with
:func:`train_chunk`, as one population. Members are ordered fold by fold and share one seed:
a chunk of one fold's alphas feeds them the same batches from the same weights, so their
differences are the penalty's doing.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from torch import nn

from netreg import penalties
from netreg.engine import Callback, MemberResult, TrainConfig, train_population
from netreg.estimators import TrainingRequest
from netreg.estimators.params import CLASSIFIER_PARAMS, REGRESSOR_PARAMS, describe
from netreg.exceptions import invalid
from netreg.grid import resolve_alphas
from netreg.nets import MLP
from netreg.tables import fingerprint
from netreg.tables.fingerprints import HashedAs
from netreg.tuning.halving import HalvingCallback, check_halving, halving_rungs
from netreg.tuning.splits import cv_splits

__all__ = ["SweepPlan", "plan_sweep", "plan_from_request", "check_seed", "train_chunk", "OnMember"]

#: Parameters added after stores existed, and their defaults (left out of a sweep's spec at them).
_LATER = ("learning_rate", "power_t", "alpha_scale", "loss", "class_weight")
_LATER_DEFAULTS = {p.name: p.default for p in REGRESSOR_PARAMS + CLASSIFIER_PARAMS if p.name in _LATER}

#: What :func:`train_chunk` calls as each member stops: ``(key, result, fit_time_s)``.
OnMember = Callable[[tuple[int, int], MemberResult, float], None]


@dataclass
class SweepPlan:
    """Everything needed to train any member of a sweep; plain data, picklable.

    Attributes
    ----------
    template : torch.nn.Module
        The network every member trains.
    X : ndarray or scipy.sparse.csr_matrix
        The rows: a dense float32 ``X`` as it is, any other in float64; a sparse ``X`` in
        canonical CSR, float64 (:func:`plan_from_request`).
    targets, sample_weight : ndarray
        The data, encoded as the engine takes it.
    task : str
    penalty : dict
        The penalty's config (:meth:`netreg.Penalty.get_config`); the grid sets its alpha.
    config : TrainConfig
    seed : int
    alphas : ndarray
        The grid, ascending.
    folds : list of (ndarray, ndarray)
        ``(train_rows, validation_rows)`` per fold; one fold of all the rows and no
        validation rows when the plan has no folds (``cv=None``: alpha by the evidence).
    train_rows : list of ndarray
        Per fold, the rows members train on (its training rows, less the early-stopping rows).
    stop_rows : list of ndarray or None
        Per fold, the early-stopping rows (``None`` without early stopping).
    spec : dict
        What identifies the sweep (estimator, parameters, grid, folds, task): a store belongs to one.
    fingerprint : str
        A digest of the data: a results store belongs to one data set.
    evidence_folds : tuple of int
        The folds whose members get their Laplace evidence (:mod:`netreg.tuning.diagnostics`):
        the first only, to keep a cross-validated sweep fast.
    curvature : {"auto", "exact", "kfac", "ekfac"}
        The curvature of those evidences (:func:`netreg.evidence.log_evidence`).
    halving : dict or None
        ``{"factor": int, "rungs": [epochs]}`` for successive halving
        (:mod:`netreg.tuning.halving`); ``None`` trains every member to the end.
    context : dict
        What makes a member a fitted estimator again (the unfitted ``estimator``, its
        ``classes``, ``y_ndim``, target ``transformer``, the network's ``n_outputs``) and
        ``y`` as given: what a scikit-learn scorer needs (:func:`netreg.tuning.diagnostics.member_estimator`).
    scorer : str, callable or None
        A scikit-learn scorer to run on every member (set by
        :func:`~netreg.tuning.sweep.run_sweep` when its ``scoring`` is not native).
    fold_weights : list of ndarray or None
        With a ``class_weight``: per fold, its members' row weights, the class weights computed from
        its training rows as ``GridSearchCV`` does (:meth:`netreg.estimators.TrainingRequest.fold_weights`);
        ``None``: ``sample_weight`` for every fold.
    """

    template: nn.Module
    X: Any
    targets: np.ndarray
    sample_weight: np.ndarray
    task: str
    penalty: dict[str, Any]
    config: TrainConfig
    seed: int
    alphas: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    train_rows: list[np.ndarray]
    stop_rows: list[np.ndarray] | None
    spec: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    evidence_folds: tuple[int, ...] = (0,)
    curvature: str = "kfac"
    halving: dict[str, Any] | None = None
    context: dict[str, Any] = field(default_factory=dict)
    scorer: Any = None
    fold_weights: list[np.ndarray] | None = None

    def weights(self, fold: int) -> np.ndarray:
        """The row weights of the members of ``fold``."""
        return self.sample_weight if self.fold_weights is None else self.fold_weights[fold]

    @property
    def has_folds(self) -> bool:
        """Whether members are scored on held-out rows (``False`` for ``cv=None``)."""
        return any(len(validation) for _, validation in self.folds)

    @property
    def keys(self) -> list[tuple[int, int]]:
        """All members as ``(alpha_index, fold)``, fold by fold."""
        return [(a, f) for f in range(len(self.folds)) for a in range(len(self.alphas))]


def plan_sweep(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    alphas: int | Sequence[float],
    cv: Any,
    sample_weight: Any = None,
    groups: Any = None,
    require_seed: bool = False,
    search: str = "grid",
    factor: int = 3,
    min_epochs: int | None = None,
) -> SweepPlan:
    """Validate the inputs and lay out the members of a sweep for ``estimator``'s parameters.

    ``estimator`` is a :class:`netreg.NetRegClassifier` or :class:`netreg.NetRegRegressor`
    (its ``alpha`` is ignored; the grid replaces it). What one fit of it trains
    (:meth:`~netreg.NetRegClassifier.training_request`) is used as it is, so every member is
    trained exactly as ``estimator.set_params(alpha=...).fit`` would train it on its fold,
    dropout masks and BatchNorm statistics included. ``cv=None`` lays out no folds: each alpha
    is trained once on all the rows, to be chosen by the evidence. ``search="halving"`` stops
    the worst alphas at rungs (:mod:`netreg.tuning.halving`, with ``factor`` and ``min_epochs``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> plan = plan_sweep(NetRegClassifier((8,)), X, y, alphas=[0.1, 1.0, 10.0], cv=3)
    >>> len(plan.keys), plan.keys[:4]
    (9, [(0, 0), (1, 0), (2, 0), (0, 1)])
    >>> plan_sweep(NetRegClassifier((8,)), X, y, alphas=[0.1, 1.0, 10.0], cv=None).keys
    [(0, 0), (1, 0), (2, 0)]
    """
    estimator = clone(estimator)
    check_seed(estimator, require_seed)
    halving = check_halving(search, factor, min_epochs) if search != "grid" else None
    request = estimator.training_request(X, y, sample_weight)
    return plan_from_request(estimator, request, alphas=alphas, cv=cv, groups=groups, halving=halving)


def plan_from_request(
    estimator: Any,
    request: TrainingRequest,
    *,
    alphas: int | Sequence[float],
    cv: Any,
    groups: Any = None,
    halving: tuple[int, int | None] | None = None,
) -> SweepPlan:
    """The plan of :func:`plan_sweep` from ``estimator``'s request for the data (already validated).

    ``halving`` is ``(factor, min_epochs)`` for successive halving (checked by
    :func:`netreg.tuning.halving.check_halving`), ``None`` for a full grid.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = NetRegClassifier((8,))
    >>> plan_from_request(net, net.training_request(X, y), alphas=[0.1, 1.0], cv=None).folds[0][0].size
    150
    """
    if sp.issparse(request.X):
        # A sparse X stays sparse, as a plain fit keeps it (each batch made dense alone): in
        # canonical CSR (sorted, no duplicates), so that the same matrix has one fingerprint.
        X: Any = sp.csr_matrix(request.X, dtype=np.float64, copy=True)
        X.sum_duplicates()
        X.sort_indices()
    else:
        # A float32 X stays float32 (each batch is cast, and float32 values are float64 values): a
        # float64 copy would be twice its size, held by the driver and read by every worker.
        X = np.ascontiguousarray(request.X, dtype=np.float32 if request.X.dtype == np.float32 else np.float64)
    request = dataclasses.replace(request, X=X)
    # The default grid is computed in float64 (a transient copy), as it always was: same alphas.
    grid_X = X if sp.issparse(X) or not isinstance(alphas, int | np.integer) else np.asarray(X, dtype=np.float64)
    grid = resolve_alphas(alphas, grid_X, **_grid_bound(request))
    del grid_X
    if cv is None:
        folds = [(np.arange(X.shape[0]), np.arange(0))]
    else:
        folds = cv_splits(cv, request.X, request.y, classifier=is_classifier(estimator), groups=groups)
    train_rows = [train for train, _ in folds]
    stop_rows = None
    if request.early_stopping:
        # The split the estimator itself would draw if fitted on the fold alone.
        train_rows, stop_rows = (
            list(rows) for rows in zip(*(request.holdout(train) for train in train_rows), strict=True)
        )
    monitor = "stop" if request.early_stopping else "val"
    config = request.config(max(len(r) for r in train_rows), early_stopping=request.early_stopping, monitor=monitor)
    sample_weight = np.asarray(request.sample_weight, dtype=np.float64)
    # Left out of the spec: what cannot change the members (up to rounding), and, so that older
    # stores resume, the MLP's module parameters and later parameters left at their defaults.
    ignored = ("alpha", "verbose", "device", "n_jobs")
    params = {key: value for key, value in estimator.get_params().items() if key not in ignored}
    if params.get("module") is None:
        params = {key: value for key, value in params.items() if key not in ("module", "module_kwargs")}
    params = {
        key: value for key, value in params.items() if key not in _LATER_DEFAULTS or _LATER_DEFAULTS[key] != value
    }
    targets = request.targets
    spec = {
        "estimator": type(estimator).__name__,
        "params": json.loads(json.dumps(describe(params), default=str)),
        "alphas": grid.tolist(),
        "folds": fingerprint(*(part for fold in folds for part in fold)),
        "n_folds": len(folds),
        "task": request.task,
        "n_outputs": int(targets.shape[1]) if targets.ndim == 2 else 1,
        "seed": request.seed,
    }
    if not isinstance(request.template, MLP):
        # A user's module is named, not described, by its parameters: its shapes identify it too.
        spec["architecture"] = {name: list(t.shape) for name, t in request.template.state_dict().items()}
    fold_weights = None
    if request.class_weight is not None:
        fold_weights = [np.asarray(request.fold_weights(train), dtype=np.float64) for train, _ in folds]
    schedule = None
    if halving is not None:
        if fold_weights is not None:
            raise invalid(
                "search",
                "'grid' with a class_weight: halving trains every fold in one population, which has one weight "
                "per row, but each fold weighs its classes by its own rows",
                "halving",
            )
        if cv is None:
            raise invalid("search", "'grid' without folds (cv=None): halving ranks alphas by validation", "halving")
        factor, min_epochs = halving
        schedule = {"factor": factor, "rungs": halving_rungs(len(grid), config.max_iter, factor, min_epochs)}
        spec["halving"] = schedule  # a store of a full grid is not one of a halving, nor back
    return SweepPlan(
        template=request.template,
        X=X,
        targets=targets,
        sample_weight=sample_weight,
        task=request.task,
        penalty=request.penalty.get_config(),
        config=config,
        seed=request.seed,
        alphas=grid,
        folds=folds,
        train_rows=train_rows,
        stop_rows=stop_rows,
        spec=spec,
        # Hashed as its float64 values, as stores have always hashed it: they are found again.
        fingerprint=fingerprint(X if sp.issparse(X) else HashedAs(X, np.float64), targets, sample_weight),
        # Without folds the evidence chooses alpha: worth the exact curvature where it is cheap.
        curvature="kfac" if cv is not None else "auto",
        halving=schedule,
        context={
            "estimator": clone(estimator),
            "classes": request.classes,
            "y_ndim": request.y_ndim,
            "transformer": request.target_transformer,
            "n_outputs": request.n_outputs,
            "y": request.y,
        },
        fold_weights=fold_weights,
    )


def _grid_bound(request: TrainingRequest) -> dict[str, Any]:
    """What bounds the default grid by its kill point (:func:`netreg.grid.kill_point`): the
    ``targets`` (one-hot classes for multiclass, else the encoded targets), the network's
    ``depth`` (its weight layers) and ``task``; nothing for a user's module or an MLP without
    hidden layers."""
    template = request.template
    if not isinstance(template, MLP) or not template.hidden_layer_sizes:
        return {}
    targets = np.asarray(request.targets)
    if request.task == "multiclass":
        targets = np.eye(len(request.classes))[targets.astype(np.int64)]
    return {"targets": targets, "depth": len(template.hidden_layer_sizes) + 1, "task": request.task}


def check_seed(estimator: Any, require_seed: bool = True) -> None:
    """A sweep with a store must train the same members on a rerun: an int ``random_state``."""
    if require_seed and not isinstance(estimator.random_state, int | np.integer):
        raise invalid(
            "random_state",
            "an int for a sweep with a results store, so that a rerun trains the same members and can resume",
            estimator.random_state,
        )


def train_chunk(
    plan: SweepPlan,
    keys: Sequence[tuple[int, int]],
    *,
    callbacks: Sequence[Callback] = (),
    on_member: OnMember | None = None,
    decide: Callable[[int, dict[tuple[int, int], Mapping[str, Any]]], Mapping[int, str]] | None = None,
) -> None:
    """Train the members ``keys`` (``(alpha_index, fold)`` pairs) as one population.

    ``on_member(key, result, fit_time_s)`` receives each member's engine result as soon
    as the member stops (a diverged member with status ``"diverged"``); ``callbacks``
    receive every event of the engine. A plan with ``halving`` settings stops alphas at its
    rungs (:class:`~netreg.tuning.halving.HalvingCallback`): as ``decide`` says when given
    (the rung decisions of a sweep whose chunks train side by side), else as this chunk's
    members alone rank.
    """
    keys = list(keys)
    started = time.perf_counter()
    if plan.halving is not None:
        callbacks = [*callbacks, HalvingCallback(plan.halving, decide)]
    for callback in callbacks:
        if callable(getattr(callback, "on_chunk_begin", None)):
            callback.on_chunk_begin(keys)

    # The engine takes one weight per row: folds whose class weights differ train apart (their
    # members would not influence each other in one population either).
    groups = (
        [keys]
        if plan.fold_weights is None
        else [[k for k in keys if k[1] == f] for f in dict.fromkeys(f for _, f in keys)]
    )
    for group in groups:

        class _Finished(Callback):
            def on_member_end(self, result: MemberResult, group: list[tuple[int, int]] = group) -> None:
                if on_member is not None:
                    on_member(group[result.index], result, time.perf_counter() - started)

        eval_rows = {"val": [plan.folds[f][1] for _, f in group]} if plan.has_folds else {}
        if plan.stop_rows is not None:
            eval_rows["stop"] = [plan.stop_rows[f] for _, f in group]
        train_population(
            plan.template,
            plan.X,
            plan.targets,
            task=plan.task,
            alphas=[float(plan.alphas[a]) for a, _ in group],
            penalty=penalties.get(plan.penalty),
            config=plan.config,
            seeds=plan.seed,
            train_rows=[plan.train_rows[f] for _, f in group],
            eval_rows=eval_rows,
            sample_weight=plan.weights(group[0][1]),
            callbacks=[_Finished(), *callbacks],
            raise_on_divergence=False,
        )
