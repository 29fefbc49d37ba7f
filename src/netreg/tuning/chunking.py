"""How many members a sweep trains together: what fits in memory, and in cache on a CPU."""

from __future__ import annotations

import math

import torch

from netreg import memory, nets
from netreg._checks import COUNT
from netreg.engine import resolve_device
from netreg.engine.row_sets import ROW_SET_BYTES
from netreg.exceptions import bad_data, invalid
from netreg.tuning.plan import SweepPlan

__all__ = [
    "chunk_size",
    "balanced_size",
    "check_population_memory",
    "check_rows_memory",
    "rows_bytes",
    "ROW_SET_BYTES",
    "member_bytes",
    "MEMORY_BUDGET_BYTES",
    "CACHE_BYTES",
    "CHUNK_OVERHEAD",
]

MEMORY_BUDGET_BYTES = 2 * 1024**3
CACHE_BYTES = 32 * 1024**2
#: The fixed cost of training a population, in member-times: a chunk of K members costs about
#: (1 + K) member-times (measured: ``docs/architecture.md``, "Measurements and history").
CHUNK_OVERHEAD = 1.0


def chunk_size(plan: SweepPlan, requested: int | None = None, *, n_workers: int = 1) -> int:
    """Members per population for ``plan``: ``requested`` (capped at the sweep's size), or a default
    sized to the machine: on a GPU, as many as fit in half its free memory; on a CPU, as many as keep
    their working set within :data:`CACHE_BYTES`, in whole folds. With ``n_workers`` chunks side by
    side, a smaller size where it finishes the sweep sooner (:func:`balanced_size`). Where the rows
    of chunks spanning folds would not fit (:func:`rows_bytes`), chunks hold one fold's alphas (a
    divisor of their number), which share one set of rows. ``solver="lbfgs"`` trains one member at
    a time (its line search would couple stacked members).

    Raises
    ------
    InvalidParameterError
        If ``requested`` members, or not even one, would not fit in memory (half the GPU's
        free memory, or :func:`netreg.memory.memory_budget` on a CPU), before any allocation.
    """
    n_members = len(plan.keys)
    _check_chunk(plan, 1)
    if plan.config.solver == "lbfgs":
        return 1
    if requested is not None:
        size = min(COUNT.check(requested, "chunk_size"), n_members)
        _check_chunk(plan, size)
        return size
    device = resolve_device(plan.config.device)
    if device.type == "cuda":
        return _within_rows(plan, max(1, min(n_members, memory.device_budget(device) // member_bytes(plan))), 1)
    # In cache a population trains faster per member; whole folds share their input batches.
    size = max(1, min(n_members, MEMORY_BUDGET_BYTES // member_bytes(plan), CACHE_BYTES // member_bytes(plan)))
    n_alphas = len(plan.alphas)
    size = size - size % n_alphas if size >= n_alphas else size
    size = balanced_size(n_members, size, n_alphas, n_workers) if n_workers > 1 else size
    return _within_rows(plan, size, n_workers)


def _within_rows(plan: SweepPlan, size: int, n_workers: int) -> int:
    """``size``, or the largest divisor of the grid's size below it where the rows of chunks that span
    folds would not fit (the device's budget; on a CPU at most :data:`MEMORY_BUDGET_BYTES`)."""
    device = resolve_device(plan.config.device)
    budget = memory.device_budget(device)
    if device.type != "cuda":
        budget = min(budget, MEMORY_BUDGET_BYTES)
    if rows_bytes(plan, size, n_workers) <= budget:
        return size
    n_alphas = len(plan.alphas)
    return max(d for d in range(1, min(size, n_alphas) + 1) if n_alphas % d == 0)


def balanced_size(n_members: int, size: int, n_alphas: int, n_workers: int) -> int:
    """The chunk size, at most ``size``, with which ``n_workers`` side by side finish ``n_members`` soonest.

    Chunks are taken in turns, so the sweep lasts about ``ceil(n_chunks / n_workers)`` chunk
    times of ``CHUNK_OVERHEAD + K`` member-times each (K members a chunk). Whole folds and
    divisors of ``n_alphas`` are tried first, so that a chunk's members keep sharing their
    input batches; ties go to the larger size. Where the best of those leaves a worker idle,
    the sizes that deal the members out evenly, ``ceil(n_members / (n_workers * turns))``, are
    taken if they finish sooner.

    Examples
    --------
    >>> balanced_size(80, 16, 16, 2)  # 10 chunks of 8: 5 turns of 9 beat 3 turns of 17
    8
    >>> balanced_size(12, 12, 4, 2)  # chunks of 6 and 6, one turn (7), beat chunks of 8 and 4 (9)
    6
    """

    def duration(s: int) -> float:
        return math.ceil(math.ceil(n_members / s) / n_workers) * (CHUNK_OVERHEAD + s)

    def best(sizes: set[int]) -> int:
        return min(sorted(sizes, reverse=True), key=duration)

    divisors = [d for d in range(1, n_alphas + 1) if n_alphas % d == 0]
    aligned = best({s for s in divisors + list(range(n_alphas, size + 1, n_alphas)) if s <= size} or {size})
    if n_members % aligned == 0 and (n_members // aligned) % n_workers == 0:
        return aligned  # every worker trains as many members as every other: none idles
    even = {math.ceil(n_members / (n_workers * turns)) for turns in range(1, math.ceil(n_members / n_workers) + 1)}
    dealt = best({s for s in even if s <= size} or {aligned})
    return dealt if duration(dealt) < duration(aligned) else aligned


def _check_chunk(plan: SweepPlan, size: int) -> None:
    """Refuse a population of ``size`` members that would not fit in the machine's memory."""
    device = resolve_device(plan.config.device)
    budget = memory.device_budget(device)
    each = member_bytes(plan)
    if size * each <= budget:
        return
    where = "half the GPU's free memory" if device.type == "cuda" else "half the memory available"
    if size == 1:
        raise invalid(
            "batch_size",
            "small enough for one member to train in memory",
            got=(
                f"one member of this sweep (its network, optimizer state and one batch's activations) needs about "
                f"{memory.size_text(each)}, over the {memory.size_text(budget)} netreg may take ({where})"
            ),
            fix="Use a smaller network or `batch_size`.",
        )
    raise invalid(
        "chunk_size",
        f"at most {budget // each} member{'s' if budget // each > 1 else ''} here: each needs about {memory.size_text(each)}, and a chunk may "
        f"take {memory.size_text(budget)} ({where})",
        size,
        "Pass a smaller `chunk_size`, or leave it out to size chunks to the machine.",
    )


def member_bytes(plan: SweepPlan) -> int:
    """Rough memory of one member: weights with their gradient, optimizer and kept copies,
    plus one minibatch's activations kept for the backward pass."""
    n_params = sum(p.numel() for p in plan.template.parameters())
    batch = plan.config.batch_size or max(len(r) for r in plan.train_rows)
    item = 8 if plan.config.dtype == "float64" else 4
    return nets.member_bytes(n_params, batch, nets.values_per_row(plan.template, plan.X), item)


def check_population_memory(plan: SweepPlan, n_members: int) -> None:
    """Refuse, before anything is allocated, a population of ``n_members`` that would not fit:
    in half the GPU's free memory, or in :data:`MEMORY_BUDGET_BYTES` on a CPU."""
    device = resolve_device(plan.config.device)
    budget = torch.cuda.mem_get_info(device)[0] // 2 if device.type == "cuda" else MEMORY_BUDGET_BYTES
    needed = n_members * member_bytes(plan)
    if needed > budget:
        raise invalid(
            "search",
            f"'grid' for a sweep whose {n_members} members need about {needed / 2**30:.1f} GiB together, over the "
            f"{budget / 2**30:.1f} GiB a population may take",
            "halving",
            "Successive halving trains every member in one population; use fewer alphas or folds, or search='grid'.",
        )


def rows_bytes(plan: SweepPlan, size: int, n_workers: int) -> int:
    """Memory of the row indices of ``n_workers`` chunks of ``size`` members at once, and of the refit.

    Members of one fold share one set of rows (:data:`ROW_SET_BYTES` per row); a chunk
    whose members span folds keeps a set per fold it spans (at most one per member).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep
    >>> X, y = load_iris(return_X_y=True)
    >>> plan = plan_sweep(NetRegClassifier((4,)), X, y, alphas=[0.1, 1.0, 10.0], cv=3)
    >>> rows_bytes(plan, 3, 2), rows_bytes(plan, 2, 2)  # 32 * 150 * (2 * 1 + 1), 32 * 150 * (2 * 2 + 1)
    (14400, 24000)
    >>> rows_bytes(plan, 9, 1)  # the three folds: 32 * 150 * (3 + 1)
    19200
    """
    n_alphas = len(plan.alphas)
    sets = 1 if size <= n_alphas and n_alphas % size == 0 else min(size, len(plan.folds))
    return ROW_SET_BYTES * plan.X.shape[0] * (n_workers * sets + 1)


def check_rows_memory(plan: SweepPlan, size: int, n_workers: int) -> None:
    """Refuse, before the store is opened, a sweep whose row indices (:func:`rows_bytes`)
    would not fit in the device's budget: the rows count, not only the columns.

    Raises
    ------
    DataError
        Naming the rows, the chunks at once, the memory they need and the budget.
    """
    device = resolve_device(plan.config.device)
    needed, budget = rows_bytes(plan, size, n_workers), memory.device_budget(device)
    if needed <= budget:
        return
    where = "half the GPU's free memory" if device.type == "cuda" else "half the memory available"
    chunks = f"{n_workers} chunk{'s' if n_workers > 1 else ''} of {size} member{'s' if size > 1 else ''}"
    raise bad_data(
        f"{plan.X.shape[0]:,} rows trained in {chunks} at once, and refit, need about {memory.size_text(needed)} "
        f"of row indices ({ROW_SET_BYTES} bytes a row per set of rows)",
        f"a sweep within the {memory.size_text(budget)} netreg may take ({where})",
        "Use a sample of the rows, fewer chunks at once (`n_jobs`), or a `chunk_size` that divides the number "
        "of alphas (the members of one fold share their rows).",
    )
