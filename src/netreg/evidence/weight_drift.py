r"""The evidence's stationary point in alpha when the curvature moves with the weights.

MacKay's re-estimate :math:`\alpha_l = \gamma_l / \lVert W_l\rVert^2`
(:mod:`netreg.evidence.fixed_point`) holds the curvature still. The evidence that the 16-member
grid maximizes (``selection="evidence"``) is that of the weights trained at each alpha,
:math:`W^*(\alpha)`, and a network's curvature :math:`H(W)` moves with them: shrinking the
output weights shrinks the curvature of the hidden ones, and for classification the loss
Hessian grows as the predictions soften. Its derivative in :math:`\alpha_l` then has one term
more (implicit differentiation of the objective's gradient, :math:`dW^*/d\alpha_l = -(H + A)^{-1}
P_l W`, :math:`P_l` keeping layer l's weights):

.. math:: c_l = -\frac12 \nabla_W \log\det(H(W) + A) \cdot \frac{dW^*}{d\alpha_l}
    = \frac12 D_{v_l} \log\det(H(W) + A), \qquad v_l = (H + A)^{-1} P_l W,

and the evidence is stationary where :math:`\gamma_l = \alpha_l(\beta\lVert W_l\rVert^2 - 2c_l)`
(:math:`\beta = 1/s^2` for regression, 1 for classification). The directional derivative
:math:`D_{v_l}` is a central difference over the weights that alphas :data:`STEP` smaller and
larger would have, to first order (:math:`W \mp \delta\alpha_l v_l`): a difference, not a
derivative, since the curvature of ReLU units is piecewise constant in the weights. The curvature
is the one the fixed point reads (exact, or Kronecker factors per layer, whose inverse is applied
in their eigenbases).

For a network without hidden layers and half squared error :math:`c = 0`; for one without
hidden layers and a classification loss, :mod:`netreg.evidence.fixed_point` may compute the term
in closed form: :func:`profile_alphas` is for networks with more than one penalized weight.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from netreg.evidence.curvature import kronecker_eigenvalues
from netreg.evidence.data_checks import EvidenceData
from netreg.evidence.fixed_point import FixedPoint, stationary_alphas, weight_blocks
from netreg.evidence.modules import ModuleMember
from netreg.evidence.stacked_mlp import StackedMLP

__all__ = ["STEP", "curvature_drift", "profile_alphas"]

#: The central difference's step: the weights of alphas 10 % smaller and larger, to first order.
STEP = 0.1

Build = Callable[[Mapping[str, Tensor]], StackedMLP | ModuleMember]


def curvature_drift(
    build: Build,
    state_dict: Mapping[str, Tensor],
    alphas: Mapping[str, float],
    data: EvidenceData,
    *,
    curvature: str,
    layerwise: bool = True,
) -> Tensor:
    r""":math:`c_l` of each penalized weight (module docstring), float64; one value for all
    layers with ``layerwise=False`` (:math:`v = (H + A)^{-1} W`, every layer's weights).

    Parameters
    ----------
    build : callable
        Turns a state dict into the member the curvature reads (:func:`netreg.evidence.stack_members`
        or :func:`netreg.evidence.modules.module_member`).
    state_dict : mapping of str to Tensor
        The member's weights.
    alphas : mapping of str to float
        The penalized parameters, in the curvature's order, and their alphas (> 0).
    data : EvidenceData
    curvature : {"exact", "kfac"}

    Examples
    --------
    >>> import numpy as np
    >>> import netreg
    >>> from netreg.evidence import stack_members
    >>> from netreg.evidence.data_checks import check_data
    >>> X, y = np.random.default_rng(0).normal(size=(80, 3)), np.arange(80) % 2
    >>> model = netreg.NetRegClassifier((4,), alpha=1.0, max_iter=50, random_state=0).fit(X, y)
    >>> state = model.module_.state_dict()
    >>> build = lambda sd: stack_members(dict(sd), activation="relu")
    >>> alphas = {"layers.0.weight": 1.0, "layers.1.weight": 1.0}
    >>> data = check_data(build(state), X, y, task="binary")
    >>> curvature_drift(build, state, alphas, data, curvature="exact").shape
    torch.Size([2])
    """
    names = list(alphas)
    weights = [state_dict[name].detach().to(torch.float64) for name in names]
    alpha = torch.tensor([alphas[name] for name in names], dtype=torch.float64)
    directions = _directions(build(state_dict), data, curvature, weights, alpha, layerwise)
    if directions is None:  # H + A not positive definite: a diverged member's weights
        return torch.full((len(names) if layerwise else 1,), math.nan, dtype=torch.float64)
    drift = []
    for l, direction in enumerate(directions):
        h = STEP * float(alpha[l if layerwise else 0])
        sides = []
        for sign in (1.0, -1.0):
            moved = dict(state_dict)
            for name, w, v in zip(names, weights, direction, strict=True):
                moved[name] = (w + sign * h * v).to(state_dict[name].dtype)
            sides.append(_log_det(build(moved), data, curvature, alpha))
        drift.append(0.25 * (sides[0] - sides[1]) / h)
    return torch.stack(drift)


def profile_alphas(step: FixedPoint, drift: Tensor, n_values: float) -> tuple[float, ...]:
    r"""The re-estimate where the evidence of the trained weights is stationary:
    :math:`\gamma_l = \alpha_l(\beta\lVert W_l\rVert^2 - 2c_l)` solved as
    :func:`netreg.evidence.fixed_point.stationary_alphas` does, with ``drift`` :math:`c_l`
    (one for all layers: totals), for regression with :math:`s^2 = 1/\beta` the evidence's
    maximizer at the current alphas, :math:`(2E + \sum_l \alpha_l\lVert W_l\rVert^2) / (mq)`
    (``n_values``: :math:`mq`, the rows' weight times the outputs). Where that is not a positive
    number (a NaN drift), MacKay's ``step.new_alphas``; NaN where that is not one either.

    Examples
    --------
    >>> step = FixedPoint((1.0,), (2.0,), (4.0,), (2.0,), 0.0, None, "exact")
    >>> profile_alphas(step, torch.tensor([0.5]), 10)
    (2.5,)
    >>> profile_alphas(step, torch.tensor([math.nan]), 10)  # MacKay's
    (2.0,)
    """
    gamma = torch.tensor(step.gamma, dtype=torch.float64)
    sq_norms = torch.tensor(step.weight_sq_norms, dtype=torch.float64)
    alphas = torch.tensor(step.alphas, dtype=torch.float64)
    beta = torch.ones((), dtype=torch.float64)
    if step.noise_variance is not None:
        residual = step.noise_variance * (n_values - float(gamma.sum()))  # 2E: MacKay's s^2 is 2E / (mq - gamma)
        beta = n_values / (residual + (alphas * sq_norms).sum())
    if len(drift) == len(gamma):
        new = stationary_alphas(gamma, beta * sq_norms, alphas, drift, layerwise=True)
    else:  # one alpha for all layers: the totals
        totals = (gamma.sum()[None], (beta * sq_norms).sum()[None], alphas[:1], drift.sum()[None])
        new = stationary_alphas(*totals, layerwise=True).expand(len(gamma))
    # Away from the MAP (minibatch weights mid-training) the stationary condition may have no
    # positive solution; MacKay's step then still moves alpha, where NaN would hold it at its start.
    mackay = torch.tensor(step.new_alphas, dtype=torch.float64)
    new = torch.where(torch.isfinite(new) & (new > 0), new, mackay)
    new = torch.where(torch.isfinite(new) & (new > 0), new, torch.full_like(new, math.nan))
    return tuple(new.tolist())


def _directions(
    net: StackedMLP | ModuleMember,
    data: EvidenceData,
    curvature: str,
    weights: list[Tensor],
    alpha: Tensor,
    layerwise: bool,
) -> list[list[Tensor]] | None:
    """Per direction (one per layer, or one), :math:`(H + A)^{-1} P_l W` split by layer; None
    where :math:`H + A` is not positive definite."""
    blocks = weight_blocks(net, data, curvature)
    sizes = [w.numel() for w in weights]
    if curvature == "exact":
        [ggn] = blocks
        prior = torch.repeat_interleave(alpha, torch.tensor(sizes))
        factor, info = torch.linalg.cholesky_ex(ggn + torch.diag(prior.to(ggn)))
        if int(info) != 0 or not bool(torch.isfinite(factor).all()):
            return None
        flat = torch.cat([w.flatten() for w in weights]).to(ggn)
        starts = [0, *torch.cumsum(torch.tensor(sizes), 0).tolist()]
        masks = (
            [torch.arange(len(flat)).ge(a) & torch.arange(len(flat)).lt(b) for a, b in itertools.pairwise(starts)]
            if layerwise
            else [torch.ones(len(flat), dtype=torch.bool)]
        )
        solved = [torch.cholesky_solve((flat * m.to(flat)).unsqueeze(-1), factor).squeeze(-1) for m in masks]
        return [[part.reshape(w.shape).cpu() for part, w in zip(v.split(sizes), weights, strict=True)] for v in solved]
    per_layer = []
    for (a, g), w, value in zip(blocks, weights, alpha, strict=True):
        eig_a, basis_a = torch.linalg.eigh(a)
        eig_g, basis_g = torch.linalg.eigh(g)
        matrix = w.reshape(w.shape[0], -1).to(a)
        rotated = basis_g.T @ matrix @ basis_a
        scaled = rotated / (eig_g.clamp_min(0)[:, None] * eig_a.clamp_min(0)[None, :] + value)
        per_layer.append((basis_g @ scaled @ basis_a.T).reshape(w.shape).cpu())
    if not layerwise:
        return [per_layer]
    return [[v if j == l else torch.zeros_like(v) for j, v in enumerate(per_layer)] for l in range(len(weights))]


def _log_det(net: StackedMLP | ModuleMember, data: EvidenceData, curvature: str, alpha: Tensor) -> Tensor:
    """:math:`\\log\\det(H + A)` of the member's curvature (Kronecker-factored: per layer); NaN
    where it is not positive definite."""
    blocks = weight_blocks(net, data, curvature)
    if curvature == "exact":
        [ggn] = blocks
        sizes = [w[0].numel() if isinstance(net, StackedMLP) else w.numel() for w in net.weights]
        prior = torch.repeat_interleave(alpha, torch.tensor(sizes)).to(ggn)
        factor, info = torch.linalg.cholesky_ex(ggn + torch.diag(prior))
        if int(info) != 0:
            return torch.tensor(math.nan, dtype=torch.float64)
        return 2.0 * factor.diagonal().log().sum().cpu()
    values = [kronecker_eigenvalues(a[None], g[None], net.n_params)[0] for a, g in blocks]
    return sum(torch.log(v + a.to(v)).sum() for v, a in zip(values, alpha, strict=True)).cpu()
