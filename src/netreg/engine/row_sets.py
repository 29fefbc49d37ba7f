"""Which rows each member has: row sets shared by the members that have the same rows, and evaluation on them.

The members of one fold share their rows (:func:`row_groups`). A :class:`Rows` holds each
distinct held-out set padded to a common length, with a weight per slot (the sample weight,
0 for padding); when all members share one set, evaluation feeds one batch to all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from netreg import memory
from netreg.losses import Task

__all__ = [
    "ROW_SET_BYTES",
    "Rows",
    "index_dtype",
    "row_groups",
    "EVAL_COPIES",
    "eval_chunk",
    "evaluate",
    "take_rows",
]

Forward = Callable[[Tensor, bool], Tensor]

#: Bytes per row of one set of rows in the engine (indices, orders, held-out masks and weights,
#: the health check's losses; measured: ``docs/architecture.md``). Members with the same rows share one.
ROW_SET_BYTES = 32


def index_dtype(n: int) -> torch.dtype:
    """The dtype of row indices into ``n`` rows: int32 while they fit (half the memory of
    int64, per member and row of a sweep), int64 beyond.

    Examples
    --------
    >>> index_dtype(10), index_dtype(2**31 + 1)
    (torch.int32, torch.int64)
    """
    return torch.int32 if n <= torch.iinfo(torch.int32).max else torch.long


def row_groups(rows: Sequence[Any]) -> tuple[list[int], list[int]]:
    """Which members have the same rows: ``(groups, firsts)``, member k's group ``groups[k]``
    and the first member of each group ``firsts`` (a group's rows are stored once).

    Examples
    --------
    >>> a, b = np.array([0, 2]), np.array([1])
    >>> row_groups([a, b, a.copy(), b])
    ([0, 1, 0, 1], [0, 1])
    """
    groups: list[int] = []
    firsts: list[int] = []
    for k, member_rows in enumerate(rows):
        same = (g for g, first in enumerate(firsts) if _same_rows(rows[first], member_rows))
        group = next(same, len(firsts))
        if group == len(firsts):
            firsts.append(k)
        groups.append(group)
    return groups, firsts


def _same_rows(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, Tensor):
        return a.shape == b.shape and torch.equal(a, b)
    return np.array_equal(a, b)


class Rows:
    """Row indices per member, padded with weight 0; members with the same rows share them.

    Attributes
    ----------
    index : Tensor
        ``(G, L)`` row indices of the ``G`` distinct row sets, padding filled with row 0
        (int32 below 2**31 rows, see :func:`index_dtype`).
    weight : Tensor
        Same shape: the sample weight of each slot, 0 on padding.
    groups : Tensor
        ``(K,)`` long: the row set of each member (on the device of ``index``).
    n_members : int
    """

    def __init__(self, index: Tensor, weight: Tensor, groups: Tensor, n_members: int) -> None:
        self.index = index
        self.weight = weight
        self.groups = groups
        self.n_members = n_members

    @property
    def shared(self) -> bool:
        """Whether all members have the same rows (then one input batch feeds them all)."""
        return self.index.shape[0] == 1

    @classmethod
    def build(cls, rows: Sequence[np.ndarray], sample_weight: Tensor, device: torch.device) -> Rows:
        """Pad per-member row index arrays, each distinct set once; ``sample_weight`` is ``(n,)`` on ``device``."""
        groups, firsts = row_groups(rows)
        stored = [rows[k] for k in firsts]
        length = max(len(r) for r in stored)
        index = torch.zeros((len(stored), length), dtype=index_dtype(len(sample_weight)))
        valid = torch.zeros((len(stored), length), dtype=torch.bool)
        for g, r in enumerate(stored):
            index[g, : len(r)] = torch.as_tensor(r)
            valid[g, : len(r)] = True
        index, valid = index.to(device), valid.to(device)
        # In place: a (G, L) temporary less than torch.where's, per row set of a sweep.
        weight = sample_weight[index].masked_fill_(~valid, 0)
        return cls(index, weight, torch.tensor(groups, device=device), len(rows))

    def take(self, positions: Tensor) -> Rows:
        """The row sets of the members at ``positions`` (a CPU long tensor), in that order;
        the sets no member keeps are let go."""
        groups = self.groups[positions.to(self.groups.device)]
        if self.shared:
            return Rows(self.index, self.weight, groups, len(positions))
        kept, groups = torch.unique(groups, return_inverse=True)
        return Rows(self.index[kept], self.weight[kept], groups, len(positions))

    def member_slots(self, start: int, stop: int) -> tuple[Tensor, Tensor]:
        """Slots ``start:stop`` of each member: index and weight, ``(1, c)`` when shared, else ``(K, c)``."""
        index, weight = self.index[:, start:stop], self.weight[:, start:stop]
        if self.shared:
            return index, weight
        return index[self.groups], weight[self.groups]

    def total_weight(self) -> Tensor:
        """``(K,)`` sum of weights per member: m, the n_samples of the penalty."""
        totals = self.weight.sum(1)
        return totals.expand(self.n_members) if self.shared else totals[self.groups]


def take_rows(data: Tensor, index: Tensor | slice) -> Tensor:
    """The rows ``index`` of ``data``: ``data[index]``, shaped ``index.shape + data.shape[1:]``.

    A slice makes a view; a tensor goes through ``index_select``, which costs a third of
    what advanced indexing costs on the small batches of a training step.

    Examples
    --------
    >>> take_rows(torch.arange(10).reshape(5, 2), torch.tensor([[4, 0]])).tolist()
    [[[8, 9], [0, 1]]]
    """
    if isinstance(index, slice) or not isinstance(data, Tensor):  # a SparseRows indexes itself
        return data[index]
    return data.index_select(0, index.flatten()).view(*index.shape, *data.shape[1:])


#: Copies of an evaluation chunk's inputs at once, counted in the run's dtype: the rows as
#: read (float64 on a CPU, which reads ``X`` in place) and cast to the run's dtype.
EVAL_COPIES = 3


def eval_chunk(X: Any, dtype: torch.dtype, n_members: int, eval_batch_size: int) -> int:
    """Rows per member of an evaluation chunk: ``eval_batch_size // n_members``, fewer when the
    chunk's inputs (``n_members`` times the rows of ``X``, in ``dtype``) would not fit in the
    budget of ``X``'s device (a sparse ``X`` may be wide), at least one.

    Examples
    --------
    >>> eval_chunk(torch.zeros(10, 3), torch.float32, 2, 4096)
    2048
    """
    values = n_members * math.prod(X.shape[1:])
    itemsize = torch.empty((), dtype=dtype).element_size()
    fits = memory.block_rows(values * itemsize, EVAL_COPIES, memory.device_budget(X.device))
    return max(1, min(eval_batch_size // n_members, fits))


@torch.no_grad()
def evaluate(forward: Forward, X: Tensor, y: Tensor, rows: Rows, task: Task, chunk: int) -> tuple[Tensor, Tensor]:
    """Weighted mean data loss and score (accuracy or R^2) per member, each ``(K,)``.

    ``forward(x, shared)`` returns the raw outputs ``(K, n, q)`` for ``x`` of shape ``(n, d)``
    (``shared``) or ``(K, n, d)``; rows are fed in chunks of ``chunk``. R^2 (of ``exp(out)``
    for ``"poisson"``) follows ``sklearn.metrics.r2_score``: averaged over outputs; for an
    output whose targets are constant, 1 if predicted exactly, else 0.
    """
    n_members = rows.n_members
    loss_sum = torch.zeros(n_members, dtype=torch.float64, device=rows.index.device)
    hit_sum = torch.zeros_like(loss_sum)
    residual = None
    for start in range(0, rows.index.shape[1], chunk):
        index, weight = rows.member_slots(start, start + chunk)
        weight = weight.to(torch.float64)
        x = take_rows(X, index[0] if rows.shared else index)
        out = forward(x, rows.shared)
        target = _expand(take_rows(y, index), n_members)
        loss_sum += (task.loss(out, target).to(torch.float64) * weight).sum(1)
        if task.correct is not None:
            hit_sum += (task.correct(out, target).to(torch.float64) * weight).sum(1)
        else:
            squared = (task.inverse_link(out).to(torch.float64) - target.to(torch.float64)).square()
            part = (squared * weight.unsqueeze(-1)).sum(1)
            residual = part if residual is None else residual + part
    total = rows.total_weight().to(torch.float64).clamp_min(torch.finfo(torch.float64).tiny)
    loss = loss_sum / total
    if task.correct is not None:
        return loss, hit_sum / total
    return loss, _r2(residual, y, rows)


def _r2(residual: Tensor, y: Tensor, rows: Rows) -> Tensor:
    # Each row set's spread once, then each member's: its set's.
    weight = rows.weight.to(torch.float64).unsqueeze(-1)
    target = y[rows.index].to(torch.float64)
    set_total = rows.weight.sum(1).to(torch.float64).clamp_min(torch.finfo(torch.float64).tiny)
    mean = (target * weight).sum(1) / set_total.reshape(-1, 1)
    spread = ((target - mean.unsqueeze(1)).square() * weight).sum(1)
    spread = spread.expand_as(residual) if rows.shared else spread[rows.groups]
    constant = spread <= 0
    ratio = residual / torch.where(constant, torch.ones_like(spread), spread)
    per_output = torch.where(constant, (residual <= 0).to(ratio.dtype), 1.0 - ratio)
    return per_output.mean(-1)


def _expand(tensor: Tensor, n_members: int) -> Tensor:
    return tensor.expand(n_members, *tensor.shape[1:]) if tensor.shape[0] == 1 else tensor
