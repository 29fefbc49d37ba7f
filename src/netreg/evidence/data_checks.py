"""Validation of the data the evidence is computed on, against the members' network and task.

Targets are encoded as the engine takes them (:mod:`netreg.losses`); everything becomes float64
(class indices: int64) on the members' device, a float32 ``X`` kept where the caller converts
it a block of rows at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from netreg.data import check_float_array, check_same_rows
from netreg.evidence.modules import ModuleMember, member_outputs
from netreg.evidence.stacked_mlp import StackedMLP
from netreg.exceptions import bad_data, invalid
from netreg.losses import GAUSSIAN_OR_BERNOULLI, Task, get_task

__all__ = ["EvidenceData", "check_data", "check_rows"]


@dataclass(frozen=True)
class EvidenceData:
    """Validated data: rows, targets, sample weights and the task.

    Attributes
    ----------
    x : Tensor of shape (n, n_features), float64 (or float32, as given, with ``keep_float32``)
    y : Tensor
        ``(n,)`` int64 class indices (multiclass) or ``(n, q)`` float64.
    weight : Tensor of shape (n,), float64
        Sample weights (ones by default); ``m = weight.sum()``.
    task : Task
    """

    x: Tensor
    y: Tensor
    weight: Tensor
    task: Task

    @property
    def m(self) -> float:
        """The number of training rows m: the sum of the sample weights."""
        return float(self.weight.sum())


def check_rows(
    net: StackedMLP | ModuleMember, X: Any, sample_weight: Any = None, *, keep_float32: bool = False
) -> tuple[Tensor, Tensor]:
    """``X`` and the sample weights as float64 tensors on the members' device, checked; with
    ``keep_float32``, a float32 ``X`` as it is (not copied into float64).

    Examples
    --------
    >>> from netreg.nets import MLP
    >>> from netreg.evidence.stacked_mlp import stack_members
    >>> check_rows(stack_members(MLP(2, (), 1)), [[1.0, 2.0]])[1]
    tensor([1.], dtype=torch.float64)
    >>> check_rows(stack_members(MLP(2, (), 1)), [[1.0, 2.0, 3.0]])
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: X has 3 columns; expected the 2 input features the network takes.
    """
    mlp = isinstance(net, StackedMLP)
    # A module's rows may be images.
    x = check_float_array(_numpy(X), name="X", allow_nd=not mlp, keep_float32=keep_float32)
    if mlp and x.shape[1] != net.layer_sizes[0]:
        raise bad_data(f"X has {x.shape[1]} columns", f"the {net.layer_sizes[0]} input features the network takes")
    if sample_weight is None:
        weight = np.ones(len(x))
    else:
        weight = check_float_array(_numpy(sample_weight), name="sample_weight", ndim=1)
        check_same_rows(X=x, sample_weight=weight)
        if (weight < 0).any():
            row = int(np.argmax(weight < 0))
            raise bad_data(f"sample_weight is {float(weight[row])!r} at row {row}", "weights >= 0")
        if weight.sum() <= 0:
            raise bad_data("sample_weight is all zeros", "a positive sum")
    device = net.weights[0].device
    return torch.as_tensor(x, device=device), torch.as_tensor(weight, device=device)


def check_data(
    net: StackedMLP | ModuleMember,
    X: Any,
    y: Any,
    *,
    task: str | Task,
    sample_weight: Any = None,
    keep_float32: bool = False,
) -> EvidenceData:
    """Validate ``(X, y, sample_weight)`` for the members ``net`` trained on ``task`` (a float32
    ``X`` kept as it is with ``keep_float32``, see :func:`check_rows`).

    Raises
    ------
    InvalidParameterError
        For an unknown task, or one the network's outputs cannot serve (``"binary"`` needs one).
    DataError
        For X with the wrong number of columns, targets that do not fit the task or the network,
        rows that do not match, negative sample weights.

    Examples
    --------
    >>> from netreg.nets import MLP
    >>> from netreg.evidence.stacked_mlp import stack_members
    >>> data = check_data(stack_members(MLP(2, (), 3)), [[0.0, 1.0], [1.0, 0.0]], [2, 0], task="multiclass")
    >>> data.y, data.m
    (tensor([2, 0]), 2.0)
    >>> check_data(stack_members(MLP(2, (), 3)), [[0.0, 1.0]], [3], task="multiclass")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: y is 3.0 at row 0; expected class indices 0, 1, ..., 2 for a multiclass network of 3 outputs.
    """
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    if isinstance(net, StackedMLP):
        n_outputs = net.layer_sizes[-1]
    else:  # a module says how many outputs it has by computing them
        n_outputs = member_outputs(net, check_rows(net, X[:1])[0]).shape[-1]
    if task.name == "binary" and n_outputs != 1:
        raise invalid(
            "task",
            f"a task the network's {n_outputs} outputs can serve",
            task.name,
            f"'binary' needs 1 output; use task='multiclass' or 'multilabel' for {n_outputs} outputs.",
        )
    x, weight = check_rows(net, X, sample_weight, keep_float32=keep_float32)
    if task.name == "multiclass":
        target = check_float_array(_numpy(y), name="y", ndim=1)
        bad = (target != np.round(target)) | (target < 0) | (target >= n_outputs)
        if bad.any():
            row = int(np.argmax(bad))
            raise bad_data(
                f"y is {float(target[row])!r} at row {row}",
                f"class indices 0, 1, ..., {n_outputs - 1} for a multiclass network of {n_outputs} outputs",
            )
        target = target.astype(np.int64)
    else:
        target = check_float_array(_numpy(y), name="y", ndim=np.ndim(y) if np.ndim(y) in (1, 2) else 2)
        target = target.reshape(len(target), -1)
        if target.shape[1] != n_outputs:
            raise bad_data(
                f"y has {target.shape[1]} column(s) and the network {n_outputs} output(s)",
                f"one column per output for {task.name!r}",
            )
        if task.name != "regression" and not np.isin(target, (0.0, 1.0)).all():
            row = int(np.argmax(~np.isin(target, (0.0, 1.0)).all(axis=1)))
            raise bad_data(f"y is {target[row].tolist()} at row {row}", f"0/1 labels for {task.name!r}")
    check_same_rows(X=x, y=target)
    return EvidenceData(x, torch.as_tensor(target, device=x.device), weight, task)


def _numpy(value: Any) -> Any:
    return value.detach().cpu().numpy() if isinstance(value, Tensor) else value
