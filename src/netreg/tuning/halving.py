"""Successive halving inside the population: at each rung the worst alphas stop, every fold of them.

Rungs and their schedule (scikit-learn's ``HalvingGridSearchCV``, epochs as the resource):
:func:`halving_rungs`; the ranking by validation loss and who goes on: :func:`rung_survivors`.
A survivor ends exactly as in a full sweep (members never influence each other,
:class:`netreg.engine.Population`); the sweep's rule then chooses among the survivors. The
decisions are a :class:`RungJudge`'s, in the population's process (:class:`HalvingCallback`)
or in the driver of :class:`netreg.tuning.backends.LocalBackend`'s workers.

References
----------
Jamieson, K. & Talwalkar, A. (2016). Non-stochastic best arm identification and
hyperparameter optimization. AISTATS.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np

from netreg._checks import COUNT, Range
from netreg.engine import MemberResult, Population
from netreg.exceptions import invalid
from netreg.tuning.records import MemberRecord
from netreg.tuning.sweep_hooks import SweepCallback

__all__ = [
    "FACTOR",
    "halving_rungs",
    "rung_survivors",
    "rung_score",
    "check_halving",
    "prior_scores",
    "with_halving_state",
    "halving_chunks",
    "RungJudge",
    "HalvingCallback",
    "HALVING_REASON",
]

#: How many times fewer alphas each rung keeps: an int >= 2.
FACTOR = Range(Integral, 2)
#: How a member stopped by a rung says so (its message and history's ``stop_reason``).
HALVING_REASON = "successive halving: alpha {alpha:g} ranked {rank} of {n} at rung {rung} (epoch {epoch})"


def halving_rungs(n_alphas: int, max_iter: int, factor: int = 3, min_epochs: int | None = None) -> list[int]:
    """The epochs at which the alphas are ranked and the worst stopped.

    ``min_epochs`` is the first rung (default: scikit-learn's ``"exhaust"``,
    ``max(1, max_iter // factor ** floor(log_factor(n_alphas)))``); each next rung is ``factor`` times
    the one before, while it comes before ``max_iter`` and more than ``factor`` alphas are left.

    Examples
    --------
    >>> halving_rungs(16, 30)  # 16 alphas -> 6 after epoch 3 -> 2 after epoch 9 -> trained to 30
    [3, 9]
    >>> halving_rungs(16, 200, factor=2, min_epochs=5)  # 16 -> 8 -> 4 -> 2 trained to 200
    [5, 10, 20]
    """
    factor = FACTOR.check(factor, "factor")
    n_iterations = 1 + int(math.floor(math.log(n_alphas, factor) + 1e-12)) if n_alphas > 1 else 1
    if min_epochs is None:
        min_epochs = max(1, max_iter // factor ** (n_iterations - 1))
    min_epochs = COUNT.check(min_epochs, "min_epochs")
    rungs, alive, epoch = [], n_alphas, min_epochs
    while epoch < max_iter and alive > factor:
        rungs.append(epoch)
        alive = math.ceil(alive / factor)
        epoch *= factor
    return rungs


def rung_score(metrics: Mapping[str, Any]) -> float:
    """What a rung ranks a member by: its validation loss, negated (greater is better).

    Examples
    --------
    >>> rung_score({"val_loss": 0.25, "val_score": 0.9})
    -0.25
    """
    return -float(metrics.get("val_loss", math.nan))


def rung_survivors(scores: Mapping[int, Sequence[float]], factor: int) -> tuple[list[int], int]:
    """The alphas of a rung ranked best first, and how many of them go on.

    ``scores``: each alpha's scores at the rung, one per fold, greater is better. The best
    ``ceil(n / factor)`` go on, and so does every alpha whose mean is within one standard error
    of the best's (its folds' std, ddof 0 as ``"1se"``, over sqrt(folds)). Ties go to the larger
    alpha index; an alpha with a fold not finite ranks last and never goes on by noise.

    Examples
    --------
    >>> scores = {0: [-1.0, -1.2], 1: [-0.50, -0.70], 2: [-0.62, -0.64], 3: [-0.9, -0.9]}
    >>> rung_survivors(scores, 4)  # ceil(4 / 4) = 1, and alpha 2 (-0.63) is within 0.1 / sqrt(2) of -0.60
    ([1, 2, 3, 0], 2)
    >>> rung_survivors(scores, 2)
    ([1, 2, 3, 0], 2)
    """
    means = {a: _mean(values) for a, values in scores.items()}
    ranked = sorted(scores, key=lambda a: (-means[a], -a))
    if not ranked:
        return [], 0
    best = ranked[0]
    keep = math.ceil(len(ranked) / factor)
    if np.isfinite(means[best]):
        noise = float(np.std(scores[best])) / math.sqrt(len(scores[best]))
        keep = max(keep, sum(means[a] >= means[best] - noise for a in ranked))
    return ranked, keep


class RungJudge:
    """The rung decisions of a halving sweep: which alphas each rung stops.

    Parameters
    ----------
    halving : dict
        ``factor``, ``rungs`` (:func:`halving_rungs`), ``alphas``, and from an earlier run's
        store (:func:`with_halving_state`, so that a resumed sweep decides as an uninterrupted
        one) ``stopped`` (``{alpha_index: epoch}``) and ``prior`` (:func:`prior_scores`).

    Examples
    --------
    >>> judge = RungJudge({"factor": 2, "rungs": [1], "alphas": [0.1, 1.0, 10.0, 100.0]})
    >>> losses = {(0, 0): 0.9, (1, 0): 0.5, (2, 0): 0.6, (3, 0): 0.8}
    >>> sorted(judge.decide(1, {key: {"val_loss": v} for key, v in losses.items()}))
    [0, 3]
    """

    def __init__(self, halving: Mapping[str, Any]) -> None:
        self.rungs = list(halving["rungs"])
        self.factor = int(halving["factor"])
        self.alphas = list(halving["alphas"])
        self.prior = {int(epoch): dict(scores) for epoch, scores in halving.get("prior", {}).items()}
        self.stopped_at = {int(a): int(epoch) for a, epoch in dict(halving.get("stopped", {})).items()}
        self.finished: dict[tuple[int, int], MemberResult] = {}

    def member_ended(self, key: tuple[int, int], result: MemberResult) -> None:
        """Note a member that ended: before a later rung, its final scores stand for it there."""
        self.finished[key] = result

    def decide(self, epoch: int, records: Mapping[tuple[int, int], Mapping[str, Any]]) -> dict[int, str]:
        """The alphas stopped at the rung of ``epoch`` with their reasons, from ``records``: the
        metrics there by ``(alpha_index, fold)``; alphas a resumed sweep finds stopped at this
        rung run again (same scores, same ranking)."""
        rung = self.rungs.index(epoch)
        scores = {a: list(values) for a, values in self.prior.get(epoch, {}).items()}
        for (alpha_index, _), record in records.items():
            scores.setdefault(alpha_index, []).append(rung_score(record))
        for (alpha_index, _), result in self.finished.items():
            if result.n_iter < epoch:
                scores.setdefault(alpha_index, []).append(rung_score(result.metrics))
        alive = [a for a in range(len(self.alphas)) if self.stopped_at.get(a, epoch) >= epoch]
        ranked, keep = rung_survivors({a: scores.get(a, []) for a in alive}, self.factor)
        stops = {}
        for rank, alpha_index in enumerate(ranked[keep:], start=keep + 1):
            stops[alpha_index] = HALVING_REASON.format(
                alpha=self.alphas[alpha_index], rank=rank, n=len(ranked), rung=rung, epoch=epoch
            )
            self.stopped_at.setdefault(alpha_index, epoch)
        return stops


class HalvingCallback(SweepCallback):
    """Successive halving as an engine callback: at each rung, stop the alphas a
    :class:`RungJudge` (or ``decide``) stops; :func:`netreg.tuning.plan.train_chunk` adds it.

    Parameters
    ----------
    halving : dict
        The plan's settings (see :class:`RungJudge`).
    decide : callable, optional
        As :meth:`RungJudge.decide`, on this chunk's records. Default: a :class:`RungJudge` of
        this chunk alone (which then holds every member of the sweep).
    """

    def __init__(
        self,
        halving: Mapping[str, Any],
        decide: Callable[[int, dict[tuple[int, int], Mapping[str, Any]]], Mapping[int, str]] | None = None,
    ) -> None:
        self.rungs = list(halving["rungs"])
        self.judge = RungJudge(halving) if decide is None else None
        self.decide = self.judge.decide if decide is None else decide
        self.keys: list[tuple[int, int]] = []

    def on_chunk_begin(self, keys: Sequence[tuple[int, int]]) -> None:
        self.keys = list(keys)

    def on_member_end(self, result: MemberResult) -> None:
        if self.judge is not None:
            self.judge.member_ended(self.keys[result.index], result)

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]], *, population: Population) -> None:
        if epoch not in self.rungs:
            return
        stops = self.decide(epoch, {self.keys[member]: record for member, record in records.items()})
        for alpha_index, reason in stops.items():
            members = [k for k in population.running if self.keys[k][0] == alpha_index]
            if members:
                population.stop(members, reason=reason)


def prior_scores(records: Sequence[MemberRecord], rungs: Sequence[int]) -> dict[int, dict[int, list[float]]]:
    """``{epoch: {alpha_index: [scores]}}``: stored members' :func:`rung_score` at each rung (a
    member that ended before a rung, with its final scores, as in a live run).

    Examples
    --------
    >>> record = MemberRecord(0, 0, 0.1, 0, "converged", 2, 2, {"val_loss": 0.25},
    ...                       [{"val_loss": 0.5}, {"val_loss": 0.3}], "", 0.0)
    >>> prior_scores([record], [1, 3])
    {1: {0: [-0.5]}, 3: {0: [-0.25]}}
    """
    prior: dict[int, dict[int, list[float]]] = {}
    for epoch in rungs:
        for member in records:
            values = member.history[epoch - 1] if len(member.history) >= epoch else member.metrics
            prior.setdefault(epoch, {}).setdefault(member.alpha_index, []).append(rung_score(values))
    return prior


def with_halving_state(plan: Any, stored: Sequence[MemberRecord]) -> Any:
    """``plan`` with what its :class:`RungJudge` needs at run time: the alphas, what the
    members already in the store scored at the rungs and which alphas they show stopped."""
    halving = dict(plan.halving)
    halving.update(
        alphas=[float(a) for a in plan.alphas],
        prior=prior_scores(stored, halving["rungs"]),
        stopped={m.alpha_index: m.n_iter for m in stored if m.status == "stopped"},
    )
    return dataclasses.replace(plan, halving=halving)


def halving_chunks(keys: Sequence[tuple[int, int]], n_chunks: int) -> list[list[tuple[int, int]]]:
    """``keys`` (``(alpha index, fold)``) dealt into ``n_chunks`` in turn, alpha by alpha: each
    alpha's folds spread over the chunks, so that whichever alphas survive a rung keep every
    chunk's worker about equally busy (their shares differ by at most one member per alpha).

    Examples
    --------
    >>> halving_chunks([(1, 0), (0, 1), (0, 0), (1, 1)], 2)
    [[(0, 0), (1, 0)], [(0, 1), (1, 1)]]
    """
    ordered = sorted(keys)
    return [ordered[i::n_chunks] for i in range(n_chunks)] if ordered else []


def check_halving(search: str, factor: Any, min_epochs: Any) -> tuple[int, int | None]:
    """The halving settings, checked; returned even when ``search`` is not ``"halving"``.

    Examples
    --------
    >>> check_halving("halving", 3, None)
    (3, None)
    """
    factor = FACTOR.check(factor, "factor")
    if min_epochs is not None:
        min_epochs = COUNT.check(min_epochs, "min_epochs")
    if search not in ("grid", "halving"):
        raise invalid("search", "'grid' or 'halving'", search)
    return factor, min_epochs


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    # An alpha with a diverged fold (NaN) ranks below every alpha scored on all its folds.
    return float(np.mean(values)) if finite and len(finite) == len(values) else -math.inf
