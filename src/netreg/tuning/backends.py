"""Backends: what trains the chunks of a sweep.

A backend has one method, ``run(plan, chunks, keep, callback)``: train every chunk (a list
of ``(alpha_index, fold)`` members) with :func:`netreg.tuning.sweep.train_chunk` and call
``keep(record, state_dict)`` for each finished member, on the calling process, as soon as
it is known. ``"local"`` trains the chunks one after the other in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from netreg._checks import invalid

__all__ = ["LocalBackend", "get_backend"]


class LocalBackend:
    """Train the chunks one after the other, in this process.

    Examples
    --------
    >>> get_backend("local")
    LocalBackend()
    """

    def run(
        self, plan: Any, chunks: Sequence[Sequence[tuple[int, int]]], keep: Callable[..., None], callback: Any
    ) -> None:
        from netreg.tuning.sweep import train_chunk

        for chunk in chunks:
            train_chunk(plan, chunk, callback=callback, on_member=keep)

    def __repr__(self) -> str:
        return "LocalBackend()"


def get_backend(backend: Any) -> Any:
    """``"local"`` -> :class:`LocalBackend`; an object with a ``run`` method is returned as is."""
    if backend == "local":
        return LocalBackend()
    if backend == "ray":
        from netreg.tuning.ray_backend import RayBackend

        return RayBackend()
    if callable(getattr(backend, "run", None)):
        return backend
    raise invalid(
        "backend", "'local', 'ray' or a backend object with a run(plan, chunks, keep, callback) method", backend
    )
