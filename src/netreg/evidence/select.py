"""Choosing alpha by the evidence: each member, the MAP for its own alpha's prior only, judged at
that alpha; the chosen member, trained on all the rows, is the model (no folds, no refit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from netreg.evidence.curvature import EXACT_MAX_PARAMS
from netreg.evidence.laplace import EvidenceResult, population_evidence
from netreg.evidence.modules import SUPPORTED, curvature_gap
from netreg.exceptions import invalid
from netreg.losses import Task
from netreg.nets import MLP
from netreg.selection import penalized_parameters

__all__ = ["AlphaSelection", "select_alpha", "evidence_gap"]


@dataclass(frozen=True)
class AlphaSelection:
    """The evidence of each alpha and the one it chooses.

    Attributes
    ----------
    alphas : ndarray of shape (K,)
    log_evidence : ndarray of shape (K,)
    gamma : ndarray of shape (K,)
        Effective number of parameters per member.
    best_index : int
        The member with the largest log evidence (the first of ties).
    results : tuple of EvidenceResult
        Everything computed per member.
    """

    alphas: np.ndarray
    log_evidence: np.ndarray
    gamma: np.ndarray
    best_index: int
    results: tuple[EvidenceResult, ...]

    @property
    def best_alpha(self) -> float:
        return float(self.alphas[self.best_index])

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per member (:meth:`EvidenceResult.to_dict`), for a table or a store."""
        return [result.to_dict() for result in self.results]


def select_alpha(
    members: Any,
    X: Any,
    y: Any,
    *,
    task: str | Task,
    alphas: Any,
    sample_weight: Any = None,
    activation: str | None = None,
    curvature: str = "auto",
    exact_max_params: int = EXACT_MAX_PARAMS,
) -> AlphaSelection:
    """The alpha whose member has the largest Laplace evidence on ``(X, y)``.

    Parameters
    ----------
    members : stacked state dict, sequence of MLPs or state dicts
        K members, ``members[k]`` trained at ``alphas[k]`` on all of ``(X, y)``.
    X, y, task, sample_weight, activation, curvature, exact_max_params
        As in :func:`netreg.evidence.log_evidence`.
    alphas : sequence of float
        One per member. A member at ``alpha=0`` (a flat prior) has evidence ``-inf`` and is
        never chosen.

    Raises
    ------
    InvalidParameterError
        When no alpha is > 0, besides the errors of :func:`netreg.evidence.log_evidence`.

    Examples
    --------
    >>> import numpy as np
    >>> import netreg
    >>> from netreg.evidence import select_alpha
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> y = X @ [1.0, -1.0, 0.5, 0.0] + 0.5 * rng.normal(size=60)
    >>> grid = [0.01, 1.0, 100.0, 10000.0]
    >>> fits = [netreg.NetRegRegressor((), solver="lbfgs", dtype="float64", alpha=a).fit(X, y) for a in grid]
    >>> choice = select_alpha([f.module_ for f in fits], X, y, task="regression", alphas=grid)
    >>> choice.best_alpha
    1.0
    """
    results = population_evidence(
        members,
        X,
        y,
        task=task,
        alphas=alphas,
        sample_weight=sample_weight,
        activation=activation,
        curvature=curvature,
        exact_max_params=exact_max_params,
    )
    if not any(r.alpha > 0 for r in results):
        raise invalid(
            "alphas",
            "a grid with at least one alpha > 0",
            [r.alpha for r in results],
            "The evidence of alpha=0 (a flat prior) is -inf.",
        )
    log_z = np.array([r.log_evidence for r in results])
    # A diverged member (non-finite weights) has a NaN evidence: never the choice.
    best = int(np.argmax(np.where(np.isnan(log_z), -np.inf, log_z)))
    return AlphaSelection(
        alphas=np.array([r.alpha for r in results]),
        log_evidence=log_z,
        gamma=np.array([r.gamma for r in results]),
        best_index=best,
        results=tuple(results),
    )


def evidence_gap(
    module: Any,
    *,
    penalty: str,
    task: str,
    alpha_scale: str = "n_samples",
    solver: str = "adam",
    any_module: bool = False,
) -> str:
    """Why the Laplace evidence does not describe members of this kind (``""`` when it does).

    The evidence reads the L2 penalty ``alpha / (2 m)`` of the whole training set as a Gaussian
    prior, a Gaussian or Bernoulli likelihood, and netreg's MLP (``module=None`` stands for it);
    with ``any_module`` (MacKay's fixed point) also a module whose penalized weights
    :func:`~netreg.evidence.modules.curvature_gap` reads. A module class or builder is not judged.

    Examples
    --------
    >>> from netreg.nets import MLP
    >>> evidence_gap(MLP(3, (4,), 1), penalty="l2", task="regression")
    ''
    >>> evidence_gap(MLP(3, (4,), 1), penalty="l1", task="regression")
    "penalty='l1' (the evidence reads an L2 penalty as a Gaussian prior)"
    >>> from torch import nn
    >>> evidence_gap(nn.Conv1d(1, 2, 3), penalty="l2", task="regression", any_module=True)
    "the penalized weight 'weight' of a Conv1d (the curvature reads Linear and Conv2d weights (groups=1, zero padding), with biases and norm layers unpenalized)"
    """
    if module is not None and not isinstance(module, MLP) and not any_module:
        return "a module other than netreg's MLP (the evidence reads its layers and activation)"
    if any_module and isinstance(module, nn.Module):
        gap = curvature_gap(module, [p.name for p in penalized_parameters(module)])
        if gap:
            return f"{gap} (the curvature reads {SUPPORTED})"
    if penalty != "l2":
        return f"penalty={penalty!r} (the evidence reads an L2 penalty as a Gaussian prior)"
    if task == "poisson":
        return "the Poisson loss (the evidence reads a Gaussian or Bernoulli likelihood)"
    if alpha_scale == "batch" and solver != "lbfgs":
        return "alpha_scale='batch' (the evidence reads the penalty alpha / (2 m) of the whole training set)"
    return ""
