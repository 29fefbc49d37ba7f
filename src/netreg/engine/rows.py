"""Per-member row sets: minibatch orders, padded index sets and their evaluation.

Members of a population may see different rows (cross-validation folds). A :class:`Rows`
holds, for every member, the indices of its rows padded to a common length, with a
weight per slot that is the row's sample weight, or 0 for padding. When all members
share the same rows it stores them once, and evaluation feeds one input batch to all.
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

__all__ = ["Rows", "EVAL_COPIES", "eval_chunk", "evaluate", "epoch_batches", "take_rows"]

Forward = Callable[[Tensor, bool], Tensor]


class Rows:
    """Row indices per member, padded with weight 0.

    Attributes
    ----------
    index : Tensor
        ``(K, L)`` row indices (``(1, L)`` when shared), padding filled with row 0.
    weight : Tensor
        Same shape: the sample weight of each slot, 0 on padding.
    shared : bool
        Whether all members have the same rows (then stored once).
    """

    def __init__(self, index: Tensor, weight: Tensor, shared: bool, n_members: int) -> None:
        self.index = index
        self.weight = weight
        self.shared = shared
        self.n_members = n_members

    @classmethod
    def build(cls, rows: Sequence[np.ndarray], sample_weight: Tensor, device: torch.device) -> Rows:
        """Pad per-member row index arrays; ``sample_weight`` is ``(n,)`` on ``device``."""
        shared = all(np.array_equal(r, rows[0]) for r in rows[1:])
        stored = rows[:1] if shared else rows
        length = max(len(r) for r in stored)
        index = torch.zeros((len(stored), length), dtype=torch.long)
        valid = torch.zeros((len(stored), length), dtype=torch.bool)
        for k, r in enumerate(stored):
            index[k, : len(r)] = torch.as_tensor(r, dtype=torch.long)
            valid[k, : len(r)] = True
        index, valid = index.to(device), valid.to(device)
        # In place: a (K, L) temporary less than torch.where's, per member and row of a sweep.
        weight = sample_weight[index].masked_fill_(~valid, 0)
        return cls(index, weight, shared, len(rows))

    def take(self, positions: Tensor) -> Rows:
        """The row sets of the members at ``positions`` (a CPU long tensor), in that order."""
        if self.shared:
            return Rows(self.index, self.weight, True, len(positions))
        on_device = positions.to(self.index.device)
        return Rows(self.index[on_device], self.weight[on_device], False, len(positions))

    def total_weight(self) -> Tensor:
        """``(K,)`` sum of weights per member: m, the n_samples of the penalty."""
        return self.weight.sum(1).expand(self.n_members)


def epoch_batches(
    rows: Sequence[Tensor],
    generators: Sequence[torch.Generator],
    *,
    shuffle: bool,
    batch_size: int | None,
    device: torch.device,
) -> tuple[Tensor, Tensor]:
    """One epoch's minibatches: ``(K or 1, steps, B)`` row indices (-1 = padding) and ``(K, steps)`` sizes.

    Member k's rows ``rows[k]`` are shuffled with ``generators[k]`` (when ``shuffle``) and
    cut into batches of ``batch_size`` (all of them when ``None``); a member with fewer
    rows than the longest has padding and empty batches at the end. With a single
    generator for several members (members with the same rows and seed), the order is
    drawn once and the index has one row, shared.

    Examples
    --------
    >>> index, counts = epoch_batches([torch.arange(5)], [torch.Generator()], shuffle=False, batch_size=2, device=torch.device("cpu"))
    >>> index.tolist(), counts.tolist()
    ([[[0, 1], [2, 3], [4, -1]]], [[2, 2, 1]])
    """
    drawn = list(zip(rows, generators))  # one generator for several members: one order
    longest = max(len(member_rows) for member_rows, _ in drawn)
    size = longest if batch_size is None else min(batch_size, longest)
    steps = math.ceil(longest / size)
    index = torch.full((len(drawn), steps * size), -1, dtype=torch.long)
    # Each member's order is written into the index as it is drawn: one member's shuffled
    # copy at a time, not all K of them beside the index.
    for k, (member_rows, generator) in enumerate(drawn):
        if shuffle:
            member_rows = member_rows[torch.randperm(len(member_rows), generator=generator)]
        index[k, : len(member_rows)] = member_rows
    lengths = torch.tensor([len(member_rows) for member_rows in rows])
    starts = torch.arange(steps) * size
    counts = (lengths.unsqueeze(1) - starts).clamp(0, size)
    return index.view(len(drawn), steps, size).to(device), counts


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
    budget of ``X``'s device (a sparse ``X`` of a million columns: 4096 rows made dense were
    16 GB), at least one.

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

    ``forward(x, shared)`` returns the population's raw outputs ``(K, n, q)`` for inputs
    ``x`` of shape ``(n, d)`` (``shared``) or ``(K, n, d)``. Rows are fed in chunks of
    ``chunk`` so that large evaluation sets fit in memory (``X`` may be a
    :class:`~netreg.engine.sparse.SparseRows`: each chunk is made dense alone). R^2 (of the
    task's prediction, ``exp(out)`` for ``"poisson"``) follows
    ``sklearn.metrics.r2_score``: averaged over outputs, and 1 (perfect) or 0 for an
    output whose targets are constant.
    """
    n_members = rows.n_members
    loss_sum = torch.zeros(n_members, dtype=torch.float64, device=rows.index.device)
    hit_sum = torch.zeros_like(loss_sum)
    residual = None
    for start in range(0, rows.index.shape[1], chunk):
        index = rows.index[:, start : start + chunk]
        weight = rows.weight[:, start : start + chunk].to(torch.float64)
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
    return loss, _r2(residual, y, rows, total)


def _r2(residual: Tensor, y: Tensor, rows: Rows, total: Tensor) -> Tensor:
    weight = rows.weight.to(torch.float64).unsqueeze(-1)
    target = y[rows.index].to(torch.float64)
    mean = (target * weight).sum(1) / total.reshape(-1, 1)[: target.shape[0]]
    spread = ((target - mean.unsqueeze(1)).square() * weight).sum(1).expand_as(residual)
    constant = spread <= 0
    ratio = residual / torch.where(constant, torch.ones_like(spread), spread)
    per_output = torch.where(constant, (residual <= 0).to(ratio.dtype), 1.0 - ratio)
    return per_output.mean(-1)


def _expand(tensor: Tensor, n_members: int) -> Tensor:
    return tensor.expand(n_members, *tensor.shape[1:]) if tensor.shape[0] == 1 else tensor
