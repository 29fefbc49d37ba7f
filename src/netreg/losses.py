"""Data losses and scores per task, as pure functions of raw network outputs.

Every loss returns one value per row (the ``loss_i`` of the objective), so the engine can
weight, mask and average rows per population member. The conventions are
scikit-learn's MLP ones:

=============  ===============================================  ===========  =========
task           loss_i                                           output       score
=============  ===============================================  ===========  =========
regression     ``sum_o (out_io - y_io)^2 / 2`` (half SE)        identity     R^2
poisson        ``sum_o exp(out) - y out + y log y - y``         exp          R^2
multiclass     ``-log softmax(out_i)[y_i]`` (cross-entropy)     softmax      accuracy
binary         ``-[y log s(out) + (1-y) log(1-s(out))]``        sigmoid      accuracy
multilabel     the binary loss summed over the q labels         sigmoid      accuracy
=============  ===============================================  ===========  =========

(Multilabel accuracy is subset accuracy, as ``sklearn.metrics.accuracy_score``.)

``poisson`` is ``MLPRegressor(loss="poisson")``: half the Poisson deviance of ``mu = exp(out)``
(gradient ``mu - y``), its R^2 that of ``mu``. With q targets the regression loss sums a row's
q squared errors: the function whose gradient ``MLPRegressor`` follows (its reported ``loss_``
divides by q), so a network without hidden layers is ``Ridge(alpha=alpha)`` for any q.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from netreg._checks import check_options

__all__ = ["Task", "TASKS", "GAUSSIAN_OR_BERNOULLI", "get_task"]


def half_squared_error(out: Tensor, y: Tensor) -> Tensor:
    """Per-row half squared error summed over the q outputs; ``out`` and ``y`` are (..., n, q)."""
    return 0.5 * (out - y).square().sum(-1)


def half_poisson_deviance(out: Tensor, y: Tensor) -> Tensor:
    """Per-row half Poisson deviance of ``exp(out)``, summed over the q outputs; ``out`` and ``y``
    are (..., n, q), ``y >= 0``."""
    return (torch.exp(out) - y * out + torch.special.xlogy(y, y) - y).sum(-1)


#: Where ``exp`` leaves float32's normal numbers: below, MKL's ``exp`` (what PyTorch's calls on
#: the CPU) takes a path many times slower, as a confident classifier's far-off logits do.
EXP_FLOOR = -87.0
#: Below this many numbers :func:`logsumexp` calls ``torch.logsumexp``: the floor's dozen small
#: operations cost more than ``exp``'s slow path can there (a single member's minibatch of 64
#: rows and 10 classes: 23 us against 9-19 us; a population's 16 x 200 x 10: 122 us against
#: 73-609 us), and made a single fit on digits 10 % slower.
FLOOR_MIN_NUMEL = 4096


def logsumexp(out: Tensor, keepdim: bool = False) -> Tensor:
    """``torch.logsumexp(out, dim=-1)``, bit for bit, without ``exp`` of numbers below :data:`EXP_FLOOR`.

    Below :data:`FLOOR_MIN_NUMEL` numbers, ``torch.logsumexp`` itself. Else PyTorch's own
    steps (the rows' maximum, the exponentials of the differences from it,
    their sum, its log plus the maximum) with the differences raised to :data:`EXP_FLOOR`
    first: where the maximum is finite the sum holds ``exp(0) = 1``, and the at most
    ``C * exp(-87)`` this adds is far below half its last place, so the sum rounds as
    PyTorch's; an infinite or NaN maximum gives PyTorch's infinity or NaN, a row of -inf its
    -inf. No gradient.

    Examples
    --------
    >>> out = torch.tensor([[0.0, -200.0, 3.0], [1.0, 1.0, 1.0]])
    >>> torch.equal(logsumexp(out), torch.logsumexp(out, dim=-1))
    True
    """
    if out.numel() < FLOOR_MIN_NUMEL:
        return torch.logsumexp(out, dim=-1, keepdim=keepdim)
    maxes = out.amax(-1, keepdim=True)
    # No floor for a row of -inf, whose sum is 0 (nor a reading of the values: no synchronization).
    floor = torch.where(maxes == -torch.inf, -torch.inf, EXP_FLOOR)
    maxes.masked_fill_(maxes.abs() == torch.inf, 0)  # as PyTorch's: an infinite maximum counts as 0
    total = (out - maxes).clamp_min_(floor).exp_().sum(-1, keepdim=keepdim)
    return total.log_().add_(maxes if keepdim else maxes.squeeze(-1))


def log_loss(out: Tensor, y: Tensor) -> Tensor:
    """Per-row softmax cross-entropy; ``out`` is (..., n, C) logits, ``y`` (..., n) class indices.

    ``logsumexp(out) - out[y]``: the same value as ``-log_softmax(out)[y]``, without
    materializing the log-probabilities of every class (faster, forward and backward);
    without a gradient to compute, through :func:`logsumexp`.
    """
    lse = logsumexp(out) if not (out.requires_grad and torch.is_grad_enabled()) else torch.logsumexp(out, dim=-1)
    return lse - torch.gather(out, -1, y.unsqueeze(-1)).squeeze(-1)


def binary_log_loss(out: Tensor, y: Tensor) -> Tensor:
    """Per-row sigmoid cross-entropy summed over labels; ``out`` and ``y`` are (..., n, q)."""
    return F.binary_cross_entropy_with_logits(out, y, reduction="none").sum(-1)


def _argmax_correct(out: Tensor, y: Tensor) -> Tensor:
    # max's indices are argmax's (the first maximum; a NaN counts as the maximum), at a fifth
    # of its cost on the CPU over a population's transposed outputs (benchmarks/README.md, "bench_rows.py").
    return (out.max(-1).indices == y).to(out.dtype)


def _threshold_correct(out: Tensor, y: Tensor) -> Tensor:
    return ((out > 0).to(y.dtype) == y).all(-1).to(out.dtype)


@dataclass(frozen=True)
class Task:
    """What a network is trained for: its loss, its score and its target encoding.

    Attributes
    ----------
    name : str
        ``"regression"``, ``"multiclass"``, ``"binary"`` or ``"multilabel"``.
    loss : callable
        ``loss(out, y) -> (..., n)`` per-row data loss.
    correct : callable or None
        ``correct(out, y) -> (..., n)`` 1.0 where the row is classified right; ``None``
        for regression, whose score is R^2.
    target_dtype : {"float", "long"}
        How targets are stored: class indices for multiclass, floats otherwise.
    inverse_link : callable or None
        The prediction from raw outputs, for the regression tasks (identity, or ``exp``
        for ``"poisson"``); ``None`` for classification.

    Examples
    --------
    >>> import torch
    >>> task = get_task("regression")
    >>> task.loss(torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [1.0]]))
    tensor([0.5000, 2.0000])
    """

    name: str
    loss: Callable[[Tensor, Tensor], Tensor]
    correct: Callable[[Tensor, Tensor], Tensor] | None
    target_dtype: str
    inverse_link: Callable[[Tensor], Tensor] | None = None

    @property
    def regression(self) -> bool:
        """Whether outputs predict values (scored by R^2) rather than classes."""
        return self.inverse_link is not None


def _identity(out: Tensor) -> Tensor:
    return out


TASKS = {
    "regression": Task("regression", half_squared_error, None, "float", _identity),
    "poisson": Task("poisson", half_poisson_deviance, None, "float", torch.exp),
    "multiclass": Task("multiclass", log_loss, _argmax_correct, "long"),
    "binary": Task("binary", binary_log_loss, _threshold_correct, "float"),
    "multilabel": Task("multilabel", binary_log_loss, _threshold_correct, "float"),
}


#: The tasks of a Gaussian or Bernoulli likelihood: those the Laplace evidence reads.
GAUSSIAN_OR_BERNOULLI = ("regression", "multiclass", "binary", "multilabel")


def get_task(task: str | Task, among: tuple[str, ...] | None = None) -> Task:
    """Return the :class:`Task` of that name (a ``Task`` is returned as is), one of ``among``
    (default: every task).

    Examples
    --------
    >>> get_task("poisson", among=GAUSSIAN_OR_BERNOULLI)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `task` must be one of 'regression', 'multiclass', 'binary', 'multilabel'. Got task='poisson'.
    """
    options = list(among or TASKS)
    name = task.name if isinstance(task, Task) else check_options(task, "task", options)
    if name not in options:
        check_options(name, "task", options)
    return task if isinstance(task, Task) else TASKS[name]
