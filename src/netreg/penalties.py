r"""Weight penalties: pure functions over tensors, and thin classes around them.

For weight matrices :math:`W_j`, strengths :math:`\alpha_j` and :math:`m` training
examples, the penalties added to the mean data loss are

.. math::

    \text{L2} &= \sum_j \frac{\alpha_j}{2m} \lVert W_j \rVert_F^2 \\
    \text{L1} &= \sum_j \frac{\alpha_j}{m} \lVert W_j \rVert_1 \\
    \text{elastic net} &= \sum_j \frac{\alpha_j}{m}
        \Big( r \lVert W_j \rVert_1 + \frac{1 - r}{2} \lVert W_j \rVert_F^2 \Big)

with :math:`r` the ``l1_ratio``. ``m`` is the size of the training set (or the sum of the
sample weights), also in minibatch training, so the objective does not depend on the
batch size.

Each penalty comes in two forms that give the same gradient:

* its value, a differentiable tensor to add to a loss (``l2_penalty``), and
* a fused in-place update of existing gradients that builds no autograd graph
  (``l2_penalty_grad_``: ``grad += alpha / m * W``; for L1 the subgradient
  ``alpha / m * sign(W)``, with ``sign(0) = 0``).

Strengths may be per-population-member: an ``alpha`` tensor of shape ``(K,)`` treats
the first dimension of every weight as the member axis and returns ``K`` values.

A training loop over K stacked members computes the scales :math:`\alpha_{kj} / m_k`
once (:func:`penalty_scales`) and passes the same scale tensors to the fused gradient
(:func:`add_scaled_grad_`, every step) and to the value it records
(:func:`scaled_value`, every epoch): this is how netreg's engine meets the penalty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from netreg._checks import check_alpha, check_float, invalid
from netreg.selection import PenalizedParameter, penalized_parameters

__all__ = [
    "l2_penalty",
    "l1_penalty",
    "elastic_net_penalty",
    "l2_penalty_grad_",
    "l1_penalty_grad_",
    "elastic_net_penalty_grad_",
    "penalty_scales",
    "scaled_value",
    "add_scaled_grad_",
    "Penalty",
    "L2",
    "L1",
    "ElasticNet",
    "get",
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
        total = _add_term(total, coef, weight, 0 if isinstance(coef, float) else coef.ndim, l1_ratio)
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
                torch._foreach_add_(list(grads), list(weights), alpha=alpha / n_samples)
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
        for c, w in zip(_coefficients(alpha, n_samples, weights), weights)
    ]
    add_scaled_grad_(weights, grads, scales, l1_ratio=l1_ratio)


def penalty_scales(alphas: Any, n_samples: Any, weights: Sequence[Tensor]) -> list[Tensor]:
    r"""Per-member scales :math:`s_{kj} = \alpha_{kj} / m_k` of stacked weights, built once.

    A population stacks K members' weights along dimension 0. Member k's penalty on
    weight j has strength :math:`\alpha_{kj}` and divides by its own :math:`m_k`; the
    scale tensors returned here hold those ratios, shaped to broadcast over the weights,
    and :func:`add_scaled_grad_` and :func:`scaled_value` take them, so the gradient
    and the penalty value use the very same numbers.

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
            total = _add_term(total, scale.flatten(), weight, 1, l1_ratio)
        else:
            total = _add_term(total, scale, weight, 0, l1_ratio)
    return torch.zeros(()) if total is None else total


@torch.no_grad()
def add_scaled_grad_(
    weights: Sequence[Tensor], grads: Sequence[Tensor], scales: Sequence[float | Tensor], *, l1_ratio: float = 0.0
) -> None:
    r"""Add the gradient of :func:`scaled_value` to ``grads`` in place, in fused kernels.

    ``grad_j += s_j * (r * sign(W_j) + (1 - r) * W_j)``, with ``sign(0) = 0`` (the
    subgradient PyTorch's autograd also uses for ``abs`` at zero). A float scale of
    exactly 0 adds nothing, even to non-finite weights. One or two multi-tensor
    (``foreach``) kernels do all weights at once and no autograd graph is built: what a
    training step pays for its penalty.

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
        kept = [(w, g, s) for w, g, s in zip(weights, grads, scales) if not (isinstance(s, float | int) and s == 0)]
        if not kept:
            return
        weights, grads, scales = (list(column) for column in zip(*kept))
    if l1_ratio > 0.0:
        directions = torch._foreach_sign(weights)
        if l1_ratio < 1.0:
            torch._foreach_mul_(directions, l1_ratio)
            torch._foreach_add_(directions, weights, alpha=1.0 - l1_ratio)
    else:
        directions = weights
    if all(isinstance(s, float | int) for s in scales):
        if len(set(scales)) == 1:
            torch._foreach_add_(grads, directions, alpha=float(scales[0]))
        else:
            torch._foreach_add_(grads, torch._foreach_mul(directions, [float(s) for s in scales]))
    else:
        factors = [
            s if isinstance(s, Tensor) else torch.full((), s, dtype=w.dtype, device=w.device)
            for s, w in zip(scales, weights)
        ]
        torch._foreach_addcmul_(grads, directions, factors)


def _add_term(total: Tensor | None, scale: float | Tensor, weight: Tensor, dims: int, l1_ratio: float) -> Tensor | None:
    """``total + scale * (r |W|_1 + (1-r)/2 ||W||^2)``, summed over all but the first ``dims`` dimensions."""
    if isinstance(scale, float | int) and scale == 0.0:
        return total  # alpha = 0 is exactly no penalty, even for non-finite weights
    term = 0.0
    if l1_ratio > 0.0:
        term = l1_ratio * weight.abs().flatten(dims).sum(-1)
    if l1_ratio < 1.0:
        term = term + (1.0 - l1_ratio) / 2.0 * weight.square().flatten(dims).sum(-1)
    term = scale * term
    return term if total is None else total + term


def _coefficients(alpha: AlphaLike, n_samples: float | Tensor, weights: list[Tensor]) -> list[float | Tensor]:
    """``alpha_j / m`` per weight: a float, or a tensor of the population's shape."""
    if isinstance(alpha, (list, tuple)):
        if len(alpha) != len(weights):
            raise ValueError(f"Got {len(alpha)} strengths for {len(weights)} weights; expected one per weight.")
        alphas = list(alpha)
    else:
        alphas = [alpha] * len(weights)
    coefs: list[float | Tensor] = []
    for a, weight in zip(alphas, weights):
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


