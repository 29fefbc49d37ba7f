"""Successive halving inside the population: stop the worst alphas at rungs, all folds together.

Every alpha starts on all folds. At each rung (an epoch count, growing by ``factor``) the
alphas are ranked by their mean validation score over the folds at that epoch, and all
but the best ``ceil(n / factor)`` are stopped: every member of a losing alpha, whatever its
fold, leaves the population (status ``"stopped"``, the rung in its history). Survivors go
on, untouched: a member that is not stopped ends exactly as in a full sweep, since members
of a population never influence each other (:class:`netreg.engine.Population`). The alpha
is then chosen among the survivors, by the sweep's rule, on their final scores.

The schedule follows scikit-learn's ``HalvingGridSearchCV`` with ``min_resources="exhaust"``
and epochs as the resource: ``1 + floor(log_factor(n_alphas))`` iterations, the first at
``max_iter // factor ** (iterations - 1)`` epochs (:func:`halving_rungs`).

References
----------
Jamieson, K. & Talwalkar, A. (2016). Non-stochastic best arm identification and
hyperparameter optimization. AISTATS.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netreg._checks import check_int
from netreg.engine import MemberResult, Population
from netreg.exceptions import invalid
from netreg.tuning.callbacks import SweepCallback
from netreg.tuning.records import MemberRecord
from netreg.tuning.scoring import score

__all__ = ["halving_rungs", "check_halving", "prior_scores", "with_halving_state", "HalvingCallback", "HALVING_REASON"]

#: How a member stopped by a rung says so (its message and history's ``stop_reason``).
HALVING_REASON = "successive halving: alpha {alpha:g} ranked {rank} of {n} at rung {rung} (epoch {epoch})"


def halving_rungs(n_alphas: int, max_iter: int, factor: int = 3, min_epochs: int | None = None) -> list[int]:
    """The epochs at which the alphas are ranked and the worst stopped.

    ``min_epochs`` is the first rung (default: scikit-learn's ``"exhaust"``, so that the
    last iteration runs close to ``max_iter``); each next rung is ``factor`` times the one
    before, while it comes before ``max_iter`` and more than ``factor`` alphas are left to
    rank. The last few alphas train to the end, and the sweep's rule (``min``, ``1se``)
    chooses among them on their full cross-validated scores.

    Examples
    --------
    >>> halving_rungs(16, 30)  # 16 alphas -> 6 after epoch 3 -> 2 after epoch 9 -> trained to 30
    [3, 9]
    >>> halving_rungs(16, 200, factor=2, min_epochs=5)  # 16 -> 8 -> 4 -> 2 trained to 200
    [5, 10, 20]
    """
    factor = check_int(factor, "factor", low=2)
    n_iterations = 1 + int(math.floor(math.log(n_alphas, factor) + 1e-12)) if n_alphas > 1 else 1
    if min_epochs is None:
        min_epochs = max(1, max_iter // factor ** (n_iterations - 1))
    min_epochs = check_int(min_epochs, "min_epochs", low=1)
    rungs, alive, epoch = [], n_alphas, min_epochs
    while epoch < max_iter and alive > factor:
        rungs.append(epoch)
        alive = math.ceil(alive / factor)
        epoch *= factor
    return rungs


class HalvingCallback(SweepCallback):
    """Successive halving as an engine callback: rank the alphas at each rung, stop the worst.

    Its chunk's members, as ``(alpha_index, fold)`` in member order, come from
    :meth:`on_chunk_begin`; :func:`netreg.tuning.plan.train_chunk` adds it to every chunk
    of a plan with ``halving`` settings.

    Parameters
    ----------
    halving : dict
        The plan's settings: ``factor``, ``rungs`` (:func:`halving_rungs`), ``scoring``,
        ``n_outputs``, ``alphas``, and what an earlier run of the sweep left in its store:
        ``stopped`` (``{alpha_index: epoch}``, the alphas stopped at a rung) and ``prior``
        (``{epoch: {alpha_index: [scores]}}``, the stored members' scores at each rung), so
        that a resumed sweep takes the decisions of an uninterrupted one.
    """

    def __init__(self, halving: Mapping[str, Any]) -> None:
        self.rungs = list(halving["rungs"])
        self.factor = int(halving["factor"])
        self.scoring = halving["scoring"]
        self.n_outputs = int(halving["n_outputs"])
        self.alphas = list(halving["alphas"])
        self.prior = {int(epoch): dict(scores) for epoch, scores in halving.get("prior", {}).items()}
        self.stopped_at = {int(a): int(epoch) for a, epoch in dict(halving.get("stopped", {})).items()}
        self.keys: list[tuple[int, int]] = []
        self.finished: dict[tuple[int, int], MemberResult] = {}

    def on_chunk_begin(self, keys: Sequence[tuple[int, int]]) -> None:
        self.keys = list(keys)

    def on_member_end(self, result: MemberResult) -> None:
        self.finished[self.keys[result.index]] = result

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]], *, population: Population) -> None:
        if epoch not in self.rungs:
            return
        rung = self.rungs.index(epoch)
        # In the running: every alpha not stopped at an earlier rung, those a resumed sweep
        # finds stopped at this one included (they lose again: same scores, same ranking).
        alive = {a for a in range(len(self.alphas)) if self.stopped_at.get(a, epoch) >= epoch}
        scores = self._scores_at(epoch, records)
        ranked = sorted(alive, key=lambda a: (-_mean(scores.get(a, [])), -a))  # ties: larger alpha first
        keep = math.ceil(len(ranked) / self.factor)
        for rank, alpha_index in enumerate(ranked[keep:], start=keep + 1):
            members = [k for k in population.running if self.keys[k][0] == alpha_index]
            if members:
                reason = HALVING_REASON.format(
                    alpha=self.alphas[alpha_index], rank=rank, n=len(ranked), rung=rung, epoch=epoch
                )
                population.stop(members, reason=reason)
            self.stopped_at.setdefault(alpha_index, epoch)

    def _scores_at(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> dict[int, list[float]]:
        """Each alive alpha's validation scores at ``epoch``, one per fold."""
        scores = {a: list(values) for a, values in self.prior.get(epoch, {}).items()}
        for member, record in records.items():
            scores.setdefault(self.keys[member][0], []).append(score(self.scoring, record, "val", self.n_outputs))
        for (alpha_index, _), result in self.finished.items():
            if result.n_iter < epoch:  # ended before the rung: its final scores stand for it
                scores.setdefault(alpha_index, []).append(score(self.scoring, result.metrics, "val", self.n_outputs))
        return scores


def prior_scores(
    records: Sequence[MemberRecord], rungs: Sequence[int], scoring: str, n_outputs: int
) -> dict[int, dict[int, list[float]]]:
    """``{epoch: {alpha_index: [scores]}}``: what stored members scored at each rung.

    A member that ended before a rung counts with its final scores, as in a live run.

    Examples
    --------
    >>> record = MemberRecord(0, 0, 0.1, 0, "converged", 2, 2, {"val_score": 0.9},
    ...                       [{"val_score": 0.5}, {"val_score": 0.8}], "", 0.0)
    >>> prior_scores([record], [1, 3], "accuracy", 1)
    {1: {0: [0.5]}, 3: {0: [0.9]}}
    """
    prior: dict[int, dict[int, list[float]]] = {}
    for epoch in rungs:
        for member in records:
            values = member.history[epoch - 1] if len(member.history) >= epoch else member.metrics
            prior.setdefault(epoch, {}).setdefault(member.alpha_index, []).append(
                score(scoring, values, "val", n_outputs)
            )
    return prior


def with_halving_state(plan: Any, stored: Sequence[MemberRecord], scoring: str) -> Any:
    """``plan`` with what its :class:`HalvingCallback` needs at run time: the scoring, and what
    the members already in the store scored and which alphas they show stopped."""
    halving = dict(plan.halving)
    rungs = halving["rungs"]
    halving.update(
        scoring=scoring,
        n_outputs=int(plan.spec.get("n_outputs", 1)),
        alphas=[float(a) for a in plan.alphas],
        prior=prior_scores(stored, rungs, scoring, int(plan.spec.get("n_outputs", 1))),
        stopped={m.alpha_index: m.n_iter for m in stored if m.status == "stopped"},
    )
    return dataclasses.replace(plan, halving=halving)


def check_halving(search: str, factor: Any, min_epochs: Any) -> tuple[int, int | None]:
    """The halving settings, checked; returned even when ``search`` is not ``"halving"``.

    Examples
    --------
    >>> check_halving("halving", 3, None)
    (3, None)
    """
    factor = check_int(factor, "factor", low=2)
    if min_epochs is not None:
        min_epochs = check_int(min_epochs, "min_epochs", low=1)
    if search not in ("grid", "halving"):
        raise invalid("search", "'grid' or 'halving'", search)
    return factor, min_epochs


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    # An alpha with a diverged fold (NaN) ranks below every alpha scored on all its folds.
    return float(np.mean(values)) if finite and len(finite) == len(values) else -math.inf
