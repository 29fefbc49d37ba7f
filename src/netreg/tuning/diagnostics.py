"""What a trained member's curvature says about it: its evidence, effective parameters, units off.

For each member a sweep keeps, beside its scores, the hidden units its penalty switched off
(always: it costs nothing) and, where :func:`gets_evidence` says so (the plan's evidence folds),
its Laplace evidence and MacKay's effective number of parameters on its own training rows
(:func:`netreg.evidence.log_evidence`); in a cross-validated sweep, a diagnostic whose
Kronecker-factored curvature reads a sample of the fold's rows (:func:`fold_curvature_rows`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.metrics import get_scorer

from netreg import memory
from netreg.engine import MemberResult, member_module
from netreg.engine.threads import limit_threads
from netreg.estimators import FittedState, set_fitted_state
from netreg.evidence import EXACT_MAX_PARAMS, log_evidence, units_off
from netreg.evidence import evidence_gap as gap
from netreg.nets import MLP
from netreg.tuning.plan import SweepPlan
from netreg.tuning.records import MemberRecord

__all__ = [
    "evidence_gap",
    "evidence_bytes",
    "fold_curvature_rows",
    "gets_evidence",
    "SAMPLE_BIAS",
    "fold_rows",
    "member_diagnostics",
    "member_record",
    "member_scores",
    "member_estimator",
    "assemble_record",
    "owing_record",
    "stored_evidence",
]


def evidence_gap(plan: SweepPlan) -> str:
    """Why the Laplace evidence does not describe the plan's members (``""`` when it does).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from netreg import NetRegRegressor
    >>> from netreg.tuning import plan_sweep
    >>> X, y = load_diabetes(return_X_y=True)
    >>> evidence_gap(plan_sweep(NetRegRegressor((4,), loss="poisson"), X, y, alphas=[0.1, 1.0], cv=2))
    'the Poisson loss (the evidence reads a Gaussian or Bernoulli likelihood)'
    """
    return gap(
        plan.template,
        penalty=str(plan.penalty.get("name")),
        task=plan.task,
        alpha_scale=plan.config.alpha_scale,
        solver=plan.config.solver,
    )


#: Copies of the first layer's ``(d, d)`` Kronecker input factor the evidence holds at once:
#: the factor, its eigenvectors and the eigensolver's workspace.
FACTOR_COPIES = 3


def evidence_bytes(plan: SweepPlan, n_rows: int) -> int:
    """Memory of the Laplace evidence of one member trained on ``n_rows`` of the plan's rows: the
    targets and weights checked and gathered (three float64 numbers a row of ``X``), the first
    layer's input factor and, for a sparse ``X``, its ``n_rows`` made dense in float64 (twice: as
    read and as a tensor). A dense ``X`` is read in place, a chunk of rows at a time.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep
    >>> X, y = load_iris(return_X_y=True)
    >>> evidence_bytes(plan_sweep(NetRegClassifier((4,)), X, y, alphas=[0.1, 1.0], cv=2), 75)  # 8 * (3*150 + 3*4*4)
    3984
    """
    n_features = math.prod(plan.X.shape[1:])
    dense = 2 * n_rows * n_features if sp.issparse(plan.X) else 0
    return 8 * (dense + 3 * plan.X.shape[0] + FACTOR_COPIES * n_features**2)


def member_diagnostics(plan: SweepPlan, key: tuple[int, int], result: MemberResult) -> dict[str, Any]:
    """The diagnostics of the member at ``key`` (``(alpha_index, fold)``), as plain data.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep, train_chunk
    >>> X, y = load_iris(return_X_y=True)
    >>> plan = plan_sweep(NetRegClassifier((4,), max_iter=5, random_state=0), X, y, alphas=[0.1, 10.0], cv=2)
    >>> found = []
    >>> train_chunk(plan, [(0, 0), (1, 1)], on_member=lambda key, r, s: found.append(member_diagnostics(plan, key, r)))
    >>> sorted(found[0]), sorted(found[1])
    (['alpha', 'alpha_fixed_point', 'curvature', 'gamma', 'layer_gamma', 'log_det', 'log_evidence', 'log_likelihood', 'n_params', 'noise_variance', 'units_off', 'weight_sq_norm'], ['units_off'])
    """
    if not isinstance(plan.template, MLP):
        return {}
    if not gets_evidence(plan, key, result):
        return _switched_off(result)
    alpha_index, fold = key
    rows = plan.train_rows[fold]
    if sp.issparse(plan.X):  # made dense: the fold's rows alone
        X, y, weight, rows = fold_rows(plan.X, rows).toarray(), plan.targets[rows], plan.weights(fold)[rows], None
    else:  # the fold's rows read in place, a chunk at a time (no copy of a fold of X per member)
        X, y, weight = plan.X, plan.targets, plan.weights(fold)
    evidence = log_evidence(
        result.state_dict,
        X,
        y,
        task=plan.task,
        alpha=float(plan.alphas[alpha_index]),
        sample_weight=weight,
        activation=plan.template.activation,
        curvature=plan.curvature,
        curvature_rows=fold_curvature_rows(plan, fold),
        rows=rows,
    )
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in evidence.to_dict().items()}


#: The bias a sample of the rows may add to the evidence's ``log det(H + alpha I)``, in nats
#: per penalized weight (:func:`fold_curvature_rows`).
SAMPLE_BIAS = 0.01


def fold_curvature_rows(plan: SweepPlan, fold: int) -> np.ndarray | None:
    """The rows (positions in the fold's training rows, sorted) whose curvature estimates the
    evidence's of the fold's members; ``None``: all of them (always without folds, where the
    evidence chooses alpha, and with the exact curvature).

    A uniform sample of S rows, scaled to all of them, estimates KFAC's factors without bias, but
    their log-determinants come out low by about ``p^2 / (2 S)`` for a ``p x p`` factor, so
    ``log det(H + alpha I)`` by about ``sum_l P_l (in_l + out_l) / (2 S)`` (layer l: ``in_l``
    inputs, ``out_l`` outputs, ``P_l`` weights). ``S = sum_l P_l (in_l + out_l) / (2 SAMPLE_BIAS
    P)`` keeps that under :data:`SAMPLE_BIAS` nats per weight (``benchmarks/README.md``). The
    sample is the same for every alpha of the fold (drawn from the plan's seed and the fold).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep
    >>> X, y = make_classification(n_samples=3000, n_features=5, random_state=0)
    >>> plan = plan_sweep(NetRegClassifier((4,), random_state=0), X, y, alphas=[0.1, 1.0], cv=3)
    >>> len(plan.train_rows[0]), len(fold_curvature_rows(plan, 0))  # S = (20 * 9 + 4 * 5) / (2 * 0.01 * 24)
    (2000, 417)
    >>> fold_curvature_rows(plan_sweep(NetRegClassifier((4,)), X, y, alphas=[0.1, 1.0], cv=None), 0) is None
    True
    """
    n_rows = len(plan.train_rows[fold])
    if not plan.has_folds or not isinstance(plan.template, MLP):
        return None
    layers = [(w.shape[1], w.shape[0]) for w in (layer.weight for layer in plan.template.layers)]
    n_weights = sum(n_in * n_out for n_in, n_out in layers)
    if plan.curvature == "exact" or (plan.curvature == "auto" and n_weights <= EXACT_MAX_PARAMS):
        # The bound is KFAC's; the exact curvature's log det from a sample is low by far more
        # (0.08-0.25 nats per weight at this S on a 630-weight network), so it reads every row.
        return None
    size = math.ceil(sum(n_in * n_out * (n_in + n_out) for n_in, n_out in layers) / (2 * SAMPLE_BIAS * n_weights))
    if size >= n_rows:
        return None
    return np.sort(np.random.default_rng([plan.seed, fold]).choice(n_rows, size, replace=False))


def gets_evidence(plan: SweepPlan, key: tuple[int, int], result: MemberResult) -> bool:
    """Whether :func:`member_diagnostics` computes the member's Laplace evidence (the costly part
    of its diagnostics), not only its units switched off: an MLP's member of the plan's evidence
    folds, whose penalty and loss the evidence describes (:func:`evidence_gap`), at its minimum
    (not diverged, nor stopped at a rung by halving), within memory (:func:`evidence_bytes`).

    Examples
    --------
    >>> from netreg import NetRegRegressor
    >>> from netreg.tuning import plan_sweep, train_chunk
    >>> X, y = np.random.default_rng(0).normal(size=(40, 3)), np.linspace(-1.0, 1.0, 40)
    >>> plan = plan_sweep(NetRegRegressor((3,), max_iter=2, random_state=0), X, y, alphas=[0.1, 1.0], cv=2)
    >>> found = {}
    >>> train_chunk(plan, plan.keys, on_member=lambda key, r, s: found.update({key: gets_evidence(plan, key, r)}))
    >>> sorted(key for key, yes in found.items() if yes)  # the first fold's members
    [(0, 0), (1, 0)]
    """
    fold = key[1]
    if result.status in ("diverged", "stopped") or fold not in plan.evidence_folds or evidence_gap(plan):
        return False  # evidence_gap names a module other than the MLP too
    return evidence_bytes(plan, len(plan.train_rows[fold])) <= memory.memory_budget()


def fold_rows(X: Any, rows: np.ndarray) -> Any:
    """``X[rows]``, read in place (a view, not a copy) where ``rows`` are one run of consecutive
    rows, as the training rows of the first and of the last fold of an unshuffled ``KFold`` are.

    Examples
    --------
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> np.shares_memory(fold_rows(X, np.arange(1, 4)), X), np.shares_memory(fold_rows(X, np.array([0, 2])), X)
    (True, False)
    >>> fold_rows(X, np.arange(1, 4)).tolist() == X[np.arange(1, 4)].tolist()
    True
    """
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and (len(rows) == 1 or bool((np.diff(rows) == 1).all())):
        return X[int(rows[0]) : int(rows[-1]) + 1]
    return X[rows]


def member_record(plan: SweepPlan, key: tuple[int, int], result: MemberResult, fit_time_s: float) -> MemberRecord:
    """The record a sweep keeps of a finished member: its result, scorer's scores and diagnostics."""
    return assemble_record(
        key, result, fit_time_s, member_diagnostics(plan, key, result), member_scores(plan, key, result)
    )


def owing_record(
    key: tuple[int, int], result: MemberResult, fit_time_s: float, scores: dict[str, float]
) -> MemberRecord:
    """The record of a member whose evidence (:func:`gets_evidence`) is computed after it is stored:
    its units switched off, marked as owing the evidence (:attr:`MemberRecord.evidence_pending`).

    Examples
    --------
    >>> from netreg.engine import MemberResult
    >>> from netreg.nets import MLP
    >>> net = MLP(2, (3,), 1)
    >>> result = MemberResult(0, 0.1, 0, "converged", 1, 1, net.state_dict(), [{"epoch": 1}])
    >>> owing_record((0, 0), result, 0.5, {}).evidence
    {'units_off': [0], 'pending': True}
    """
    return assemble_record(key, result, fit_time_s, _switched_off(result), scores).owing_evidence()


def _switched_off(result: MemberResult) -> dict[str, Any]:
    """A member's diagnostics without the evidence: its hidden units switched off, per layer."""
    return {"units_off": units_off(result.state_dict)[0].tolist()}


def stored_evidence(plan: SweepPlan, record: MemberRecord, state_dict: dict[str, Any]) -> MemberRecord:
    """The record of a member stored owing its evidence, with it: :func:`member_diagnostics` of its
    stored weights, on one thread as a worker process computes it (the same numbers).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep, train_chunk
    >>> X, y = load_iris(return_X_y=True)
    >>> plan = plan_sweep(NetRegClassifier((4,), max_iter=5, random_state=0), X, y, alphas=[0.1, 10.0], cv=2)
    >>> found = {}
    >>> train_chunk(plan, [(0, 0)], on_member=lambda key, r, s: found.update(result=r, record=member_record(plan, key, r, s)))
    >>> owed = owing_record((0, 0), found["result"], 0.0, {})
    >>> stored_evidence(plan, owed, found["result"].state_dict).evidence == found["record"].evidence
    True
    """
    with limit_threads(1):
        diagnostics = member_diagnostics(plan, record.key, record.as_result(state_dict))
    return dataclasses.replace(record, evidence=diagnostics)


def assemble_record(
    key: tuple[int, int], result: MemberResult, fit_time_s: float, evidence: dict[str, Any], scores: dict[str, float]
) -> MemberRecord:
    """The record of a member from its parts (a Ray task computes them where it trains)."""
    record = MemberRecord.from_result(key, result, fit_time_s, evidence)
    return dataclasses.replace(record, metrics={**record.metrics, **scores}) if scores else record


def member_scores(plan: SweepPlan, key: tuple[int, int], result: MemberResult) -> dict[str, float]:
    """``{"val_scorer": ..., "train_scorer": ...}``: the plan's scikit-learn scorer on the member's
    validation and training rows, called as ``GridSearchCV`` calls it (``scorer(estimator, X, y)``);
    empty for a native scoring or a diverged member."""
    if plan.scorer is None or result.status == "diverged":
        return {}
    scorer = get_scorer(plan.scorer)
    estimator = member_estimator(plan, result)
    train, validation = plan.train_rows[key[1]], plan.folds[key[1]][1]
    scores = {"train_scorer": float(scorer(estimator, fold_rows(plan.X, train), plan.context["y"][train]))}
    if len(validation):
        scores["val_scorer"] = float(scorer(estimator, fold_rows(plan.X, validation), plan.context["y"][validation]))
    return scores


def member_estimator(plan: SweepPlan, result: MemberResult) -> Any:
    """The member as a fitted estimator of the sweep's kind, as if fitted alone at its alpha.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep, train_chunk
    >>> X, y = load_iris(return_X_y=True)
    >>> plan = plan_sweep(NetRegClassifier((4,), max_iter=5, random_state=0), X, y, alphas=[0.1, 10.0], cv=2)
    >>> found = []
    >>> train_chunk(plan, [(0, 0)], on_member=lambda key, r, s: found.append(member_estimator(plan, r)))
    >>> found[0].alpha, found[0].predict(X[:3]).shape
    (0.1, (3,))
    """
    context = plan.context
    estimator = clone(context["estimator"]).set_params(alpha=result.alpha)
    state = FittedState(
        module=member_module(plan.template, result.state_dict),
        task=plan.task,
        classes=context["classes"],
        y_ndim=context["y_ndim"],
        n_features=plan.X.shape[1],
        input_shape=plan.X.shape[1:],
        n_outputs=context.get("n_outputs"),
        feature_names=None,
        history=list(result.history),
        status=result.status,
        target_transformer=context["transformer"],
    )
    set_fitted_state(estimator, state)
    return estimator
