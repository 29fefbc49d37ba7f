"""``alpha="auto"``: a plain estimator that chooses its own alpha by the Laplace evidence.

As ``RidgeCV`` chooses alpha without folds, ``NetRegClassifier(alpha="auto")`` (and
``NetRegRegressor``) trains the :data:`N_ALPHAS` alphas of :func:`netreg.grid.default_alphas`
on all its training rows as one population (one seed: every alpha starts from the same
weights and sees the same batches), computes each member's log marginal likelihood at its
own alpha (MacKay's evidence, Laplace approximation; :func:`netreg.evidence.select_alpha`)
and keeps the member with the largest: its alpha is ``alpha_``, the member is the model, with
no folds and no refit. These are the members and the choice of
``NetRegClassifierCV(selection="evidence")``, as one estimator with fixed parameters (for a
pipeline, or a search over the other parameters). The evidence is weaker than
cross-validation on some data sets (``benchmarks/README.md``, bench_quality): it is never the
default.

References: D. J. C. MacKay, "A practical Bayesian framework for backpropagation networks",
Neural Computation 4(3), 1992; A. Immer et al., "Scalable marginal likelihood estimation for
model selection in deep learning", ICML 2021.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from netreg import memory, nets
from netreg.engine import MemberResult, TrainConfig, resolve_device
from netreg.estimators.request import TrainingRequest
from netreg.evidence import evidence_gap, select_alpha
from netreg.exceptions import DivergenceError, invalid
from netreg.grid import default_alphas

__all__ = [
    "AUTO",
    "N_ALPHAS",
    "AutoChoice",
    "check_auto",
    "auto_alphas",
    "member_groups",
    "choose_member",
    "set_auto_attributes",
]

AUTO = "auto"
#: The size of the grid ``alpha="auto"`` tries: that of ``NetRegClassifierCV``'s default grid.
N_ALPHAS = 16
_ATTRIBUTES = ("alpha_", "alphas_", "log_evidence_")


@dataclass(frozen=True)
class AutoChoice:
    """What ``alpha="auto"`` chose: the grid, each alpha's log evidence, the member kept.

    ``log_evidence[k]`` is NaN for a member that diverged (it is never chosen).
    """

    alphas: np.ndarray
    log_evidence: np.ndarray
    best_index: int


def check_auto(estimator: Any, *, incremental: bool) -> None:
    """Refuse, from the parameters alone (before the data are read), what ``alpha="auto"``
    cannot do.

    Raises
    ------
    InvalidParameterError
        With ``partial_fit`` or ``warm_start=True`` (both continue one network at one
        alpha), and where the evidence does not describe the network
        (:func:`netreg.evidence.evidence_gap`: another module, L1 or the elastic net, the
        Poisson loss, ``alpha_scale="batch"``).
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
    gap = evidence_gap(
        estimator.module,  # None: netreg's MLP; a user's module class or builder is not one
        penalty=estimator.penalty,
        task="poisson" if getattr(estimator, "loss", None) == "poisson" else "any",
        alpha_scale=estimator.alpha_scale,
        solver=estimator.solver,
    )
    if gap:
        name = type(estimator).__name__
        raise invalid(
            "alpha",
            f"a number with {gap}: alpha='auto' chooses alpha by the Laplace evidence",
            AUTO,
            f"Choose alpha by cross-validation instead, with {name}CV.",
        )


