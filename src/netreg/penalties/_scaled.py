"""The penalty of stacked members as scales alpha_kj / m_k: built once, used for the gradient and the value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from netreg import _compat
from netreg.exceptions import invalid

__all__ = ["penalty_scales", "scaled_value", "add_scaled_grad_", "add_term"]


def penalty_scales(alphas: Any, n_samples: Any, weights: Sequence[Tensor]) -> list[Tensor]:
    r"""Per-member scales :math:`s_{kj} = \alpha_{kj} / m_k` of stacked weights, built once.

    The K members' weights are stacked along dimension 0. :func:`add_scaled_grad_` and
    :func:`scaled_value` both take these scales, so the gradient and the value use the very
    same numbers.

    Parameters
    ----------
    alphas : Tensor or array-like of shape (K, J)
        Strength of member k on weight j.
    n_samples : Tensor or array-like of shape (K,)
        :math:`m_k`, member k's number of training examples (or sum of sample weights).
    weights : sequence of J Tensor
        The stacked weights, each of shape ``(K, ...)``.

    Returns
    -------
    list of Tensor
        One per weight, of shape ``(K, 1, ..., 1)`` (as many dimensions as the weight),
        in the weight's dtype and on its device. The strengths and ``m`` are converted to
        that dtype before dividing.

    Examples
    --------
    >>> import torch
    >>> w = torch.zeros(2, 3, 4)
    >>> [s] = penalty_scales([[1.0], [6.0]], [10.0, 20.0], [w])
    >>> s.shape, s.flatten().tolist()
    (torch.Size([2, 1, 1]), [0.10000000149011612, 0.30000001192092896])
    """
    weights = list(weights)
    scales = []
    for j, weight in enumerate(weights):
        alpha = torch.as_tensor(alphas, dtype=weight.dtype, device=weight.device)
        if alpha.ndim != 2 or alpha.shape[1] != len(weights):
            raise invalid("alphas", f"a (K, {len(weights)}) array: one strength per member and weight", alpha.shape)
        m = torch.as_tensor(n_samples, dtype=weight.dtype, device=weight.device)
        scales.append((alpha[:, j] / m).reshape((-1,) + (1,) * (weight.ndim - 1)))
    return scales


def scaled_value(weights: Iterable[Tensor], scales: Sequence[float | Tensor], *, l1_ratio: float = 0.0) -> Tensor:
    r"""The penalty :math:`\sum_j s_j \big(r \lVert W_j \rVert_1 + \tfrac{1-r}{2} \lVert W_j \rVert_F^2\big)`.

    With :math:`s_j = \alpha_j / m` this is :func:`elastic_net_penalty`
    (:math:`r` = ``l1_ratio``; 0 for L2, 1 for L1).

    Parameters
    ----------
    weights : iterable of Tensor
        The weights W[j].
    scales : sequence of float or Tensor
        One per weight: a float or 0-d tensor, or a tensor of shape ``(K, 1, ..., 1)``
        from :func:`penalty_scales` for K stacked members (dimension 0 of the weight).
    l1_ratio : float, default=0.0
        :math:`r`.

    Returns
    -------
    Tensor
        Shape ``(K,)`` for stacked scales, else a scalar. Differentiable.

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([[[3.0, 4.0]], [[1.0, 0.0]]])  # 2 members
    >>> scaled_value([w], [torch.tensor([[[0.2]], [[1.0]]])])  # s/2 * ||W_k||^2
    tensor([2.5000, 0.5000])
    >>> scaled_value([w[0]], [0.2], l1_ratio=1.0)  # s * |W|_1
    tensor(1.4000)
    """
    total: Tensor | None = None
    for weight, scale in zip(weights, scales, strict=True):
        if isinstance(scale, Tensor) and scale.ndim > 0:
            if scale.ndim != weight.ndim or scale.numel() != scale.shape[0]:
                raise invalid("scales", "floats or tensors of shape (K, 1, ..., 1), one per weight", scale.shape)
            total = add_term(total, scale.flatten(), weight, 1, l1_ratio)
        else:
            total = add_term(total, scale, weight, 0, l1_ratio)
    return torch.zeros(()) if total is None else total


@torch.no_grad()
def add_scaled_grad_(
    weights: Sequence[Tensor], grads: Sequence[Tensor], scales: Sequence[float | Tensor], *, l1_ratio: float = 0.0
) -> None:
    r"""Add the gradient of :func:`scaled_value` to ``grads`` in place, in fused kernels.

    ``grad_j += s_j * (r * sign(W_j) + (1 - r) * W_j)``, with ``sign(0) = 0`` (autograd's
    subgradient of ``abs`` at zero). A float scale of exactly 0 adds nothing, even to
    non-finite weights. No autograd graph is built.

    Parameters
    ----------
    weights : sequence of Tensor
        The weights W[j].
    grads : sequence of Tensor
        Their gradients, updated in place (same shapes as ``weights``).
    scales : sequence of float or Tensor
        One per weight: a float, or a tensor that broadcasts over the weight, such as the
        ``(K, 1, ..., 1)`` scales of :func:`penalty_scales`.
    l1_ratio : float, default=0.0
        :math:`r`.

    Examples
    --------
    >>> import torch
    >>> w, g = torch.tensor([[3.0, -4.0]]), torch.zeros(1, 2)
    >>> add_scaled_grad_([w], [g], [0.2])
    >>> g
    tensor([[ 0.6000, -0.8000]])
    >>> add_scaled_grad_([w], [g], [torch.tensor([[0.1]])], l1_ratio=1.0)
    >>> g
    tensor([[ 0.7000, -0.9000]])
    """
    if not len(weights) == len(grads) == len(scales):
        raise ValueError(
            f"Got {len(weights)} weights, {len(grads)} gradients and {len(scales)} scales; expected one of each per weight."
        )
    if not weights:
        return
    if any(isinstance(s, float | int) and s == 0 for s in scales):
        kept = [
            (w, g, s)
            for w, g, s in zip(weights, grads, scales, strict=True)
            if not (isinstance(s, float | int) and s == 0)
        ]
        if not kept:
            return
        weights, grads, scales = (list(column) for column in zip(*kept, strict=True))
    if l1_ratio > 0.0:
        directions = _compat.foreach_sign(weights)
        if l1_ratio < 1.0:
            _compat.foreach_mul_(directions, l1_ratio)
            _compat.foreach_add_(directions, weights, alpha=1.0 - l1_ratio)
    else:
        directions = weights
    if all(isinstance(s, float | int) for s in scales):
        if len(set(scales)) == 1:
            _compat.foreach_add_(grads, directions, alpha=float(scales[0]))
        else:
            _compat.foreach_add_(grads, _compat.foreach_mul(directions, [float(s) for s in scales]))
    else:
        factors = [
            s if isinstance(s, Tensor) else torch.full((), s, dtype=w.dtype, device=w.device)
            for s, w in zip(scales, weights, strict=True)
        ]
        _compat.foreach_addcmul_(grads, directions, factors)


def add_term(total: Tensor | None, scale: float | Tensor, weight: Tensor, dims: int, l1_ratio: float) -> Tensor | None:
    """``total + scale * (r |W|_1 + (1-r)/2 ||W||^2)``, summed over all but the first ``dims`` dimensions.

    The one term of every penalty value (:func:`scaled_value` and the functional forms);
    ``total=None`` starts a sum, and a float ``scale`` of exactly 0 adds nothing.

    Examples
    --------
    >>> add_term(None, 0.5, torch.tensor([[3.0, -4.0]]), 0, 0.0)  # 0.5 * 25 / 2
    tensor(6.2500)
    """
    if isinstance(scale, float | int) and scale == 0.0:
        return total  # alpha = 0 is exactly no penalty, even for non-finite weights
    term = 0.0
    if l1_ratio > 0.0:
        term = l1_ratio * weight.abs().flatten(dims).sum(-1)
    if l1_ratio < 1.0:
        term = term + (1.0 - l1_ratio) / 2.0 * weight.square().flatten(dims).sum(-1)
    term = scale * term
    return term if total is None else total + term
