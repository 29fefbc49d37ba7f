"""Progress of a sweep: the engine's hooks, plus the sweep's own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netreg.engine import Callback
from netreg.tuning.records import MemberRecord
from netreg.tuning.results import SweepResult

__all__ = ["SweepCallback"]


class SweepCallback(Callback):
    """Progress of a sweep: the engine's hooks, plus the sweep's own.

    The engine's hooks (``on_train_begin``, ``on_epoch_end``, ``on_member_end``,
    ``on_train_end``) receive the population of the chunk being trained; the sweep adds
    ``on_sweep_begin``, ``on_member_stored`` (each member's record with its
    ``alpha_index`` and ``fold``, as soon as it is kept) and ``on_sweep_end``.

    Examples
    --------
    >>> class Count(SweepCallback):
    ...     def __init__(self):
    ...         self.stored = 0
    ...     def on_member_stored(self, record):
    ...         self.stored += 1
    """

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        """Called once with ``n_members``, ``n_done`` (already stored), ``n_chunks``, ``max_iter``."""

    def on_chunk_begin(self, keys: Sequence[tuple[int, int]]) -> None:
        """Called before a chunk trains, with its members as ``(alpha_index, fold)`` in member order."""

    def on_member_stored(self, record: MemberRecord) -> None:
        """Called when a finished member has been kept (and written to the store, if any)."""

    def on_sweep_end(self, result: SweepResult) -> None:
        """Called once with the result."""
