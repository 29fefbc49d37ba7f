"""Progress of a sweep: the engine's hooks, plus the sweep's own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netreg.engine import Callback
from netreg.engine.hooks import check_callbacks
from netreg.tuning.records import MemberRecord
from netreg.tuning.sweep_result import SweepResult

__all__ = ["SweepCallback", "check_sweep_callbacks"]


class SweepCallback(Callback):
    """Progress of a sweep: the engine's hooks (:class:`netreg.engine.Callback`, on the population of
    the chunk being trained), plus the sweep's own, below.

    Examples
    --------
    >>> class Count(SweepCallback):
    ...     def __init__(self):
    ...         self.stored = 0
    ...     def on_member_stored(self, record):
    ...         self.stored += 1
    """

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        """Called once with ``n_members``, ``n_done`` (already stored), ``n_owing`` (stored owing
        their Laplace evidence, which the sweep computes first), ``n_chunks``, ``max_iter``."""

    def on_chunk_begin(self, keys: Sequence[tuple[int, int]]) -> None:
        """Called before a chunk trains, with its members as ``(alpha_index, fold)`` in member order."""

    def on_member_stored(self, record: MemberRecord) -> None:
        """Called when a finished member has been kept (and written to the store, if any), once: a
        member of the evidence folds as soon as it is trained, possibly owing its Laplace evidence
        still (``record.evidence_pending``), which :meth:`on_member_evidence` then brings."""

    def on_member_evidence(self, record: MemberRecord) -> None:
        """Called when a member kept owing its Laplace evidence has it (and the store, if any): the
        completed record (``record.evidence["log_evidence"]``), after :meth:`on_member_stored` heard
        of it, or, for a member a stopped sweep kept owing it, as the resumed sweep computes it."""

    def on_sweep_end(self, result: SweepResult) -> None:
        """Called once with the result."""

    def on_fit_end(self, estimator: Any) -> None:
        """Called by a CV estimator's ``fit`` as it returns, with the estimator (its ``cv_results_``,
        ``alpha_`` and, when ``refit``, ``best_estimator_`` set); not called by :func:`~netreg.tuning.run_sweep` alone."""


def check_sweep_callbacks(callback: Any, name: str = "callback") -> list[SweepCallback]:
    """The callbacks of a sweep as a list: ``callback`` is a :class:`SweepCallback`, a list of them, or
    None (checked before any work, not midway with an ``AttributeError``).

    Raises
    ------
    InvalidParameterError
        If ``callback`` is anything else.

    Examples
    --------
    >>> check_sweep_callbacks(None)
    []
    >>> check_sweep_callbacks(len)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `callback` must be a SweepCallback, a list of SweepCallbacks or None. Got callback=<built-in function len>. Subclass netreg.tuning.SweepCallback and override the hooks you need (on_sweep_begin, on_member_stored, on_sweep_end, on_epoch_end, ...).
    """
    return check_callbacks(
        callback,
        name,
        is_one=lambda item: isinstance(item, SweepCallback),
        expected="a SweepCallback, a list of SweepCallbacks or None",
        fix="Subclass netreg.tuning.SweepCallback and override the hooks you need (on_sweep_begin, on_member_stored, "
        "on_sweep_end, on_epoch_end, ...).",
    )
