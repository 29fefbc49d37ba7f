"""Each epoch's minibatches: the orders drawn, cut into steps, read as the step's :class:`~netreg.engine.step.Batch`.

A single member cuts unpadded batches from one order of its rows; a population's batches are
padded index sets with a weight per slot (:func:`epoch_batches`). On the CPU inputs keep their
dtype and each batch is converted when read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from netreg.engine.config import TrainConfig
from netreg.engine.inputs import Inputs
from netreg.engine.row_sets import index_dtype, take_rows
from netreg.engine.state import PopulationState
from netreg.engine.step import Batch

__all__ = [
    "epoch_steps",
    "epoch_batches",
    "rows_slice",
    "member_batches",
    "member_batch",
    "population_batch",
    "EpochLosses",
    "step_flops",
]


def epoch_steps(
    state: PopulationState, config: TrainConfig, device: torch.device, *, single: bool
) -> list[tuple[Tensor | slice, Tensor | None, Tensor | None]]:
    """One epoch's minibatches: the rows of each step, the members active in it (``None``:
    all) and each member's number of valid rows in it (``(K,)`` on the CPU; ``None``: all).

    A single member's rows are a ``(B,)`` index or a slice (:func:`member_batches`); a
    population's a ``(K or 1, B)`` index, -1 for padding (:func:`epoch_batches`).
    """
    if single:
        batches = member_batches(
            state.train_rows[0],
            state.generators[0],
            shuffle=config.shuffle,
            batch_size=config.batch_size,
            device=device,
        )
        return [(rows, None, None) for rows in batches]
    index, counts, groups = epoch_batches(
        state.train_rows, state.generators, shuffle=config.shuffle, batch_size=config.batch_size, device=device
    )
    # One order for all: one input batch feeds every member. Otherwise each member reads
    # its group's order, gathered step by step (a (K, B) index, not (K, steps, B)).
    member_order = None if len(index) in (1, len(groups)) else torch.tensor(groups, device=device)
    has_batch = counts > 0
    everyone = has_batch.all(0).tolist()
    return [
        (
            index[:, step] if member_order is None else index[member_order, step],
            None if everyone[step] else has_batch[:, step].to(device),
            counts[:, step],
        )
        for step in range(index.shape[1])
    ]


def epoch_batches(
    rows: Sequence[Tensor],
    generators: Sequence[torch.Generator],
    *,
    shuffle: bool,
    batch_size: int | None,
    device: torch.device,
) -> tuple[Tensor, Tensor, list[int]]:
    """One epoch's minibatches: ``(G, steps, B)`` row indices (-1 = padding) of the ``G``
    distinct orders, each member's ``(K, steps)`` batch sizes and its order ``groups[k]``.

    Member k's rows ``rows[k]`` are shuffled with ``generators[k]`` (when ``shuffle``) and
    cut into batches of ``batch_size`` (all when ``None``); a member with fewer rows than the
    longest has padding and empty batches at the end. Members given the same generator object
    share one order, drawn once. Indices are int32 below 2**31 rows.

    Examples
    --------
    >>> index, counts, groups = epoch_batches([torch.arange(5)], [torch.Generator()], shuffle=False, batch_size=2, device=torch.device("cpu"))
    >>> index.tolist(), counts.tolist(), groups
    ([[[0, 1], [2, 3], [4, -1]]], [[2, 2, 1]], [0])
    """
    groups, firsts, seen = [], [], {}
    for k, generator in enumerate(generators):
        if id(generator) not in seen:
            seen[id(generator)] = len(firsts)
            firsts.append(k)
        groups.append(seen[id(generator)])
    longest = max(len(member_rows) for member_rows in rows)
    size = longest if batch_size is None else min(batch_size, longest)
    steps = math.ceil(longest / size)
    top = max(int(rows[k].max()) for k in firsts) + 1
    index = torch.full((len(firsts), steps * size), -1, dtype=index_dtype(top))
    # Each order is written into the index as it is drawn: one shuffled copy at a time.
    for g, k in enumerate(firsts):
        member_rows = rows[k]
        if shuffle:
            member_rows = member_rows[torch.randperm(len(member_rows), generator=generators[k])]
        index[g, : len(member_rows)] = member_rows
    lengths = torch.tensor([len(member_rows) for member_rows in rows])
    starts = torch.arange(steps) * size
    counts = (lengths.unsqueeze(1) - starts).clamp(0, size)
    return index.view(len(firsts), steps, size).to(device), counts, groups


def member_batches(
    rows: Tensor, generator: torch.Generator, *, shuffle: bool, batch_size: int | None, device: torch.device
) -> list[Tensor | slice]:
    """One epoch's minibatches of a single member: its ``rows`` (shuffled with ``generator``
    when ``shuffle``) cut into batches of ``batch_size`` (all of them when ``None``), the last
    one shorter: no padding.

    The order is the one :func:`epoch_batches` draws for the member; rows in order come as
    slices (:func:`rows_slice`).

    Examples
    --------
    >>> member_batches(torch.arange(5), torch.Generator(), shuffle=False, batch_size=2, device=torch.device("cpu"))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    >>> member_batches(torch.tensor([4, 2, 3]), torch.Generator(), shuffle=False, batch_size=2, device=torch.device("cpu"))
    [tensor([4, 2]), tensor([3])]
    """
    size = len(rows) if batch_size is None else min(batch_size, len(rows))
    if not shuffle and isinstance(rows_slice(rows), slice):
        return [slice(start, min(start + size, len(rows))) for start in range(0, len(rows), size)]
    order = rows[torch.randperm(len(rows), generator=generator)] if shuffle else rows
    return list(order.to(device).split(size))


def rows_slice(rows: Tensor) -> Tensor | slice:
    """``rows`` as a slice when they are ``0, 1, ..., L-1`` in order, else as they are.

    Indexing a tensor with a slice makes a view; with a tensor of indices, a copy.

    Examples
    --------
    >>> rows_slice(torch.arange(3)), rows_slice(torch.tensor([0, 2]))
    (slice(0, 3, None), tensor([0, 2]))
    """
    if len(rows) and int(rows[0]) == 0 and torch.equal(rows, torch.arange(len(rows), device=rows.device)):
        return slice(0, len(rows))
    return rows


def member_batch(
    inputs: Inputs,
    index: Tensor | slice,
    *,
    unit_weights: bool,
    generators: Sequence[torch.Generator] | None = None,
) -> Batch:
    """The batch of a single member's rows ``index`` (no padding, so all rows valid); no row
    weights when all are 1; ``generators``: the member's dropout generator.

    Examples
    --------
    >>> import numpy as np
    >>> from netreg.engine.inputs import validate_inputs
    >>> from netreg.nets import MLP
    >>> inputs = validate_inputs(MLP(2, (), 1), np.ones((4, 2)), np.arange(4.0), task="regression")
    >>> batch = member_batch(inputs, slice(1, 3), unit_weights=True)
    >>> batch.x.dtype, batch.target.flatten().tolist(), batch.weight
    (torch.float32, [1.0, 2.0], None)
    """
    weight = None if unit_weights else take_rows(inputs.sample_weight, index).unsqueeze(0)
    x = take_rows(inputs.X, index).to(inputs.dtype)
    return Batch(x, take_rows(inputs.y, index).unsqueeze(0), weight, True, generators=generators)


def population_batch(
    inputs: Inputs,
    index: Tensor,
    n_members: int,
    *,
    n_valid: Tensor | None = None,
    generators: Sequence[torch.Generator] | None = None,
) -> Batch:
    """The batch of a population's ``(K or 1, B)`` rows ``index`` (-1 = padding, weight 0),
    with each member's number of valid rows ``n_valid`` (``None``: not known, the index may
    hold padding) and dropout ``generators``.

    Examples
    --------
    >>> import numpy as np
    >>> from netreg.engine.inputs import validate_inputs
    >>> from netreg.nets import MLP
    >>> inputs = validate_inputs(MLP(2, (), 1), np.ones((4, 2)), np.arange(4.0), task="regression")
    >>> population_batch(inputs, torch.tensor([[3, -1]]), 2).weight.tolist()
    [[1.0, 0.0]]
    """
    shared = index.shape[0] == 1
    # Most steps give every member a full batch: no padding to mask (the same weights).
    if n_valid is None or bool((n_valid < index.shape[1]).any()):
        valid = index >= 0
        index = index.clamp_min(0)
        weight = torch.where(valid, take_rows(inputs.sample_weight, index), 0.0)
    else:
        weight = take_rows(inputs.sample_weight, index)
    target = take_rows(inputs.y, index)
    if shared:
        target = target.expand(n_members, *target.shape[1:])
    x = take_rows(inputs.X, index[0] if shared else index).to(inputs.dtype)
    return Batch(x, target, weight, shared, n_valid, generators)


class EpochLosses:
    """An epoch's batch values of every member (the losses, or scikit-learn's batch penalties) and
    the batches' total row weights, written into buffers of the epoch's size as the steps run;
    :meth:`mean` is each member's mean of them, weighted by the rows.

    Written in place, not kept as one small tensor a step: such tensors, allocated between the
    steps' temporaries, keep glibc's heap from reusing them (at 1M rows, six members' epoch grew a
    process by about 600 MB that the buffers keep under 100 MB). Converted to float64 as written:
    the same numbers, summed in the same order, as stacking the steps' tensors.

    Parameters
    ----------
    n_steps, n_members : int
    device : torch.device

    Examples
    --------
    >>> losses = EpochLosses(2, 1, torch.device("cpu"))
    >>> losses.add(torch.tensor([1.0]), 3)
    >>> losses.add(torch.tensor([4.0]), 1)
    >>> losses.mean().tolist()
    [1.75]
    """

    def __init__(self, n_steps: int, n_members: int, device: torch.device) -> None:
        self.values = torch.empty(n_steps, n_members, dtype=torch.float64, device=device)
        self.weights: Tensor | None = None
        self.counts: list[int] = []
        self.n_added = 0

    def add(self, value: Tensor, total: Tensor | int) -> None:
        """The next step's ``(K,)`` values and its rows' total weight: ``(K,)`` or ``(1,)``, or
        the number of rows where all weigh 1 (the same kind at every step)."""
        self.values[self.n_added] = value
        if isinstance(total, int):
            self.counts.append(total)
        else:
            if self.weights is None:
                self.weights = torch.empty_like(self.values)
            self.weights[self.n_added] = total
        self.n_added += 1

    def mean(self) -> Tensor:
        """``(K,)`` each member's mean of the values, weighted by the batches' total row weights."""
        weight = self.values.new_tensor(self.counts).unsqueeze(1) if self.weights is None else self.weights
        return (self.values * weight).sum(0) / weight.sum(0).clamp_min(torch.finfo(torch.float64).tiny)


def step_flops(inputs: Inputs) -> float:
    """Floating-point operations of one training step, roughly: 6 per parameter and row
    (2 forward, 4 backward) for each member; what the thread policy reads.

    Examples
    --------
    >>> import numpy as np
    >>> from netreg.engine.inputs import validate_inputs
    >>> from netreg.nets import MLP
    >>> step_flops(validate_inputs(MLP(2, (), 1), np.ones((4, 2)), np.zeros(4), task="regression"))  # 3 parameters, 4 rows
    72.0
    """
    n_params = sum(p.numel() for p in inputs.template.parameters())
    longest = max(len(rows) for rows in inputs.train_rows)
    batch = inputs.config.batch_size if inputs.config.solver != "lbfgs" else None
    return 6.0 * n_params * min(batch or longest, longest) * inputs.n_members
