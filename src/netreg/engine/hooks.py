"""Callbacks: how the engine reports progress and lets outside code act on a running population.

The engine calls each hook of each callback in list order through one :class:`CallbackList`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netreg.engine.population import Population
from netreg.engine.results import MemberResult, PopulationResult
from netreg.exceptions import invalid

__all__ = ["Callback", "CallbackList", "HOOKS", "check_callbacks"]

#: The hooks, in the order a run calls them.
HOOKS = ("on_train_begin", "on_epoch_end", "on_member_end", "on_train_end")


class Callback:
    """Receives progress from the engine; every hook is a no-op unless overridden.

    An override that declares ``population`` (``*, population``) or ``**kwargs`` receives the
    running :class:`~netreg.engine.Population`; one written without it is called without it.

    Examples
    --------
    >>> class CountEpochs(Callback):
    ...     def __init__(self):
    ...         self.epochs = 0
    ...     def on_epoch_end(self, epoch, records):
    ...         self.epochs += 1
    >>> class StopTheWeakest(Callback):
    ...     def on_epoch_end(self, epoch, records, *, population):
    ...         if epoch == 5 and len(population.running) > 1:
    ...             worst = max(population.running, key=lambda k: records[k]["objective"])
    ...             population.stop(worst, reason="highest objective at epoch 5")
    """

    def on_train_begin(self, info: Mapping[str, Any], *, population: Population | None = None) -> None:
        """Called once with ``n_members``, ``max_iter``, ``device``, ``dtype``, ``alphas``."""

    def on_epoch_end(
        self, epoch: int, records: Mapping[int, Mapping[str, Any]], *, population: Population | None = None
    ) -> None:
        """Called after each epoch with ``{member index: that epoch's record}`` of the running members."""

    def on_member_end(self, result: MemberResult, *, population: Population | None = None) -> None:
        """Called as soon as a member stops, with its final result."""

    def on_train_end(self, result: PopulationResult, *, population: Population | None = None) -> None:
        """Called once when every member has stopped."""


class CallbackList:
    """The callbacks of one run (checked by :func:`check_callbacks`), dispatched by :meth:`notify`;
    ``population`` is passed to the hooks that accept it.

    Examples
    --------
    >>> class Hello(Callback):
    ...     def __init__(self):
    ...         self.seen = []
    ...     def on_train_begin(self, info):
    ...         self.seen.append(info["n_members"])
    >>> hello = Hello()
    >>> CallbackList([hello], population=None).notify("on_train_begin", {"n_members": 3})
    >>> hello.seen
    [3]
    """

    def __init__(self, callbacks: Callback | Sequence[Callback] | None, population: Population | None) -> None:
        self.callbacks = check_callbacks(callbacks)
        self.population = population
        # Which hooks each callback overrides, and whether they take `population`: looked up once.
        self._hooks: dict[str, list[tuple[Callable[..., None], bool]]] = {
            hook: [
                (getattr(callback, hook), _accepts_population(getattr(callback, hook)))
                for callback in self.callbacks
                if callable(getattr(callback, hook, None)) and not _is_base_no_op(callback, hook)
            ]
            for hook in HOOKS
        }

    def notify(self, hook: str, *args: Any) -> None:
        """Call ``hook(*args)`` on every callback that has it, in list order."""
        for method, with_population in self._hooks[hook]:
            if with_population:
                method(*args, population=self.population)
            else:
                method(*args)


def check_callbacks(
    callbacks: Any,
    name: str = "callbacks",
    *,
    is_one: Callable[[Any], bool] | None = None,
    expected: str = "a Callback, a list of Callbacks or None",
    fix: str = "",
) -> list[Any]:
    """``callbacks`` as a list, if it is one callback, a list of them, or None.

    ``name`` is the parameter that gave them (an estimator's ``fit`` takes ``callback``).
    A callback is any object with some of :data:`HOOKS`, or what ``is_one`` accepts (a
    sweep's, :func:`netreg.tuning.sweep_hooks.check_sweep_callbacks`), which ``expected``
    and ``fix`` then word.

    Raises
    ------
    InvalidParameterError
        If ``callbacks`` is anything else.

    Examples
    --------
    >>> check_callbacks(None), len(check_callbacks(Callback()))
    ([], 1)
    >>> check_callbacks(42, "callback")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `callback` must be a Callback, a list of Callbacks or None. Got callback=42.
    """
    is_one = is_one or _is_callback
    if callbacks is None:
        return []
    items = [callbacks] if is_one(callbacks) else callbacks
    if isinstance(items, str) or not isinstance(items, Sequence) or not all(is_one(item) for item in items):
        raise invalid(name, expected, callbacks, fix)
    return list(items)


def _is_callback(value: Any) -> bool:
    return isinstance(value, Callback) or any(callable(getattr(value, hook, None)) for hook in HOOKS)


def _is_base_no_op(callback: Any, hook: str) -> bool:
    return getattr(type(callback), hook, None) is getattr(Callback, hook)


def _accepts_population(method: Callable[..., Any]) -> bool:
    return _function_accepts_population(getattr(method, "__func__", method))


@functools.cache
def _function_accepts_population(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return any(p.name == "population" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
