"""How much memory netreg lets its input claim: one budget, read from the machine, checked before allocating.

Every size a user's input controls is checked against :func:`memory_budget` from shapes, before
anything that size is allocated (``docs/architecture.md``, "Conventions"); tests set the budget
by replacing :func:`available_memory`.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "FALLBACK_BYTES",
    "MEMORY_FRACTION",
    "available_memory",
    "memory_budget",
    "device_budget",
    "block_rows",
    "size_text",
]

#: Share of the available memory one thing sized by the input may take.
MEMORY_FRACTION = 0.5
#: What the budget assumes is available when the system does not say (8 GiB).
FALLBACK_BYTES = 8 * 1024**3


def available_memory() -> int | None:
    """Bytes of memory available to new allocations now, or None if the system does not say.

    Examples
    --------
    >>> available = available_memory()
    >>> available is None or available > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel counts in kiB
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages, page_size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def memory_budget() -> int:
    """Bytes one input-sized thing may take: :data:`MEMORY_FRACTION` of :func:`available_memory`.

    Examples
    --------
    >>> memory_budget() > 0
    True
    """
    available = available_memory()
    return int(MEMORY_FRACTION * (FALLBACK_BYTES if available is None else available))


def device_budget(device: Any) -> int:
    """Bytes one input-sized thing may take on ``device`` (a ``torch.device``):
    :data:`MEMORY_FRACTION` of the GPU's free memory on CUDA, :func:`memory_budget` elsewhere.

    Examples
    --------
    >>> import torch
    >>> device_budget(torch.device("cpu")) == memory_budget()
    True
    """
    if device.type == "cuda":
        import torch  # only a CUDA device asks torch

        return int(MEMORY_FRACTION * torch.cuda.mem_get_info(device)[0])
    return memory_budget()


def block_rows(row_bytes: int, copies: int, budget: int | None = None) -> int:
    """Rows of a dense block (a batch made dense from a sparse ``X``, an evaluation or
    prediction chunk) that fit the budget: ``budget // (row_bytes * copies)``, at least 1.

    ``copies``: how many blocks exist at once; ``budget`` defaults to :func:`memory_budget`.

    Examples
    --------
    >>> block_rows(1_000_000 * 4, copies=2, budget=1024**3)  # rows of a million float32 features in 1 GiB
    134
    >>> block_rows(10**12, copies=2, budget=1024**3)  # one row at least, whatever it takes
    1
    """
    budget = memory_budget() if budget is None else budget
    return max(1, budget // max(1, row_bytes * copies))


def size_text(n_bytes: float) -> str:
    """A size for a message: ``"20 KiB"``, ``"512 MiB"``, ``"3.2 GiB"``, ``"2.1e+06 TiB"``.

    Examples
    --------
    >>> size_text(20 * 1024), size_text(512 * 1024**2), size_text(3.2 * 1024**3), size_text(2 * 1024**6)
    ('20 KiB', '512 MiB', '3.2 GiB', '2.1e+06 TiB')
    """
    if n_bytes < 1024**2:
        return f"{n_bytes / 1024:.0f} KiB"
    if n_bytes < 1024**3:
        return f"{n_bytes / 1024**2:.0f} MiB"
    if n_bytes < 1024**4:
        return f"{n_bytes / 1024**3:.1f} GiB"
    tib = n_bytes / 1024**4
    return f"{tib:.1f} TiB" if tib < 1000 else f"{tib:.2g} TiB"
