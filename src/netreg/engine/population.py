"""The handle a callback receives to look at the running population and stop members."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from torch import Tensor

from netreg.engine.state import PopulationState
from netreg.exceptions import invalid

__all__ = ["Population"]


class Population:
    """A running population, as the engine shows it to callbacks.

    Every hook of a :class:`~netreg.engine.Callback` whose signature accepts a
    ``population`` keyword (or ``**kwargs``) receives this handle. After an epoch
    (``on_epoch_end``) a callback can list the running members, read a member's current
    weights and its alpha, and stop members: successive halving and evidence-based
    selection are callbacks written this way, without a training loop of their own.

    Members are named by their index in the population (``MemberResult.index``, the keys
    of ``on_epoch_end``'s ``records``).

    Examples
    --------
    A callback that stops every member but the best one after the third epoch:

    >>> import numpy as np
    >>> from netreg.engine import Callback, TrainConfig, train_population
    >>> from netreg.nets import MLP
    >>> class KeepBest(Callback):
    ...     def on_epoch_end(self, epoch, records, *, population):
    ...         if epoch == 3:
    ...             best = min(population.running, key=lambda k: records[k]["objective"])
    ...             others = [k for k in population.running if k != best]
    ...             population.stop(others, reason=f"member {best} is best at epoch 3")
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> result = train_population(MLP(3, (4,), 1), X, X.sum(1), task="regression", alphas=[0.1, 1.0, 100.0],
    ...                           config=TrainConfig(max_iter=10, tol=0.0), callbacks=KeepBest())
    >>> [(m.status, m.n_iter) for m in result.members]
    [('max_iter', 10), ('stopped', 3), ('stopped', 3)]
    >>> result.members[1].history[-1]["stop_reason"]
    'member 0 is best at epoch 3'
    """

    def __init__(self, state: Callable[[], PopulationState], alphas: Sequence[float], requests: dict[int, str]) -> None:
        # `state` returns the current state (it is replaced when members retire);
        # `requests` is where the engine collects the stops to apply at the epoch's end.
        self._state = state
        self._alphas = tuple(alphas)
        self._requests = requests

    @property
    def n_members(self) -> int:
        """Number of members the population started with."""
        return len(self._alphas)

    @property
    def running(self) -> list[int]:
        """Indices of the members still training, in increasing order."""
        return sorted(self._state().ids)

    def alpha(self, member: int) -> float:
        """Member ``member``'s shared strength alpha."""
        return self._alphas[self._check_member(member, "member")]

    def state_dict(self, member: int) -> dict[str, Tensor]:
        """A copy of a running member's current weights and buffers, on the CPU.

        The current weights are those after the last step, not the best ones kept for
        early stopping.
        """
        state = self._state()
        index = self._check_member(member, "member")
        if index not in state.ids:
            raise invalid(
                "member",
                f"a running member, one of {self.running}",
                member,
                "A member's final weights are in its MemberResult.state_dict.",
            )
        position = state.ids.index(index)
        copy = {name: p[position].detach().cpu().clone() for name, p in state.params.items()}
        copy.update({name: b[position].cpu().clone() for name, b in state.buffers.items()})
        return copy

    def stop(self, members: int | Sequence[int], reason: str) -> None:
        """Stop running members at the end of this epoch, with status ``"stopped"``.

        A stopped member keeps its last good weights (its best ones with early stopping),
        its metrics are computed as for any finishing member, its result has ``message``
        ``"Stopped by a callback after epoch <n>: <reason>"`` and its last history record
        gets ``"stop_reason": reason``; ``on_member_end`` receives it. Called from
        ``on_epoch_end``, the members stop after that epoch; from other hooks, after the
        next epoch. A member that diverges in the same epoch is reported as diverged.

        Parameters
        ----------
        members : int or sequence of int
            Indices of running members.
        reason : str
            Why, recorded with the member.

        Raises
        ------
        InvalidParameterError
            If a member is not running (finished, or not in the population) or
            ``reason`` is not a string.
        """
        if not isinstance(reason, str):
            raise invalid("reason", "a str saying why the members stop", reason)
        chosen = [members] if isinstance(members, int | np.integer) else members
        if isinstance(chosen, str) or not isinstance(chosen, Sequence | np.ndarray):
            raise invalid("members", "a member index or a sequence of them", members)
        running = self.running
        indices = [self._check_member(member, "members", members) for member in chosen]
        if any(index not in running for index in indices):
            raise invalid("members", f"indices of running members, some of {running}", members)
        for index in indices:
            self._requests[index] = reason

    def _check_member(self, member: Any, name: str, shown: Any = None) -> int:
        shown = member if shown is None else shown
        if not isinstance(member, int | np.integer) or isinstance(member, bool) or not 0 <= member < self.n_members:
            expected = "member indices" if name == "members" else "a member index"
            raise invalid(name, f"{expected} in [0, {self.n_members})", shown)
        return int(member)

    def __repr__(self) -> str:
        return f"Population(n_members={self.n_members}, running={self.running})"
