"""The population's loss and gradients: the pure core of a training step.

:func:`loss_and_grads` is the only place the objective's gradient is computed (the minibatch
loop and L-BFGS both call it); a single plain MLP member's backward is written out, autograd's
bit for bit (tests/engine/test_step.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from netreg import losses, penalties
from netreg.engine.forward import Forward, stacked_forward

__all__ = [
    "Forward",
    "Batch",
    "PenaltyTerm",
    "LAZY_IMPORTS",
    "import_lazy_modules",
    "per_batch",
    "penalty_value",
    "stacked_forward",
    "loss_and_grads",
]

#: What ``torch.autograd.grad`` imports (sympy with it) the first time a process trains.
LAZY_IMPORTS = ("torch.fx.experimental.symbolic_shapes",)


def import_lazy_modules() -> None:
    """Import :data:`LAZY_IMPORTS` now, so that the first training step imports nothing.

    An import stopped half way (Ctrl-C, a cancelled Ray task) leaves finished submodules under
    unfinished packages, and every later import fails (``module 'sympy' has no attribute
    'core'``): so the modules these imports added are removed before the interrupt propagates
    (new packages, and new submodules of torch), and the next call imports them afresh.

    Examples
    --------
    >>> import sys
    >>> import_lazy_modules()
    >>> all(name in sys.modules for name in LAZY_IMPORTS)
    True
    """
    if all(name in sys.modules for name in LAZY_IMPORTS):
        return
    before = set(sys.modules)
    try:
        for name in LAZY_IMPORTS:
            importlib.import_module(name)
    except BaseException:
        imported = {name.partition(".")[0] for name in before}
        ours = {name.partition(".")[0] for name in LAZY_IMPORTS}
        for name in set(sys.modules) - before:
            top = name.partition(".")[0]
            if top in ours or top not in imported:
                sys.modules.pop(name, None)
        raise


class Batch(NamedTuple):
    """Rows fed to the population: inputs ``x`` (``(n, ...)`` when ``shared`` by all members,
    else ``(K, n, ...)``), targets ``(K, n, ...)`` and row weights ``(K or 1, n)`` (0 on padding),
    or ``None`` when every row weighs 1 (no padding, no sample weights); in training, each
    member's number of valid leading rows ``n_valid`` (``(K,)`` on the CPU, ``None``: all
    rows) and its dropout generators (one per member or one for all)."""

    x: Tensor
    target: Tensor
    weight: Tensor | None
    shared: bool
    n_valid: Tensor | None = None
    generators: Sequence[torch.Generator] | None = None


class PenaltyTerm(NamedTuple):
    """The penalty as a step sees it: which parameters (``positions`` in the parameter list)
    with which scales (:func:`netreg.penalties.penalty_scales`; plain numbers in a run of
    one member) and ``l1_ratio``."""

    positions: tuple[int, ...]
    scales: list[Tensor] | list[float]
    l1_ratio: float


def per_batch(penalty: PenaltyTerm, n_samples: Tensor, batch_weight: Tensor) -> PenaltyTerm:
    """``penalty`` with ``alpha`` divided by each member's batch weight instead of its m:
    scikit-learn's MLP objective for ``sgd`` and ``adam`` (``alpha_scale="batch"``).

    ``n_samples`` is ``(K,)``, each member's m (its scales are ``alpha / m``);
    ``batch_weight`` ``(K or 1, B)``, the batch's row weights (0 on padding). A member
    without rows in the batch gets no penalty (it does not step).

    Examples
    --------
    >>> penalty = PenaltyTerm((0,), [torch.tensor([[0.1], [0.2]])], 0.0)  # alpha / m with m = 10
    >>> per_batch(penalty, torch.tensor([10.0, 10.0]), torch.ones(1, 4)).scales[0].flatten().tolist()
    [0.25, 0.5]
    """
    total = batch_weight.sum(1).to(n_samples.dtype)
    factor = torch.where(total > 0, n_samples / total.clamp_min(torch.finfo(total.dtype).tiny), 0.0)
    scales = [s * factor.to(s.dtype).reshape((-1,) + (1,) * (s.ndim - 1)) for s in penalty.scales]
    return penalty._replace(scales=scales)


@torch.no_grad()
def penalty_value(weights: Sequence[Tensor], penalty: PenaltyTerm) -> Tensor:
    """``(K,)`` float64: each member's penalty at ``weights`` (its penalized weights, stacked).

    Examples
    --------
    >>> penalty_value([torch.ones(2, 1, 3)], PenaltyTerm((0,), [torch.tensor([[[1.0]], [[2.0]]])], 0.0)).tolist()
    [1.5, 3.0]
    """
    value = penalties.scaled_value([w.detach() for w in weights], penalty.scales, l1_ratio=penalty.l1_ratio)
    return value.to(torch.float64)


def loss_and_grads(
    forward: Forward,
    loss: Callable[[Tensor, Tensor], Tensor],
    params: Mapping[str, Tensor],
    param_list: Sequence[Tensor],
    buffers: Mapping[str, Tensor],
    batch: Batch,
    penalty: PenaltyTerm,
) -> tuple[Tensor, Tensor | None, list[Tensor]]:
    r"""Each member's weighted mean data loss on ``batch`` and the gradient of its objective.

    For member k with row weights :math:`w_{ki}` (its sample weights, 0 on padding; all 1
    when ``batch.weight`` is ``None``)

    .. math::

        L_k = \frac{\sum_i w_{ki} \, \ell(f_k(x_i), y_i)}{\sum_i w_{ki}}, \qquad
        g_k = \nabla L_k + \nabla \text{penalty}_k

    (the penalty's gradient added by :func:`netreg.penalties.add_scaled_grad_`); the gradients
    are new tensors.

    Parameters
    ----------
    forward : Forward
        The stacked forward pass (:func:`~netreg.engine.forward.stacked_forward`).
    loss : callable
        Per-row data loss ``loss(out, y) -> (K, n)`` (a :class:`netreg.losses.Task`'s).
    params, param_list, buffers : mapping of str to Tensor, its values as a list, mapping
        The stacked parameters ``(K, ...)`` requiring gradients (a single member's own, without
        the member axis, for a forward whose ``own_weights`` is true), and the stacked buffers.
    batch : Batch
    penalty : PenaltyTerm

    Returns
    -------
    loss : Tensor
        ``(K,)`` :math:`L_k`, detached.
    total : Tensor or None
        ``(K,)`` or ``(1,)`` (shared rows) sum of the row weights, detached; ``None``
        when ``batch.weight`` is ``None`` (each member's total is the number of rows).
    grads : list of Tensor
        :math:`g_k` stacked, one per parameter of ``param_list`` (in its layout).

    Examples
    --------
    >>> from torch import nn
    >>> from netreg.losses import get_task
    >>> params = {"weight": torch.ones(2, 1, 1, requires_grad=True)}  # 2 members of nn.Linear(1, 1, bias=False)
    >>> forward = stacked_forward(nn.Linear(1, 1, bias=False))
    >>> batch = Batch(torch.tensor([[2.0]]), torch.zeros(2, 1, 1), torch.ones(1, 1), shared=True)
    >>> scales = [torch.tensor([[[0.0]], [[1.0]]])]  # alpha / m of each member
    >>> loss, total, grads = loss_and_grads(forward, get_task("regression").loss, params, list(params.values()), {},
    ...                                     batch, PenaltyTerm((0,), scales, 0.0))
    >>> loss.tolist(), grads[0].flatten().tolist()  # loss (2w)^2 / 2; gradient 4w + alpha/m * w
    ([2.0, 2.0], [4.0, 5.0])
    """
    # By hand: a single member on unweighted rows, or a population on weighted ones (padding).
    if (
        getattr(forward, "by_hand", False)
        and loss in _OUTPUT_GRADIENTS
        and (batch.weight is None) == forward.own_weights
    ):
        return _by_hand(forward, loss, params, param_list, batch, penalty)
    out = forward(params, buffers, batch.x, batch.shared, batch.n_valid, batch.generators)
    if batch.weight is None:
        total = None
        data = loss(out, batch.target).mean(1)
    else:
        total = batch.weight.sum(1)
        data = (loss(out, batch.target) * batch.weight).sum(1) / total.clamp_min(torch.finfo(total.dtype).tiny)
        total = total.detach()
    # The gradient of the sum of the members' losses, without a node for the sum. A parameter
    # the forward never uses gets a zero gradient: it moves only by its penalty, as under a
    # plain PyTorch loop whose loss holds the penalty (its data gradient is None there).
    grads = list(
        torch.autograd.grad(
            data, param_list, grad_outputs=torch.ones_like(data), allow_unused=True, materialize_grads=True
        )
    )
    positions = penalty.positions
    penalties.add_scaled_grad_(
        [param_list[i] for i in positions], [grads[i] for i in positions], penalty.scales, l1_ratio=penalty.l1_ratio
    )
    return data.detach(), total, grads


def _log_loss_and_gradient(out: Tensor, target: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    # losses.log_loss, logsumexp(out) - out[y], and autograd's backward of it: the
    # logsumexp's g * exp(out - lse), plus the gather's -g scattered onto each row's class.
    # Autograd sums the two into a tensor laid out row-major, whatever the layout of ``out``
    # (a population's is transposed): the same layout, so that the products after it round alike.
    lse = losses.logsumexp(out, keepdim=True)
    loss = lse.squeeze(-1) - torch.gather(out, -1, target.unsqueeze(-1)).squeeze(-1)
    grad = (g.unsqueeze(-1) * (out - lse).exp()).contiguous()
    return loss, grad.scatter_add_(-1, target.unsqueeze(-1), (-g).unsqueeze(-1))


def _half_squared_error_and_gradient(out: Tensor, target: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    # losses.half_squared_error, 0.5 * (out - y).square().sum(-1), and autograd's backward
    # of it: the mul's g * 0.5, times the square's 2 * (out - y).
    residual = out - target
    return 0.5 * residual.square().sum(-1), (g * 0.5).unsqueeze(-1) * (2.0 * residual)


#: The per-row losses whose value and output gradient :func:`loss_and_grads` computes by
#: hand: ``(loss (n,), gradient (n, q))`` given the gradient ``g`` of each row's loss.
_OUTPUT_GRADIENTS = {
    losses.log_loss: _log_loss_and_gradient,
    losses.half_squared_error: _half_squared_error_and_gradient,
}


def _by_hand(
    forward: Forward,
    loss: Callable[[Tensor, Tensor], Tensor],
    params: Mapping[str, Tensor],
    param_list: Sequence[Tensor],
    batch: Batch,
    penalty: PenaltyTerm,
) -> tuple[Tensor, Tensor | None, list[Tensor]]:
    """:func:`loss_and_grads` of netreg's MLP without autograd: a single member on unweighted
    rows, or a population on weighted rows; the output gradient written out for the task's
    loss (the backward of the weighted mean as autograd computes it: ``1 / total`` times each
    row's weight), then ``_MLPForward.backprop``."""
    with torch.no_grad():
        own = forward.own(params) if forward.own_weights else params
        x = batch.x.squeeze(0) if forward.own_weights and not batch.shared else batch.x
        outputs = forward.layers(own, x)
        out = forward.output(outputs)
        if batch.weight is None:
            target = batch.target[0]
            g = out.new_ones(out.shape[0]) / out.shape[0]  # the mean's backward
        else:
            target = batch.target
            total = batch.weight.sum(1)
            denominator = total.clamp_min(torch.finfo(total.dtype).tiny)
            g = (out.new_ones(out.shape[0]) / denominator).unsqueeze(1) * batch.weight
        per_row, grad = _OUTPUT_GRADIENTS[loss](out, target, g)
        grads = forward.backprop(own, outputs, grad)
        grad_list = [grads[name].view(p.shape) for name, p in params.items()]
        positions = penalty.positions
        penalties.add_scaled_grad_(
            [param_list[i] for i in positions],
            [grad_list[i] for i in positions],
            penalty.scales,
            l1_ratio=penalty.l1_ratio,
        )
    if batch.weight is None:
        return per_row.unsqueeze(0).mean(1), None, grad_list
    return (per_row * batch.weight).sum(1) / denominator, total, grad_list
