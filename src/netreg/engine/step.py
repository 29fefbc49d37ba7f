"""The population's forward pass and its loss and gradients: the pure core of a training step.

:func:`loss_and_grads` is the only place where the objective's gradient is computed; the
minibatch loop calls it on each batch and L-BFGS on the full training set.

One backward pass through the *sum* of the members' losses gives each member exactly its
own gradient (a mean would scale every member's learning rate by 1/K). The penalty's
gradient is then added in fused multi-tensor kernels (:func:`netreg.penalties.add_scaled_grad_`)
instead of differentiating the penalty's value through autograd.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from netreg import penalties
from netreg.nets import MLP, stacked_mlp_forward

__all__ = ["Forward", "Batch", "PenaltyTerm", "stacked_forward", "loss_and_grads"]

#: ``forward(params, buffers, x, shared) -> (K, n, q)`` raw outputs of the K members, for
#: inputs ``x`` of shape ``(n, d)`` fed to every member (``shared``) or ``(K, n, d)``.
Forward = Callable[[Mapping[str, Tensor], Mapping[str, Tensor], Tensor, bool], Tensor]


class Batch(NamedTuple):
    """Rows fed to the population: inputs ``x`` (``(n, d)`` when ``shared`` by all members,
    else ``(K, n, d)``), targets ``(K, n, ...)`` and row weights ``(K or 1, n)`` (0 on padding),
    or ``None`` when every row weighs 1 (no padding, no sample weights)."""

    x: Tensor
    target: Tensor
    weight: Tensor | None
    shared: bool


class PenaltyTerm(NamedTuple):
    """The penalty as a step sees it: which parameters (``positions`` in the parameter list)
    with which scales (:func:`netreg.penalties.penalty_scales`) and ``l1_ratio``."""

    positions: tuple[int, ...]
    scales: list[Tensor]
    l1_ratio: float


def stacked_forward(template: nn.Module, *, single: bool = False) -> Forward:
    """The forward pass of K stacked copies of ``template``.

    ``template`` is the architecture; its ``training`` flag (dropout) is read at each call.
    netreg's own :class:`~netreg.nets.MLP` runs through its batched forward, about 1.5x
    faster than ``vmap``'s; any other module through ``vmap`` over
    ``torch.func.functional_call``, with an independent dropout mask per member.

    With ``single`` (a run of one member, ``K = 1``), the MLP runs on the member's own
    weights (given without the member axis, or viewed so) with plain 2-D products, as
    ``nn.Linear`` computes them, instead of batched products over a member axis of length
    1, which cost more and leave transposed weight gradients that the fused Adam step must
    copy first. The result is the same up to rounding.

    Examples
    --------
    >>> from torch.func import stack_module_state
    >>> nets = [nn.Sequential(nn.Linear(3, 2)) for _ in range(4)]
    >>> params, buffers = stack_module_state(nets)
    >>> forward = stacked_forward(nets[0])
    >>> x = torch.randn(5, 3)
    >>> torch.allclose(forward(params, buffers, x, True)[2], nets[2](x))
    True
    """
    if type(template) is MLP:
        n_layers, activation, dropout = len(template.layers), template.activation, template.dropout

        def mlp(params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor, shared: bool) -> Tensor:
            return stacked_mlp_forward(
                params, x, n_layers=n_layers, activation=activation, dropout=dropout, training=template.training
            )

        member_ndim = {name: p.ndim for name, p in template.named_parameters()}

        def mlp_single(params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor, shared: bool) -> Tensor:
            # The member's own weights as they come, or the stacked ones of a population of one
            # viewed without the member axis (squeeze, not [0]: its backward is a free reshape).
            own = {name: p if p.ndim == member_ndim[name] else p.squeeze(0) for name, p in params.items()}
            rows = x if shared else x.squeeze(0)
            kwargs = {"n_layers": n_layers, "activation": activation, "dropout": dropout, "training": template.training}
            return stacked_mlp_forward(own, rows, **kwargs).unsqueeze(0)

        return mlp_single if single else mlp

    def call(params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(template, (params, buffers), (x,))

    on_shared = vmap(call, in_dims=(0, 0, None), randomness="different")
    on_own = vmap(call, in_dims=(0, 0, 0), randomness="different")

    def generic(params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor, shared: bool) -> Tensor:
        return (on_shared if shared else on_own)(params, buffers, x)

    return generic


def loss_and_grads(
    forward: Forward,
    loss: Callable[[Tensor, Tensor], Tensor],
    params: Mapping[str, Tensor],
    param_list: Sequence[Tensor],
    buffers: Mapping[str, Tensor],
    batch: Batch,
    penalty: PenaltyTerm,
) -> tuple[Tensor, Tensor, list[Tensor]]:
    r"""Each member's weighted mean data loss on ``batch`` and the gradient of its objective.

    For member k with row weights :math:`w_{ki}` (its sample weights, 0 on padding; all 1
    when ``batch.weight`` is ``None``)

    .. math::

        L_k = \frac{\sum_i w_{ki} \, \ell(f_k(x_i), y_i)}{\sum_i w_{ki}}, \qquad
        g_k = \nabla L_k + \nabla \text{penalty}_k

    where the penalty's gradient is added in place by
    :func:`netreg.penalties.add_scaled_grad_`. No state changes: the gradients are new tensors.

    Parameters
    ----------
    forward : Forward
        The stacked forward pass (:func:`stacked_forward`).
    loss : callable
        Per-row data loss ``loss(out, y) -> (K, n)`` (a :class:`netreg.losses.Task`'s).
    params, param_list : mapping of str to Tensor, and its values as a list
        The stacked parameters ``(K, ...)``, requiring gradients.
    buffers : mapping of str to Tensor
        The stacked buffers.
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
        :math:`g_k` stacked, one per parameter of ``param_list``.

    Examples
    --------
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
    out = forward(params, buffers, batch.x, batch.shared)
    if batch.weight is None:
        total = None
        data = loss(out, batch.target).mean(1)
    else:
        total = batch.weight.sum(1)
        data = (loss(out, batch.target) * batch.weight).sum(1) / total.clamp_min(torch.finfo(total.dtype).tiny)
        total = total.detach()
    # The gradient of the sum of the members' losses, without a node for the sum.
    grads = list(torch.autograd.grad(data, param_list, grad_outputs=torch.ones_like(data)))
    positions = penalty.positions
    penalties.add_scaled_grad_(
        [param_list[i] for i in positions], [grads[i] for i in positions], penalty.scales, l1_ratio=penalty.l1_ratio
    )
    return data.detach(), total, grads
