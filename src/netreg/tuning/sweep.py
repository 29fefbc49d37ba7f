"""The sweep's driver: from a plan to a result, through a backend and the results store.

:func:`run_sweep` opens the store, skips the members already stored, hands the remaining
chunks to a backend, keeps each member (writing it to the store) the moment it finishes,
and returns a :class:`~netreg.tuning.sweep_result.SweepResult`. A member may be stored before
its Laplace evidence, owing it (:attr:`~netreg.tuning.MemberRecord.evidence_pending`); a resumed
sweep computes such a member's evidence from its stored weights rather than training it again.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from netreg._checks import check_options
from netreg.engine.threads import resolve_n_jobs
from netreg.exceptions import invalid
from netreg.nets import MLP
from netreg.tuning.backends import get_backend
from netreg.tuning.chunking import check_population_memory, check_rows_memory
from netreg.tuning.chunking import chunk_size as default_chunk_size
from netreg.tuning.diagnostics import evidence_gap, stored_evidence
from netreg.tuning.halving import halving_chunks, with_halving_state
from netreg.tuning.plan import SweepPlan
from netreg.tuning.records import MemberRecord
from netreg.tuning.rules import SELECTIONS
from netreg.tuning.scoring import SCORINGS, check_scoring, is_native, scoring_name
from netreg.tuning.store import SweepStore
from netreg.tuning.sweep_hooks import SweepCallback, check_sweep_callbacks
from netreg.tuning.sweep_result import SweepResult

__all__ = ["run_sweep"]


def run_sweep(
    plan: SweepPlan,
    *,
    scoring: str,
    selection: str = "min",
    store: str | None = None,
    backend: Any = "local",
    chunk_size: int | None = None,
    callback: SweepCallback | Sequence[SweepCallback] | None = None,
    n_jobs: int | None = None,
    keep_folds: bool = False,
) -> SweepResult:
    """Train every member of ``plan`` not yet stored, and return the sweep's result.

    Parameters
    ----------
    plan : SweepPlan
        From :func:`~netreg.tuning.plan.plan_sweep`.
    scoring : str
        One of :data:`~netreg.tuning.scoring.SCORINGS` (greater is better).
    selection : {"min", "1se", "evidence"}, default="min"
        How to choose alpha (:mod:`netreg.tuning.rules`); ``"evidence"`` for netreg's MLP only.
    store : path, optional
        SQLite results store; created if missing, resumed if it holds this sweep.
    backend : "local", "ray" or a backend object, default="local"
        What trains the chunks (:mod:`netreg.tuning.backends`).
    chunk_size : int, optional
        Members per population (see :func:`~netreg.tuning.chunking.chunk_size`).
    callback : SweepCallback or list of SweepCallback, optional
        Progress: every engine event of the chunks trained here, and the sweep's own.
    n_jobs : int, optional
        Worker processes of ``backend="local"`` (:class:`~netreg.tuning.backends.LocalBackend`;
        ``-1``: all usable cores). Default: ``NETREG_N_JOBS`` if set, else the usable cores.
    keep_folds : bool, default=False
        Keep the chosen alpha's members' weights, one per fold, in the result's
        ``fold_state_dicts``, read from the store (without one, a temporary store deleted on
        return; with successive halving, the survivors' weights kept in memory instead).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep
    >>> X, y = load_iris(return_X_y=True)
    >>> plan = plan_sweep(NetRegClassifier((8,), max_iter=5, random_state=0), X, y, alphas=[0.1, 10.0], cv=3)
    >>> result = run_sweep(plan, scoring="accuracy")
    >>> len(result.members), result.alpha in (0.1, 10.0)
    (6, True)
    """
    check_options(selection, "selection", SELECTIONS)
    check_scoring(scoring, plan.task)
    callbacks = check_sweep_callbacks(callback)
    if not is_native(scoring):
        if plan.halving is not None:
            raise invalid(
                "scoring",
                f"one of {', '.join(map(repr, SCORINGS))} with search='halving', which ranks members every rung",
                scoring,
            )
        # Every member is scored by the scorer where it trains; a store belongs to that scorer.
        plan = dataclasses.replace(plan, scorer=scoring, spec={**plan.spec, "scoring": scoring_name(scoring)})
    if selection == "evidence" and not isinstance(plan.template, MLP):
        raise invalid(
            "selection",
            f"'min' or '1se' for {type(plan.template).__name__}: the evidence reads netreg's MLP (its layers and "
            "activation)",
            selection,
        )
    if selection == "evidence" and evidence_gap(plan):
        raise invalid("selection", f"'min' or '1se' with {evidence_gap(plan)}", selection)
    if not plan.has_folds and selection != "evidence":
        raise invalid(
            "selection", "'evidence' for a plan without folds (cv=None): it has no validation scores", selection
        )
    if plan.has_folds and selection == "evidence":
        raise invalid(
            "selection",
            "'min' or '1se' for a plan with folds: the evidence chooses among members trained on all the rows",
            selection,
            "Plan the sweep with cv=None.",
        )
    resolve_n_jobs(n_jobs)
    runner = get_backend(backend, n_jobs=n_jobs)
    # A backend that trains chunks side by side says how many; chunks are sized to keep them busy.
    n_workers = runner.workers(plan) if callable(getattr(runner, "workers", None)) else 1
    size = default_chunk_size(plan, chunk_size, n_workers=n_workers)
    check_rows_memory(plan, size, n_workers)  # before the store exists: a refusal leaves nothing behind
    # Halving chooses among its survivors: their weights kept as they come back, with no
    # temporary store, whose writes take the cores the workers train on (benchmarks/README.md).
    survivors_in_memory = keep_folds and store is None and plan.halving is not None
    scratch = (
        tempfile.TemporaryDirectory(prefix="netreg-sweep-")
        if keep_folds and store is None and not survivors_in_memory
        else None
    )
    if scratch is not None:
        store = os.path.join(scratch.name, "sweep.sqlite")
    opened = SweepStore.open(store, spec=plan.spec, fingerprint=plan.fingerprint) if store is not None else None
    try:
        done = opened.finished_keys() if opened is not None else set()
        todo = [key for key in plan.keys if key not in done]
        if plan.halving is not None:
            # Every rung ranks all the alphas: one population, or one chunk per worker of a backend
            # whose driver judges the rungs; dealt out alpha by alpha, each alpha's folds spread
            # over the workers, so that whichever alphas survive keep every worker equally busy.
            n_chunks = min(n_workers, len(todo)) if getattr(runner, "shares_rungs", False) else 1
            size = max(1, math.ceil(len(todo) / n_chunks))
            check_population_memory(plan, size)
            plan = with_halving_state(plan, opened.members() if opened is not None else [])
            chunks = halving_chunks(todo, n_chunks)
        else:
            chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        owing = opened.members_owing_evidence() if opened is not None else []
        info = {
            "n_members": len(plan.keys),
            "n_done": len(done),
            "n_owing": len(owing),
            "n_chunks": len(chunks),
            "max_iter": plan.config.max_iter,
        }
        for each in callbacks:
            each.on_sweep_begin(info)
        kept: dict[tuple[int, int], MemberRecord] = {}
        # Chosen by the evidence, a member is the model itself: keep the weights at hand.
        states: dict[tuple[int, int], Mapping[str, torch.Tensor]] = {}

        def keep(record: MemberRecord, state: Mapping[str, torch.Tensor] | None) -> None:
            kept[record.key] = record
            if state is None:  # the evidence of a member kept (and heard of) before, owing it
                if opened is not None:
                    opened.write_evidence(record)
                for each in callbacks:
                    each.on_member_evidence(record)
                return
            if opened is not None:
                opened.write_member(record, state)
            if selection == "evidence" or (survivors_in_memory and record.status != "stopped"):
                states[record.key] = state
            for each in callbacks:
                each.on_member_stored(record)

        # Trained before a stop, they owe only their evidence: computed here, never trained again.
        for owed in owing:
            keep(stored_evidence(plan, owed, opened.weights(*owed.key)), None)
        runner.run(plan, chunks, keep, callbacks)
        members = opened.members() if opened is not None else [kept[key] for key in sorted(kept)]
        result = SweepResult.from_members(plan.spec, members, scoring=scoring_name(scoring), selection=selection)
        if selection == "evidence" and result.best_index is not None:
            best = (result.best_index, 0)
            result.best_state_dict = dict(states[best]) if best in states else opened.weights(*best)
        if keep_folds and result.best_index is not None:
            result.fold_state_dicts = [
                dict(states[result.best_index, fold])
                if survivors_in_memory
                else opened.weights(result.best_index, fold)
                for fold in range(result.n_folds)
            ]
    finally:
        if opened is not None:
            opened.close()
        if scratch is not None:
            scratch.cleanup()
    for each in callbacks:
        each.on_sweep_end(result)
    return result
