"""Backends: what trains the chunks of a sweep (:class:`~netreg.tuning.backends.protocol.Backend`):
``"local"`` (:class:`LocalBackend`) on this machine, ``"ray"`` (:class:`RayBackend`) on a cluster."""

from __future__ import annotations

from typing import Any

from netreg.exceptions import invalid
from netreg.tuning.backends.local import LocalBackend
from netreg.tuning.backends.protocol import Backend, Keep
from netreg.tuning.backends.ray_backend import RayBackend

__all__ = ["Backend", "Keep", "LocalBackend", "RayBackend", "BACKENDS", "get_backend"]

#: Backend name -> class.
BACKENDS: dict[str, type] = {"local": LocalBackend, "ray": RayBackend}


def get_backend(backend: Any, n_jobs: int | None = None) -> Backend:
    """A backend from its name (:data:`BACKENDS`); an object with a ``run`` method is returned as is.

    ``n_jobs`` goes to ``"local"`` (:class:`LocalBackend`); a Ray cluster has its own
    resources, and a backend object its own settings.

    Examples
    --------
    >>> get_backend("local", n_jobs=2)
    LocalBackend(n_jobs=2)
    >>> get_backend("ray")
    RayBackend()
    """
    if backend == "local":
        return LocalBackend(n_jobs=n_jobs)
    if isinstance(backend, str) and backend in BACKENDS:
        return BACKENDS[backend]()
    if callable(getattr(backend, "run", None)):
        return backend
    raise invalid(
        "backend", "'local', 'ray' or a backend object with a run(plan, chunks, keep, callback) method", backend
    )
