"""The ``"local"`` backend: the chunks one after the other, in this process."""

from __future__ import annotations

from collections.abc import Sequence

from netreg.tuning.backends.base import Keep
from netreg.tuning.callbacks import SweepCallback
from netreg.tuning.diagnostics import member_record
from netreg.tuning.plan import SweepPlan, train_chunk

__all__ = ["LocalBackend"]


class LocalBackend:
    """Train the chunks one after the other, in this process.

    Examples
    --------
    >>> LocalBackend()
    LocalBackend()
    """

    def run(
        self,
        plan: SweepPlan,
        chunks: Sequence[Sequence[tuple[int, int]]],
        keep: Keep,
        callbacks: Sequence[SweepCallback] = (),
    ) -> None:
        """Train each chunk as one population; ``keep`` each member the moment it stops."""
        for chunk in chunks:
            train_chunk(
                plan,
                chunk,
                callbacks=callbacks,
                on_member=lambda key, result, seconds: keep(
                    member_record(plan, key, result, seconds), result.state_dict
                ),
            )

    def __repr__(self) -> str:
        return "LocalBackend()"
