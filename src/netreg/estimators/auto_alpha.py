"""``alpha="auto"``: a plain estimator that learns its alpha from the evidence in one fit.

From :data:`AUTO_START`, alpha moves as the network trains to MacKay's fixed point, per
penalized weight matrix (``auto_alpha="layerwise"``) or one (``"scalar"``): when and how is
:mod:`netreg.evidence.online`'s, the formulas :mod:`netreg.evidence.fixed_point`'s. What the
fit leaves: :func:`set_auto_attributes`. The evidence grid is ``selection="evidence"``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from netreg import memory, nets
from netreg._checks import check_alpha
from netreg.engine import MemberResult, TrainConfig, resolve_device
from netreg.estimators.request import TrainingRequest
from netreg.evidence import evidence_gap
from netreg.evidence.modules import SUPPORTED, curvature_gap
from netreg.evidence.online import MINIBATCH_TOL, EvidenceAlpha, alpha_schedule
from netreg.exceptions import invalid

__all__ = [
    "AUTO",
    "AUTO_START",
    "auto_gap",
    "check_auto",
    "check_auto_memory",
    "check_auto_fit",
    "check_layer_alphas",
    "learn_alpha",
    "set_auto_attributes",
]

AUTO = "auto"
#: The alpha ``alpha="auto"`` starts from: a prior precision of 1 (laplace-torch's default).
AUTO_START = 1.0
_ATTRIBUTES = ("alpha_", "alpha_history_", "log_evidence_", "noise_variance_")


def check_auto(estimator: Any, *, incremental: bool) -> None:
    """Refuse, from the parameters alone, what ``alpha="auto"`` cannot do.

    Raises
    ------
    InvalidParameterError
        With ``partial_fit`` or ``warm_start=True`` (one network at one alpha), and where the
        evidence does not describe the network (:func:`auto_gap`).
    """
    if incremental:
        raise invalid(
            "alpha",
            "a number for partial_fit, which continues one network at one alpha",
            AUTO,
            "Fit with alpha='auto' first and go on with alpha=model.alpha_.",
        )
    if estimator.warm_start:
        raise invalid(
            "alpha",
            "a number with warm_start=True, which continues one network at one alpha",
            AUTO,
            "Set warm_start=False, or go on from a fit with alpha='auto' with alpha=model.alpha_.",
        )
    gap = auto_gap(estimator)
    if gap:
        raise _refusal(estimator, gap)


def check_auto_fit(estimator: Any, request: TrainingRequest, config: TrainConfig, n_train: int) -> None:
    """Refuse, before training, a module whose penalized weights the curvature does not read
    (:func:`netreg.evidence.modules.curvature_gap`), then what :func:`check_auto_memory` refuses.

    Raises
    ------
    InvalidParameterError
        Naming the first such parameter, its layer and what is supported.
    """
    names = [target.name for target in request.penalty.targets(request.template, shared=True)]
    gap = curvature_gap(request.template, names)
    if gap:
        raise _refusal(estimator, f"{gap} (the curvature reads {SUPPORTED})")
    check_auto_memory(request, config, n_train)


def _refusal(estimator: Any, gap: str) -> Exception:
    return invalid(
        "alpha",
        f"a number with {gap}: alpha='auto' chooses alpha by the Laplace evidence",
        AUTO,
        f"Choose alpha by cross-validation instead, with {type(estimator).__name__}CV.",
    )


def auto_gap(estimator: Any) -> str:
    """Why the Laplace evidence cannot learn alpha for ``estimator``'s parameters (``""`` when it
    can): :func:`netreg.evidence.evidence_gap` of its module, penalty, loss and scaling.

    Examples
    --------
    >>> from netreg import NetRegClassifier
    >>> auto_gap(NetRegClassifier(penalty="l1"))
    "penalty='l1' (the evidence reads an L2 penalty as a Gaussian prior)"
    """
    return evidence_gap(
        estimator.module,  # None: netreg's MLP; a user's module class or builder is not one
        penalty=estimator.penalty,
        task="poisson" if getattr(estimator, "loss", None) == "poisson" else "any",
        alpha_scale=estimator.alpha_scale,
        solver=estimator.solver,
        any_module=True,
    )


def check_auto_memory(request: TrainingRequest, config: TrainConfig, n_train: int) -> None:
    """Refuse, before anything is allocated, a fit whose member and float64 copy of the
    training rows (a sparse ``X`` made dense) exceed :func:`netreg.memory.device_budget`.

    Raises
    ------
    InvalidParameterError
        Naming what is needed and the budget.
    """
    device = resolve_device(config.device)
    budget = memory.device_budget(device)
    template = request.template
    n_params = sum(p.numel() for p in template.parameters())
    item = 8 if config.dtype == "float64" else 4
    each = nets.member_bytes(n_params, config.batch_size or n_train, nets.values_per_row(template, request.X), item)
    rows = 8 * n_train * math.prod(request.X.shape[1:])  # the evidence's float64 copy of the training rows (any shape)
    needed = each + (rows if device.type != "cuda" else 0)
    if needed > budget:
        raise invalid(
            "alpha",
            "a number here, or a smaller network, batch or data set",
            AUTO,
            f"alpha='auto' trains a member of about {memory.size_text(each)} and copies the training rows in "
            f"float64 for the evidence ({memory.size_text(rows)}): about {memory.size_text(needed)}, over the "
            f"{memory.size_text(budget)} netreg may take (half the memory available).",
        )


def check_layer_alphas(alpha: Mapping[str, Any], penalized: list[str]) -> dict[str, float]:
    """``alpha`` given as ``{parameter name: alpha}`` (a learned ``alpha_``): one strength for
    each penalized parameter, named exactly.

    Examples
    --------
    >>> check_layer_alphas({"layers.0.weight": 2}, ["layers.0.weight"])
    {'layers.0.weight': 2.0}
    >>> check_layer_alphas({"layers.0.weight": 2.0}, ["layers.0.weight", "layers.1.weight"])
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `alpha` must be a float, 'auto' or a dict giving each penalized parameter (layers.0.weight, layers.1.weight) its alpha. Got alpha={'layers.0.weight': 2.0}.
    """
    if sorted(alpha) != sorted(penalized):
        raise invalid(
            "alpha",
            f"a float, 'auto' or a dict giving each penalized parameter ({', '.join(penalized)}) its alpha",
            alpha,
        )
    return {name: check_alpha(value, f"alpha[{name!r}]") for name, value in alpha.items()}


def learn_alpha(
    request: TrainingRequest,
    X: Any,
    targets: np.ndarray,
    sample_weight: np.ndarray,
    config: TrainConfig,
    train_rows: np.ndarray,
    *,
    layerwise: bool,
) -> EvidenceAlpha:
    """The callback that learns the member's alpha on ``train_rows`` of the fit's rows
    (:meth:`TrainingRequest.fit_data`)."""
    X = X[train_rows]
    full_batch = config.solver == "lbfgs"
    # A run that stops early (on its stalled training objective, or a validation score) can stop
    # n_iter_no_change epochs after its last progress: alpha is re-estimated before that.
    patience = config.n_iter_no_change
    return EvidenceAlpha(
        X.toarray() if sp.issparse(X) else X,
        targets[train_rows],
        task=request.task,
        module=request.template,
        schedule=alpha_schedule(config.max_iter, full_batch=full_batch, patience=patience, dtype=config.dtype),
        sample_weight=sample_weight[train_rows],
        layerwise=layerwise,
        hold=None if full_batch else MINIBATCH_TOL,
    )


def set_auto_attributes(
    estimator: Any,
    learned: EvidenceAlpha | None,
    member: MemberResult | None = None,
    *,
    layerwise: bool = True,
    verbose: bool = False,
) -> None:
    """Set ``alpha_``, ``alpha_history_``, ``log_evidence_`` (and a regressor's
    ``noise_variance_``) from what ``learned`` learned for ``member``, or remove them (a fit at
    a given alpha leaves none of an earlier ``alpha="auto"`` behind)."""
    for name in _ATTRIBUTES:
        if hasattr(estimator, name):
            delattr(estimator, name)
    if learned is None or member is None:
        return
    final = learned.final.get(member.index)
    kept = member.history[member.best_epoch - 1] if member.history else {}
    alphas = kept.get("alphas") or {name: AUTO_START for name in kept.get("weight_norms", {})}
    estimator.alpha_ = dict(alphas) if layerwise else float(next(iter(alphas.values())))
    estimator.alpha_history_ = [_plain_update(update, layerwise) for update in learned.paths.get(member.index, [])]
    estimator.log_evidence_ = float("nan") if final is None else final.log_evidence
    if final is not None and final.noise_variance is not None:
        estimator.noise_variance_ = final.noise_variance
    if verbose:
        shown = (
            ", ".join(f"{name}: {value:.4g}" for name, value in estimator.alpha_.items())
            if layerwise
            else f"{estimator.alpha_:.6g}"
        )
        sys.stdout.write(
            f"alpha='auto': learned alpha_ {shown} in {len(estimator.alpha_history_)} updates "
            f"(log evidence {estimator.log_evidence_:.6g})\n"
        )


def _plain_update(update: dict[str, Any], layerwise: bool) -> dict[str, Any]:
    """One re-estimate as plain data: ``epoch``, ``alpha`` set after it, ``gamma`` (per layer, or
    the total), ``log_evidence`` before it, a regression's ``noise_variance``."""
    plain = {key: value for key, value in update.items() if key != "alphas"}
    plain["alpha"] = dict(update["alphas"]) if layerwise else float(next(iter(update["alphas"].values())))
    if not layerwise:
        plain["gamma"] = float(sum(update["gamma"].values()))
    return plain