class Penalty:
    """Base of the penalty classes: validates and stores, then delegates to the functions.

    A penalty object holds its strength and which parameters it acts on; called on a
    model it returns the penalty value, and :meth:`grad_` adds its gradient to the
    parameters' ``.grad`` in place.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength, the lambda of the objective (>= 0).
    include, exclude : sequence of str, default=()
        Glob patterns of parameter names to add to or remove from the default rule (see
        :func:`netreg.penalized_parameters`).
    layer_alphas : mapping of str to float, optional
        Pattern -> strength for the parameters it matches.
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        layer_alphas: Mapping[str, float] | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha)
        self.include = _patterns(include, "include")
        self.exclude = _patterns(exclude, "exclude")
        if layer_alphas is not None and not isinstance(layer_alphas, Mapping):
            raise invalid("layer_alphas", "a mapping of glob pattern to alpha", layer_alphas)
        self.layer_alphas = {
            str(pattern): check_alpha(value, f"layer_alphas[{pattern!r}]")
            for pattern, value in (layer_alphas or {}).items()
        }

    @property
    def l1_ratio(self) -> float:
        """The weight of the L1 term (0 for L2, 1 for L1)."""
        raise NotImplementedError

    def targets(self, module: nn.Module, *, shared: bool = False) -> list[PenalizedParameter]:
        """List the parameters of ``module`` this penalty acts on, with their strengths.

        With ``shared=True`` the parameters without their own ``layer_alphas`` entry get
        ``alpha=None``: "whatever shared strength is used", as a population gives each
        member its own.
        """
        return penalized_parameters(
            module,
            alpha=None if shared else self.alpha,
            include=self.include,
            exclude=self.exclude,
            layer_alphas=self.layer_alphas,
        )

    def value(self, weights: Iterable[Tensor], alpha: AlphaLike, *, n_samples: float | Tensor) -> Tensor:
        """The penalty of ``weights`` at strength ``alpha`` (the functional form)."""
        return elastic_net_penalty(weights, alpha, l1_ratio=self.l1_ratio, n_samples=n_samples)

    def add_grad_(
        self, weights: Iterable[Tensor], grads: Iterable[Tensor], alpha: AlphaLike, *, n_samples: float | Tensor
    ) -> None:
        """Add the penalty's gradient to ``grads`` in place (the functional form)."""
        elastic_net_penalty_grad_(weights, grads, alpha, l1_ratio=self.l1_ratio, n_samples=n_samples)

    def __call__(self, module: nn.Module, *, n_samples: float) -> Tensor:
        """The penalty of ``module``'s selected parameters, differentiable."""
        weights, alphas = self._resolve(module)
        return self.value(weights, alphas, n_samples=_check_n_samples(n_samples))

    def grad_(self, module: nn.Module, *, n_samples: float) -> None:
        """Add the penalty's gradient to the ``.grad`` of ``module``'s selected parameters.

        Call it after the loss's backward pass and before ``optimizer.step()``, instead of
        adding the penalty value to the loss. A parameter whose ``.grad`` is ``None``
        gets one.
        """
        weights, alphas = self._resolve(module)
        for weight in weights:
            if weight.grad is None:
                weight.grad = torch.zeros_like(weight)
        self.add_grad_(weights, [w.grad for w in weights], alphas, n_samples=_check_n_samples(n_samples))

    def _resolve(self, module: nn.Module) -> tuple[list[Tensor], list[float]]:
        if not isinstance(module, nn.Module):
            raise invalid("module", "a torch.nn.Module", module, "For plain tensors use the functional form.")
        parameters = dict(module.named_parameters())
        targets = self.targets(module)
        return [parameters[t.name] for t in targets], [float(t.alpha) for t in targets]

    def get_config(self) -> dict[str, Any]:
        """A JSON-serializable description; ``get(config)`` rebuilds an equal penalty."""
        return {
            "name": self.name,
            "alpha": self.alpha,
            "include": list(self.include),
            "exclude": list(self.exclude),
            "layer_alphas": dict(self.layer_alphas),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Penalty:
        """Rebuild a penalty from :meth:`get_config` output."""
        return cls(**{key: value for key, value in config.items() if key != "name"})

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        config = self.get_config()
        config.pop("name")
        defaults = {"include": [], "exclude": [], "layer_alphas": {}}
        shown = ", ".join(f"{k}={v!r}" for k, v in config.items() if defaults.get(k, object()) != v)
        return f"{type(self).__name__}({shown})"


class L2(Penalty):
    r"""L2 penalty (weight decay in the loss): :math:`\sum_j \alpha_j/(2m) \lVert W_j\rVert_F^2`.

    Parameters are those of :class:`Penalty`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(2, 1, bias=True)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> L2(alpha=2.0)(model, n_samples=10)  # bias not penalized
    tensor(2.5000, grad_fn=<MulBackward0>)
    """

    name = "l2"

    @property
    def l1_ratio(self) -> float:
        return 0.0


class L1(Penalty):
    r"""L1 penalty (lasso): :math:`\sum_j \alpha_j/m \, \lVert W_j\rVert_1`.

    Parameters are those of :class:`Penalty`.

    Examples
    --------
    >>> from torch import nn
    >>> L1(alpha=0.5).targets(nn.Linear(3, 2))
    [PenalizedParameter(name='weight', shape=(2, 3), alpha=0.5)]
    """

    name = "l1"

    @property
    def l1_ratio(self) -> float:
        return 1.0


class ElasticNet(Penalty):
    r"""Elastic net: :math:`\sum_j \alpha_j/m \, (r \lVert W_j\rVert_1 + (1-r)/2 \, \lVert W_j\rVert_F^2)`.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength (>= 0).
    l1_ratio : float, default=0.5
        r, the mix between L1 (1.0) and L2 (0.0), in [0, 1], as in scikit-learn.
    include, exclude, layer_alphas
        As in :class:`Penalty`.

    Examples
    --------
    >>> ElasticNet(alpha=0.1, l1_ratio=0.25)
    ElasticNet(alpha=0.1, l1_ratio=0.25)
    """

    name = "elasticnet"

    def __init__(
        self,
        alpha: float = 1.0,
        l1_ratio: float = 0.5,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        layer_alphas: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(alpha, include=include, exclude=exclude, layer_alphas=layer_alphas)
        self._l1_ratio = check_float(l1_ratio, "l1_ratio", low=0.0, high=1.0)

    @property
    def l1_ratio(self) -> float:
        return self._l1_ratio

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["l1_ratio"] = self._l1_ratio
        return {key: config[key] for key in ("name", "alpha", "l1_ratio", "include", "exclude", "layer_alphas")}


PENALTIES: dict[str, type[Penalty]] = {"l2": L2, "l1": L1, "elasticnet": ElasticNet}


def get(identifier: str | Mapping[str, Any] | Penalty | None) -> Penalty | None:
    """Turn a name, a config dict or a penalty into a penalty object.

    Parameters
    ----------
    identifier : {"l2", "l1", "elasticnet"}, dict, Penalty or None
        A name gives the penalty with default strength; a dict is a
        :meth:`Penalty.get_config` output; a penalty is returned as is; ``None`` gives
        ``None`` (no penalty).

    Examples
    --------
    >>> get("l1")
    L1(alpha=1.0)
    >>> get({"name": "elasticnet", "alpha": 0.5, "l1_ratio": 0.1})
    ElasticNet(alpha=0.5, l1_ratio=0.1)
    """
    if identifier is None or isinstance(identifier, Penalty):
        return identifier
    if isinstance(identifier, str) and identifier in PENALTIES:
        return PENALTIES[identifier]()
    if isinstance(identifier, Mapping) and identifier.get("name") in PENALTIES:
        return PENALTIES[identifier["name"]].from_config(identifier)
    raise invalid(
        "penalty",
        "one of 'l2', 'l1', 'elasticnet', a config dict with such a 'name', or a Penalty",
        identifier,
    )


def _patterns(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise invalid(name, "a sequence of glob patterns (str)", value, f"Write {name}=[{value!r}].")
    patterns = tuple(value)
    if not all(isinstance(pattern, str) for pattern in patterns):
        raise invalid(name, "a sequence of glob patterns (str)", value)
    return patterns


def _check_n_samples(n_samples: Any) -> float:
    return check_float(n_samples, "n_samples", low=0.0, low_open=True)
