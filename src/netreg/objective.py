"""The regularized objective J(W) of any PyTorch model on a data set, as a differentiable value.

    J(W) = sum_i s_i loss_i / sum_i s_i  +  penalty(W; m = sum_i s_i)

with s_i the sample weights (all 1 by default, so the first term is the mean loss and m
the number of examples). The training engine minimizes exactly this function; here it is
for users who train with their own loop, and for checking netreg against other libraries.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from netreg import penalties
from netreg.data import check_float_array, check_same_rows
from netreg.losses import Task, get_task

__all__ = ["objective"]


def objective(
    module: nn.Module,
    X: Any,
    y: Any,
    *,
    task: str | Task,
    penalty: str | penalties.Penalty | None = "l2",
    sample_weight: Any = None,
) -> Tensor:
    """The full-batch regularized objective of ``module`` on ``(X, y)``, differentiable.

    Parameters
    ----------
    module : torch.nn.Module
        The model; its output are raw scores (see :mod:`netreg.losses`).
    X : array-like or Tensor of shape (n_samples, n_features)
    y : array-like or Tensor
        Targets encoded as the task expects (class indices for multiclass, 0/1 columns
        for binary and multilabel, floats for regression).
    task : {"regression", "multiclass", "binary", "multilabel"} or Task
    penalty : {"l2", "l1", "elasticnet"}, Penalty or None, default="l2"
        The penalty with its strength; ``None`` for the data loss alone.
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    Tensor
        Scalar ``J(W)``, differentiable (``torch.autograd.grad`` or a backward pass gives its gradient).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import netreg
    >>> model = nn.Linear(1, 1)
    >>> with torch.no_grad():
    ...     _ = model.weight.fill_(2.0), model.bias.fill_(0.0)
    >>> X, y = torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0], [2.0]])
    >>> # half MSE = (1 + 4) / 4 = 1.25; penalty = 0.5 / (2 * 2) * 4 = 0.5
    >>> objective(model, X, y, task="regression", penalty=netreg.L2(alpha=0.5))
    tensor(1.7500, grad_fn=<AddBackward0>)
    """
    task = get_task(task)
    parameter = next(module.parameters())
    X = _tensor(X, "X", parameter.dtype, parameter.device)
    target_dtype = torch.long if task.target_dtype == "long" else parameter.dtype
    y = torch.as_tensor(y, dtype=target_dtype, device=parameter.device)
    if task.target_dtype == "float" and y.ndim == 1:
        y = y.reshape(-1, 1)
    weight = torch.ones(len(X), dtype=parameter.dtype, device=parameter.device)
    if sample_weight is not None:
        weight = _tensor(sample_weight, "sample_weight", parameter.dtype, parameter.device, ndim=1)
    check_same_rows(X=X, y=y, sample_weight=weight)
    total = weight.sum()
    value = (task.loss(module(X), y) * weight).sum() / total
    penalty = penalties.get(penalty)
    if penalty is not None:
        value = value + penalty(module, n_samples=float(total))
    return value


def _tensor(value: Any, name: str, dtype: torch.dtype, device: torch.device, ndim: int = 2) -> Tensor:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    return torch.as_tensor(check_float_array(value, name=name, ndim=ndim), dtype=dtype, device=device)
