"""The thread policy: how many CPU threads a run uses, and how many cores a sweep spreads over.

A training step of a small network is many small operations that gain little from a second
thread, and on a busy machine each of PyTorch's end-of-operation barriers waits for a paused
thread. So a run uses one thread per :data:`FLOPS_PER_THREAD` of a step's arithmetic
(:func:`run_threads`), a sweep spreads over worker processes of one thread each
(:class:`netreg.tuning.backends.LocalBackend`), and BLAS stays on one thread during a run
(:func:`limit_threads`). ``n_jobs`` reads as in scikit-learn (:func:`resolve_n_jobs`). The
count depends on the problem and the machine, never on its load; other thread counts may
change the last bits of sums. Measurements: ``docs/architecture.md``, "Measurements and history".
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import torch
from threadpoolctl import ThreadpoolController

from netreg._checks import invalid
from netreg.exceptions import NetRegWarning

__all__ = [
    "N_JOBS_ENV",
    "FLOPS_PER_THREAD",
    "usable_cores",
    "default_cores",
    "resolve_n_jobs",
    "run_threads",
    "limit_threads",
]

#: The environment variable that sets the default ``n_jobs`` (for example ``NETREG_N_JOBS=1``
#: on a shared server).
N_JOBS_ENV = "NETREG_N_JOBS"

#: Floating-point operations of a training step that earn a thread (a 64-100-100-10 network on
#: batches of 64 to 200 rows is 7 to 20 million: one thread; 16 such members: all the cores).
FLOPS_PER_THREAD = 5e7

#: Where a container's CPU quota is (cgroup v2).
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def usable_cores() -> int:
    """The CPUs this process may run on: its affinity, within its container's CPU quota.

    Examples
    --------
    >>> usable_cores() >= 1
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores)


def _cgroup_quota() -> float | None:
    """CPUs allowed by the cgroup v2 quota (``cpu.max``: ``"max 100000"`` or ``"150000 100000"``)."""
    try:
        with open(CGROUP_CPU_MAX) as file:
            limit, period = file.read().split()[:2]
    except (OSError, ValueError):
        return None
    if limit == "max":
        return None
    return int(limit) / int(period)


def default_cores() -> int:
    """The cores a run may use by default: :func:`usable_cores`, capped by PyTorch's thread
    setting (its physical cores, or ``OMP_NUM_THREADS``, or ``torch.set_num_threads``).

    Examples
    --------
    >>> 1 <= default_cores() <= usable_cores()
    True
    """
    return max(1, min(usable_cores(), torch.get_num_threads()))


def resolve_n_jobs(n_jobs: Any, name: str = "n_jobs") -> int | None:
    """``n_jobs`` as a number of cores, scikit-learn's way; ``None`` stays ``None`` (the policy's default).

    ``None`` reads :data:`N_JOBS_ENV` when it is set. A negative ``n_jobs`` counts from the
    usable cores: ``-1`` is all of them, ``-2`` all but one (at least one). A number above
    :func:`usable_cores` is capped at it, with a :class:`netreg.NetRegWarning` (once per
    process and message): threads beyond the cores only wait for each other.

    Raises
    ------
    InvalidParameterError
        If ``n_jobs`` (or the environment variable) is not None or a nonzero int.

    Examples
    --------
    >>> resolve_n_jobs(1)
    1
    >>> resolve_n_jobs(-1) == usable_cores()
    True
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     capped = resolve_n_jobs(100_000)
    >>> capped == usable_cores(), caught[0].category.__name__
    (True, 'NetRegWarning')
    >>> resolve_n_jobs(0)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `n_jobs` must be None or a nonzero int (-1: all cores). Got n_jobs=0.
    """
    if n_jobs is None:
        setting = os.environ.get(N_JOBS_ENV, "").strip()
        if not setting:
            return None
        try:
            n_jobs = int(setting)
        except ValueError:
            raise invalid(N_JOBS_ENV, "a nonzero int (-1: all cores)", setting) from None
        name = N_JOBS_ENV
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise invalid(name, "None or a nonzero int (-1: all cores)", n_jobs)
    n_jobs, cores = int(n_jobs), usable_cores()
    if n_jobs > cores:
        # stacklevel=1: one place of issue, so Python shows the note once, whichever caller asks.
        warnings.warn(
            f"`{name}={n_jobs}` asks for more than the {cores} core{'s' if cores > 1 else ''} this process may use; "
            f"using {cores} (threads beyond the cores only wait for each other).",
            NetRegWarning,
            stacklevel=1,
        )
        return cores
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


def run_threads(n_threads: int | None, flops_per_step: float) -> int:
    """Threads for a run in this process: ``n_threads`` when given (at most :func:`usable_cores`),
    else one per :data:`FLOPS_PER_THREAD` of a step's arithmetic, between 1 and :func:`default_cores`.

    Examples
    --------
    >>> run_threads(None, 1e7), run_threads(1, 1e7)
    (1, 1)
    >>> run_threads(None, 1e12) == default_cores(), run_threads(100_000, 1e7) == usable_cores()
    (True, True)
    """
    if n_threads is not None:
        return min(n_threads, usable_cores())
    return max(1, min(default_cores(), int(flops_per_step // FLOPS_PER_THREAD)))


@contextmanager
def limit_threads(n_threads: int) -> Iterator[None]:
    """PyTorch on ``n_threads`` threads and NumPy's and SciPy's BLAS on one, restored on exit.

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> with limit_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    if n_threads != before:
        torch.set_num_threads(n_threads)
    try:
        with _blas_controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@cache
def _blas_controller() -> ThreadpoolController:
    # Finding the loaded BLAS libraries takes milliseconds (a tenth of a small fit): once.
    return ThreadpoolController()
