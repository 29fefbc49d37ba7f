"""The penalties' functional forms: values (differentiable) and fused in-place gradients."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from netreg import _compat
from netreg.penalties._scaled import add_scaled_grad_, add_term

__all__ = [
    "AlphaLike",
    "l2_penalty",
    "l1_penalty",
    "elastic_net_penalty",
    "l2_penalty_grad_",
    "l1_penalty_grad_",
    "elastic_net_penalty_grad_",
]

#: A strength: one float or tensor for every weight, or a list with one per weight.
AlphaLike = float | Tensor | Sequence[float | Tensor]


def l2_penalty(weights: Iterable[Tensor], alpha: AlphaLike, *, n_samples: float | Tensor) -> Tensor:
    r"""L2 penalty :math:`\sum_j \alpha_j / (2m) \, \lVert W_j \rVert_F^2`.

    Parameters
    ----------
    weights : iterable of Tensor
        The penalized weights W[j].
    alpha : float, Tensor or sequence of them
        Strength (the lambda of the textbook objective). A float or tensor applies to
        every weight; a list or tuple gives one per weight. A tensor of shape ``(K,)``
        treats dimension 0 of every weight as a population axis.
    n_samples : float or Tensor
        m, the number of training examples (or the sum of sample weights).

    Returns
    -------
    Tensor
        A scalar, or shape ``alpha.shape`` for population strengths. Differentiable.

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([[3.0, 4.0]])
    >>> l2_penalty([w], 2.0, n_samples=10)
    tensor(2.5000)
    """
    return elastic_net_penalty(weights, alpha, l1_ratio=0.0, n_samples=n_samples)


def l1_penalty(weights: Iterable[Tensor], alpha: AlphaLike, *, n_samples: float | Tensor) -> Tensor:
    r"""L1 penalty :math:`\sum_j \alpha_j / m \, \lVert W_j \rVert_1`.

    Parameters are those of :func:`l2_penalty`.

    Examples
    --------
    >>> import torch
    >>> l1_penalty([torch.tensor([[3.0, -4.0]])], 2.0, n_samples=10)
    tensor(1.4000)
    """
    return elastic_net_penalty(weights, alpha, l1_ratio=1.0, n_samples=n_samples)


def elastic_net_penalty(
    weights: Iterable[Tensor],
    alpha: AlphaLike,
    *,
    l1_ratio: float,
    n_samples: float | Tensor,
) -> Tensor:
    r"""Elastic net :math:`\sum_j \alpha_j/m \, (r \lVert W_j\rVert_1 + (1-r)/2 \, \lVert W_j\rVert_F^2)`.

    ``l1_ratio = 0`` is :func:`l2_penalty`, ``l1_ratio = 1`` is :func:`l1_penalty`.
    Other parameters are those of :func:`l2_penalty`.

    Examples
    --------
    >>> import torch
    >>> elastic_net_penalty([torch.tensor([[3.0, -4.0]])], 2.0, l1_ratio=0.5, n_samples=10)
    tensor(1.9500)
    """
    weights = list(weights)
    total: Tensor | None = None
    for weight, coef in zip(weights, _coefficients(alpha, n_samples, weights), strict=True):
        total = add_term(total, coef, weight, 0 if isinstance(coef, float) else coef.ndim, l1_ratio)
    if total is None:
        reference = weights[0] if weights else torch.zeros(())
        shape = alpha.shape if isinstance(alpha, Tensor) else ()
        return reference.new_zeros(shape)
    return total


def l2_penalty_grad_(
    weights: Iterable[Tensor],
    grads: Iterable[Tensor],
    alpha: AlphaLike,
    *,
    n_samples: float | Tensor,
) -> None:
    """Add the gradient of :func:`l2_penalty` to ``grads`` in place: ``grad += alpha/m * W``.

    Builds no autograd graph and uses PyTorch's multi-tensor (``foreach``) kernels, so it
    costs one fused pass over the weights.

    Parameters
    ----------
    weights : iterable of Tensor
        The penalized weights W[j].
    grads : iterable of Tensor
        Their gradients, updated in place (same shapes as ``weights``).
    alpha, n_samples
        As in :func:`l2_penalty`.

    Examples
    --------
    >>> import torch
    >>> w, g = torch.tensor([[3.0, 4.0]]), torch.zeros(1, 2)
    >>> l2_penalty_grad_([w], [g], 2.0, n_samples=10)
    >>> g
    tensor([[0.6000, 0.8000]])
    """
    if isinstance(alpha, float | int) and isinstance(n_samples, float | int):
        # The common case, kept free of the general path's bookkeeping: a training step
        # should pay for one fused kernel and nothing else.
        if alpha != 0:
            with torch.no_grad():
                _compat.foreach_add_(list(grads), list(weights), alpha=alpha / n_samples)
        return
    elastic_net_penalty_grad_(weights, grads, alpha, l1_ratio=0.0, n_samples=n_samples)


def l1_penalty_grad_(
    weights: Iterable[Tensor],
    grads: Iterable[Tensor],
    alpha: AlphaLike,
    *,
    n_samples: float | Tensor,
) -> None:
    """Add the subgradient of :func:`l1_penalty` in place: ``grad += alpha/m * sign(W)``.

    ``sign(0) = 0``, the subgradient PyTorch's autograd also uses for ``abs`` at zero.

    Examples
    --------
    >>> import torch
    >>> w, g = torch.tensor([[3.0, 0.0, -4.0]]), torch.zeros(1, 3)
    >>> l1_penalty_grad_([w], [g], 2.0, n_samples=10)
    >>> g
    tensor([[ 0.2000,  0.0000, -0.2000]])
    """
    elastic_net_penalty_grad_(weights, grads, alpha, l1_ratio=1.0, n_samples=n_samples)


@torch.no_grad()
def elastic_net_penalty_grad_(
    weights: Iterable[Tensor],
    grads: Iterable[Tensor],
    alpha: AlphaLike,
    *,
    l1_ratio: float,
    n_samples: float | Tensor,
) -> None:
    """Add the (sub)gradient of :func:`elastic_net_penalty` to ``grads`` in place.

    ``grad += alpha/m * (l1_ratio * sign(W) + (1 - l1_ratio) * W)``.

    Examples
    --------
    >>> import torch
    >>> w, g = torch.tensor([[3.0, -4.0]]), torch.zeros(1, 2)
    >>> elastic_net_penalty_grad_([w], [g], 2.0, l1_ratio=0.5, n_samples=10)
    >>> g
    tensor([[ 0.4000, -0.5000]])
    """
    weights, grads = list(weights), list(grads)
    if len(weights) != len(grads):
        raise ValueError(f"Got {len(weights)} weights but {len(grads)} gradients; expected one each.")
    scales = [
        _broadcastable(c, w) if isinstance(c, Tensor) else c
        for c, w in zip(_coefficients(alpha, n_samples, weights), weights, strict=True)
    ]
    add_scaled_grad_(weights, grads, scales, l1_ratio=l1_ratio)


def _coefficients(alpha: AlphaLike, n_samples: float | Tensor, weights: list[Tensor]) -> list[float | Tensor]:
    """``alpha_j / m`` per weight: a float, or a tensor of the population's shape."""
    if isinstance(alpha, (list, tuple)):
        if len(alpha) != len(weights):
            raise ValueError(f"Got {len(alpha)} strengths for {len(weights)} weights; expected one per weight.")
        alphas = list(alpha)
    else:
        alphas = [alpha] * len(weights)
    coefs: list[float | Tensor] = []
    for a, weight in zip(alphas, weights, strict=True):
        if isinstance(a, Tensor) or isinstance(n_samples, Tensor):
            coefs.append(
                torch.as_tensor(a, dtype=weight.dtype, device=weight.device)
                / torch.as_tensor(n_samples, dtype=weight.dtype, device=weight.device)
            )
        else:
            coefs.append(float(a) / float(n_samples))
    return coefs


def _broadcastable(coef: Tensor, like: Tensor) -> Tensor:
    """``coef`` with its population dimensions leading, broadcasting over ``like``."""
    return coef.reshape(coef.shape + (1,) * (like.ndim - coef.ndim))