def check_auto_memory(request: TrainingRequest, config: TrainConfig, n_train: int) -> None:
    """Refuse, before anything is allocated, a grid that would not fit in memory: the
    :data:`N_ALPHAS` members trained at once (one at a time with ``lbfgs``), and a sparse ``X``
    made dense for the grid's scale and the evidence.

    Raises
    ------
    InvalidParameterError
        Naming what is needed and the budget (half the memory available, or half the GPU's
        free memory).
    """
    device = resolve_device(config.device)
    budget = memory.device_budget(device)
    template = request.template
    n_params = sum(p.numel() for p in template.parameters())
    item = 8 if config.dtype == "float64" else 4
    each = nets.member_bytes(n_params, config.batch_size or n_train, nets.values_per_row(template), item)
    at_once = 1 if config.solver == "lbfgs" else N_ALPHAS
    # The sparse rows made dense twice at most (the grid's scale, then the evidence's rows), in float64.
    dense = 2 * 8 * request.X.shape[0] * request.X.shape[1] if sp.issparse(request.X) else 0
    needed = at_once * each + (0 if device.type == "cuda" else dense)
    if needed > budget:
        raise invalid(
            "alpha",
            "a number here, or a smaller network, batch or data set",
            AUTO,
            f"alpha='auto' trains {at_once} member{'s' if at_once > 1 else ''} of about {memory.size_text(each)} "
            f"at once{f' and makes the sparse X dense ({memory.size_text(dense)})' if dense else ''}: about "
            f"{memory.size_text(needed)}, over the {memory.size_text(budget)} netreg may take (half the memory "
            "available).",
        )


def auto_alphas(request: TrainingRequest) -> np.ndarray:
    """The grid ``alpha="auto"`` trains: :data:`N_ALPHAS` alphas scaled to the data's ``X``."""
    X = request.X.toarray() if sp.issparse(request.X) else request.X
    return default_alphas(np.asarray(X, dtype=np.float64), N_ALPHAS)


def member_groups(alphas: np.ndarray, solver: str) -> list[list[float]]:
    """The populations that train the grid: one of all the alphas, or one per alpha for
    ``lbfgs`` (whose line search would couple the members of a population).

    Examples
    --------
    >>> member_groups(np.array([0.1, 1.0]), "adam"), member_groups(np.array([0.1, 1.0]), "lbfgs")
    ([[0.1, 1.0]], [[0.1], [1.0]])
    """
    values = [float(alpha) for alpha in alphas]
    return [[alpha] for alpha in values] if solver == "lbfgs" else [values]


def choose_member(
    request: TrainingRequest, members: Sequence[MemberResult], alphas: np.ndarray, train_rows: np.ndarray
) -> AutoChoice:
    """The member with the largest log evidence on its training rows, among those that did
    not diverge.

    Raises
    ------
    DivergenceError
        When every member diverged (with the first one's account of why).
    """
    sound = [k for k, member in enumerate(members) if member.status != "diverged"]
    if not sound:
        first = members[0]
        raise DivergenceError(
            f"Every one of the {len(alphas)} alphas of alpha='auto' diverged. The first (alpha={alphas[0]:.4g}): "
            f"{first.message}",
            history=list(first.history),
        )
    X = request.X[train_rows]
    selection = select_alpha(
        [members[k].state_dict for k in sound],
        X.toarray() if sp.issparse(X) else X,
        request.targets[train_rows],
        task=request.task,
        alphas=[float(alphas[k]) for k in sound],
        sample_weight=request.sample_weight[train_rows],
        activation=request.template.activation,
    )
    log_evidence = np.full(len(alphas), np.nan)
    log_evidence[sound] = selection.log_evidence
    return AutoChoice(alphas=np.asarray(alphas), log_evidence=log_evidence, best_index=sound[selection.best_index])


def set_auto_attributes(estimator: Any, choice: AutoChoice | None, *, verbose: bool = False) -> None:
    """Set ``alpha_``, ``alphas_`` and ``log_evidence_`` from ``choice``, or remove them
    (a fit at a given alpha leaves none of an earlier ``alpha="auto"`` behind)."""
    if choice is None:
        for name in _ATTRIBUTES:
            if hasattr(estimator, name):
                delattr(estimator, name)
        return
    best = choice.best_index
    estimator.alpha_ = float(choice.alphas[best])
    estimator.alphas_ = choice.alphas.copy()
    estimator.log_evidence_ = choice.log_evidence.copy()
    if verbose:
        sys.stdout.write(
            f"alpha='auto': alpha_={estimator.alpha_:.6g} has the largest log evidence "
            f"({choice.log_evidence[best]:.6g}) of {len(choice.alphas)} alphas from {choice.alphas[0]:.3g} "
            f"to {choice.alphas[-1]:.3g}\n"
        )
