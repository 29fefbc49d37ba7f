"""The handle a callback receives to look at the running population, stop members and change
their alpha."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from torch import Tensor

from netreg._checks import check_alpha
from netreg.engine.state import PopulationState
from netreg.exceptions import invalid

__all__ = ["Population"]


class Population:
    """A running population, as the engine shows it to callbacks.

    The hooks of a :class:`~netreg.engine.Callback` that accept it receive this handle: after an
    epoch a callback can list the running members, read a member's weights and alpha, stop
    members and change a member's alpha (:meth:`set_alpha`), as successive halving and
    ``alpha="auto"`` do.

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

    def __init__(
        self,
        state: Callable[[], PopulationState],
        alphas: Sequence[float],
        requests: dict[int, str],
        alpha_changes: set[int] | None = None,
    ) -> None:
        # `state` returns the current state (replaced when members retire); the engine applies
        # `requests` (stops) at the epoch's end and reads `alpha_changes`.
        self._state = state
        self._alphas = tuple(alphas)
        self._requests = requests
        self._alpha_changes = set() if alpha_changes is None else alpha_changes
        self._changed: set[int] = set()  # members whose history records their alphas

    @property
    def n_members(self) -> int:
        """Number of members the population started with."""
        return len(self._alphas)

    @property
    def running(self) -> list[int]:
        """Indices of the members still training, in increasing order."""
        return sorted(self._state().ids)

    @property
    def penalized(self) -> list[str]:
        """The names of the penalized parameters, the keys of :meth:`alphas` and :meth:`set_alpha`."""
        return list(self._state().scales)

    def alpha(self, member: int) -> float:
        """Member ``member``'s shared strength alpha, as the run started (see :meth:`alphas`
        for the current ones)."""
        return self._alphas[self._check_member(member, "member")]

    def alphas(self, member: int) -> dict[str, float]:
        """A running member's current strength on each penalized parameter (``{name: alpha}``)."""
        state = self._state()
        position = self._position(member, "member")
        return dict(zip(state.scales, state.alphas[position].tolist(), strict=True))

    def set_alpha(self, member: int, alpha: float | Mapping[str, float]) -> None:
        """Change a running member's alpha; it takes effect from the next step.

        The member's penalty from then on is that of the new strengths (its gradient and its
        recorded ``penalty``); its weights and optimizer state (Adam's moments, SGD's
        momentum) go on from where they are. Its history records, in every epoch, the
        strengths in effect during it (key ``"alphas"``: ``{parameter name: alpha}``; the
        epochs before the first change get the strengths the member started with). When
        convergence watches the training objective, which the new alpha changes, the
        member's count of epochs without progress starts afresh. Its
        ``MemberResult.alpha`` stays the alpha it started with. Meant for ``on_epoch_end``
        (from other hooks, the change applies from the next step all the same).

        Parameters
        ----------
        member : int
            Index of a running member.
        alpha : float or mapping of str to float
            A float sets every penalized parameter's strength; a mapping sets those it names
            (keys among :attr:`penalized`) and leaves the others as they are. Finite, >= 0.

        Raises
        ------
        InvalidParameterError
            If the member is not running, a name is not penalized, or a value is not a
            finite float >= 0.

        Examples
        --------
        >>> import numpy as np
        >>> from netreg.engine import Callback, TrainConfig, train_population
        >>> from netreg.nets import MLP
        >>> class Tighten(Callback):
        ...     def on_epoch_end(self, epoch, records, *, population):
        ...         if epoch == 2:
        ...             population.set_alpha(0, {"layers.1.weight": 10.0})
        >>> X = np.random.default_rng(0).normal(size=(40, 3))
        >>> result = train_population(MLP(3, (4,), 1), X, X.sum(1), task="regression", alphas=[1.0],
        ...                           config=TrainConfig(max_iter=3, tol=0.0), callbacks=Tighten())
        >>> [record["alphas"]["layers.1.weight"] for record in result.members[0].history]
        [1.0, 1.0, 10.0]
        """
        state = self._state()
        position = self._position(member, "member")
        names = list(state.scales)
        values = state.alphas[position].clone()
        if isinstance(alpha, Mapping):
            unknown = [name for name in alpha if name not in names]
            if unknown:
                raise invalid("alpha", f"a mapping whose keys are penalized parameters, among {names}", alpha)
            for name, value in alpha.items():
                values[names.index(name)] = check_alpha(value, f"alpha[{name!r}]")
        else:
            values[:] = check_alpha(alpha)
        self.will_set_alpha(member)
        state.set_alphas(position, values)
        self._alpha_changes.add(state.ids[position])

    def will_set_alpha(self, member: int) -> None:
        """Declare that a callback may change ``member``'s alpha (:meth:`set_alpha` declares it too).

        From then on the member's records say their alphas (the earlier ones too), and a
        full-batch solver (L-BFGS) that converges shows the callbacks its converged point once
        more, as the next iteration, so that a change can come after the solver converged.

        Examples
        --------
        >>> import numpy as np
        >>> from netreg.engine import Callback, TrainConfig, train_population
        >>> from netreg.nets import MLP
        >>> class Declare(Callback):
        ...     def on_train_begin(self, info, *, population):
        ...         population.will_set_alpha(0)
        >>> X = np.random.default_rng(0).normal(size=(40, 3))
        >>> result = train_population(MLP(3, (), 1), X, X.sum(1), task="regression", alphas=[2.0],
        ...                           config=TrainConfig(max_iter=2, tol=0.0), callbacks=Declare())
        >>> [record["alphas"] for record in result.members[0].history]
        [{'layers.0.weight': 2.0}, {'layers.0.weight': 2.0}]
        """
        state = self._state()
        position = self._position(member, "member")
        index = state.ids[position]
        if index not in self._changed:
            before = dict(zip(state.scales, state.alphas[position].tolist(), strict=True))
            for record in state.histories[position]:
                record["alphas"] = dict(before)
            self._changed.add(index)

    def records_alphas(self, member: int) -> bool:
        """Whether a callback declared it may change ``member``'s alpha (:meth:`will_set_alpha`):
        its records then hold ``"alphas"``."""
        return member in self._changed

    def state_dict(self, member: int) -> dict[str, Tensor]:
        """A copy of a running member's current weights and buffers, on the CPU.

        The current weights are those after the last step, not the best ones kept for
        early stopping.
        """
        state = self._state()
        position = self._position(member, "member")
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

    def _position(self, member: Any, name: str) -> int:
        """The position of a running member in the current state."""
        state = self._state()
        index = self._check_member(member, name)
        if index not in state.ids:
            raise invalid(
                name,
                f"a running member, one of {self.running}",
                member,
                "A member's final weights are in its MemberResult.state_dict.",
            )
        return state.ids.index(index)

    def _check_member(self, member: Any, name: str, shown: Any = None) -> int:
        shown = member if shown is None else shown
        if not isinstance(member, int | np.integer) or isinstance(member, bool) or not 0 <= member < self.n_members:
            expected = "member indices" if name == "members" else "a member index"
            raise invalid(name, f"{expected} in [0, {self.n_members})", shown)
        return int(member)

    def __repr__(self) -> str:
        return f"Population(n_members={self.n_members}, running={self.running})"
