"""What a backend is: the protocol a sweep hands its chunks to."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import torch

from netreg.tuning.plan import SweepPlan
from netreg.tuning.records import MemberRecord
from netreg.tuning.sweep_hooks import SweepCallback

__all__ = ["Backend", "Keep"]

#: What a backend calls, on the sweep's process, for each finished member: ``keep(record,
#: state_dict)`` once per member; a member kept owing its evidence
#: (:attr:`~netreg.tuning.records.MemberRecord.evidence_pending`) is completed later by
#: ``keep(record_with_its_evidence, None)``.
Keep = Callable[[MemberRecord, Mapping[str, torch.Tensor] | None], None]


@runtime_checkable
class Backend(Protocol):
    """Trains the chunks of a sweep.

    ``run`` trains every chunk (a list of ``(alpha_index, fold)`` members) with
    :func:`netreg.tuning.plan.train_chunk` and calls ``keep(record, state_dict)`` for each
    finished member, on the calling process, as soon as it is known there (a member kept before
    its evidence is computed is completed by ``keep(record, None)``: :data:`Keep`). An optional
    ``workers(plan) -> int`` says how many chunks it trains at once (the sweep sizes them to match).
    """

    def run(
        self,
        plan: SweepPlan,
        chunks: Sequence[Sequence[tuple[int, int]]],
        keep: Keep,
        callbacks: Sequence[SweepCallback],
    ) -> None:
        """Train ``chunks`` of ``plan``; ``keep`` each member as it finishes; ``callbacks`` see the progress."""
