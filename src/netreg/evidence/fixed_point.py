r"""MacKay's fixed point at the current weights: alpha re-estimated per penalized layer, or one for all.

For a member at weights W with one prior precision :math:`\alpha_l` per penalized weight matrix
:math:`W_l` (:math:`n_l` weights; :math:`A = \mathrm{diag}(\alpha_l I_{n_l})`), MacKay's effective
number of parameters of layer l is

.. math:: \gamma_l = n_l - \alpha_l \, \mathrm{tr}_l\big((H + A)^{-1}\big)

(:math:`\mathrm{tr}_l`: the trace of the layer's diagonal block; H the GGN of :math:`\sum_i w_i
\ell_i`, :mod:`netreg.evidence.ggn`), and the evidence is stationary in :math:`\alpha_l` where
:math:`\alpha_l = \gamma_l / \lVert W_l\rVert^2` (MacKay's update holds H still;
:mod:`netreg.evidence.weight_drift` counts its drift with the weights). With one alpha for all
layers (``layerwise=False``), :math:`\alpha = \sum_l \gamma_l / \sum_l \lVert W_l\rVert^2`.
``curvature="exact"`` forms H (cross-layer blocks included) and factors :math:`H + A` (Cholesky);
``"kfac"`` keeps each layer's Kronecker-factored block, so :math:`\gamma_l = \sum_k \lambda_{lk} /
(\lambda_{lk} + \alpha_l)` over its eigenvalues (:func:`netreg.evidence.curvature.compute_curvature`);
``"ekfac"`` the same over EKFAC's (the exact block's diagonal in the factors' eigenbasis).

For classification netreg's alpha is the prior precision. For regression (the scalings:
:mod:`netreg.evidence.laplace`) MacKay's updates of the prior and noise precisions give

.. math:: s^2 = \frac{2E}{mq - \gamma}, \qquad \alpha_l = \frac{\gamma_l \, s^2}{\lVert W_l\rVert^2},

:math:`E = \sum_i w_i \ell_i`; in scikit-learn's ``BayesianRidge`` (hyperpriors 0, centred data)
netreg's alpha is ``lambda_ / alpha_``. The log evidence reported is
:func:`netreg.evidence.laplace.laplace_log_evidence` at the given alphas (for regression with
:math:`s^2` its maximizer there), as :func:`netreg.evidence.log_evidence` computes it.

References
----------
MacKay, D. J. C. (1992). Bayesian interpolation. Neural Computation 4(3), 415-447.
MacKay, D. J. C. (1992). A practical Bayesian framework for backpropagation networks.
Neural Computation 4(3), 448-472.
Immer, A., Bauer, M., Fortuin, V., Rätsch, G. & Khan, M. E. (2021). Scalable marginal likelihood
estimation for model selection in deep learning. ICML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from netreg._checks import check_int, check_options
from netreg.evidence.curvature import (
    CURVATURES,
    EXACT_MAX_PARAMS,
    eigenbasis_eigenvalues,
    kronecker_bases,
    kronecker_eigenvalues,
)
from netreg.evidence.data_checks import EvidenceData
from netreg.evidence.ggn import exact_member_ggn, kfac_factors, kronecker_diagonal
from netreg.evidence.laplace import laplace_log_evidence, weighted_data_loss
from netreg.evidence.modules import (
    ModuleMember,
    member_outputs,
    module_ggn,
    module_kfac_factors,
    module_kronecker_diagonal,
)
from netreg.evidence.stacked_mlp import StackedMLP
from netreg.exceptions import invalid

__all__ = ["FixedPoint", "fixed_point", "stationary_alphas", "weight_blocks", "block_eigenvalues"]


@dataclass(frozen=True)
class FixedPoint:
    """The evidence of one member at its current weights and alphas, and MacKay's re-estimate.

    Attributes
    ----------
    alphas : tuple of float
        The alphas it was computed at, one per penalized layer.
    new_alphas : tuple of float
        MacKay's re-estimate, one per layer (all equal with ``layerwise=False``); NaN where it
        is undefined (a layer of zero weights, or a diverged member).
    gamma : tuple of float
        :math:`\\gamma_l`, the effective number of parameters of each layer.
    weight_sq_norms : tuple of float
        :math:`\\lVert W_l\\rVert^2`.
    log_evidence : float
        At ``alphas`` (module docstring).
    noise_variance : float or None
        Regression: MacKay's re-estimate :math:`s^2 = 2E / (mq - \\gamma)`; None otherwise.
    curvature : {"exact", "kfac", "ekfac"}
    """

    alphas: tuple[float, ...]
    new_alphas: tuple[float, ...]
    gamma: tuple[float, ...]
    weight_sq_norms: tuple[float, ...]
    log_evidence: float
    noise_variance: float | None
    curvature: str


def fixed_point(
    net: StackedMLP | ModuleMember,
    data: EvidenceData,
    alphas: Sequence[float],
    *,
    layerwise: bool = True,
    curvature: str = "auto",
    exact_max_params: int = EXACT_MAX_PARAMS,
    factor_dtype: torch.dtype | None = None,
) -> FixedPoint:
    """MacKay's re-estimate of one member's alphas at its current weights, on validated data.

    Parameters
    ----------
    net : StackedMLP or ModuleMember
        One member: netreg's MLP (:func:`netreg.evidence.stack_members`) or a user's module
        (:func:`netreg.evidence.modules.module_member`), each penalized weight a block (:func:`weight_blocks`).
    data : EvidenceData
        Its training rows (:func:`netreg.evidence.data_checks.check_data`).
    alphas : sequence of float
        The current alpha of each penalized layer, > 0.
    layerwise : bool, default=True
        One alpha per layer; else one for all (the layers' alphas must then be equal).
    curvature : {"auto", "exact", "kfac", "ekfac"}, default="auto"
        ``"auto"`` is exact up to ``exact_max_params`` penalized weights.
    exact_max_params : int, default=EXACT_MAX_PARAMS
    factor_dtype : torch.dtype, optional
        With Kronecker-factored curvature (``"kfac"``, ``"ekfac"``), the dtype the factors' sums run in
        (:func:`weight_blocks`); the eigenvalues, log det and gamma stay float64. None: the
        data's dtype.

    Returns
    -------
    FixedPoint

    Examples
    --------
    >>> import numpy as np
    >>> import netreg
    >>> from netreg.evidence import stack_members
    >>> from netreg.evidence.data_checks import check_data
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> y = X @ [1.0, -2.0, 0.0] + rng.normal(size=50)
    >>> model = netreg.NetRegRegressor((), solver="lbfgs", dtype="float64", alpha=1.0).fit(X, y)
    >>> net = stack_members(model.module_)
    >>> step = fixed_point(net, check_data(net, X, y, task="regression"), [1.0])
    >>> step.curvature, round(step.gamma[0], 2), round(step.log_evidence, 2)
    ('exact', 2.93, -76.1)
    """
    if net.n_members != 1:
        raise invalid("net", "one member", f"{net.n_members} stacked members")
    sizes = tuple(w[0].numel() for w in net.weights) if isinstance(net, StackedMLP) else net.sizes
    if len(alphas) != len(sizes) or not all(math.isfinite(a) and a > 0 for a in alphas):
        raise invalid("alphas", f"one finite alpha > 0 per penalized layer ({len(sizes)})", list(alphas))
    if not layerwise and len(set(alphas)) > 1:
        raise invalid("alphas", "equal alphas with layerwise=False", list(alphas))
    method = check_options(curvature, "curvature", list(CURVATURES))
    if method == "auto":
        method = "exact" if net.n_params <= check_int(exact_max_params, "exact_max_params", low=0) else "kfac"
    alpha = torch.tensor(alphas, dtype=torch.float64, device=data.x.device)
    blocks = weight_blocks(net, data, method, dtype=factor_dtype)
    logdet, gamma = _exact(blocks, alpha, sizes) if method == "exact" else _kfac(blocks, alpha, net.n_params)
    sq_norms = torch.stack([w.square().sum() for w in net.weights])
    loss = weighted_data_loss(net, data)
    n_outputs = member_outputs(net, data.x[:1]).shape[-1]
    log_z, _, _ = laplace_log_evidence(
        data_loss=loss,
        weight_sq_norm=sq_norms[None],
        log_det=logdet[None],
        n_params=sizes,
        alpha=alpha[None],
        task=data.task.name,
        n_rows=data.m,
        n_outputs=n_outputs,
    )
    scale, s2 = torch.ones((), dtype=torch.float64), None
    if data.task.name == "regression":
        # MacKay's noise re-estimate: the residuals' share of the rows not spent on parameters.
        scale = 2.0 * loss[0] / (data.m * n_outputs - gamma.sum())
        s2 = float(scale)
    new = stationary_alphas(gamma, sq_norms, alpha, None, layerwise) * scale
    new = torch.where(torch.isfinite(new) & (new > 0), new, torch.full_like(new, math.nan))
    return FixedPoint(
        alphas=tuple(float(a) for a in alphas),
        new_alphas=tuple(new.tolist()),
        gamma=tuple(gamma.tolist()),
        weight_sq_norms=tuple(sq_norms.tolist()),
        log_evidence=float(log_z[0]),
        noise_variance=s2,
        curvature=method,
    )


def weight_blocks(
    net: StackedMLP | ModuleMember, data: EvidenceData, curvature: str, *, dtype: torch.dtype | None = None
) -> list[Tensor] | list[tuple[Tensor, Tensor]]:
    """One member's curvature of its penalized weights on ``data``: ``"exact"``, the GGN
    ``(P, P)`` as one block, ``[H]``; ``"kfac"``, each weight's Kronecker factors
    ``[(A_l, G_l), ...]``; ``"ekfac"``, each weight's EKFAC eigenvalues ``[lambda_l (out * in,), ...]``
    (the exact block's diagonal in the factors' eigenbasis, round-off set to 0; member axis
    dropped); the MLP's in closed form, a module's by autograd (:func:`block_eigenvalues` reads
    the last two alike).

    With ``dtype`` (``torch.float32``), the Kronecker factors' forward passes and sums run in it,
    on a copy of the member (on a CPU about twice as fast, the factors to about 1e-6 relative
    over a few thousand rows; on a GPU that runs float32 products in TF32, about 1e-3), and come
    back in the data's dtype; EKFAC's eigenbases are computed in the data's dtype.
    """
    cast = data
    if curvature in ("kfac", "ekfac") and dtype is not None and dtype != data.x.dtype:
        cast = EvidenceData(data.x.to(dtype), data.y, data.weight.to(dtype), data.task)
        net = net.to(dtype)
    mlp = isinstance(net, StackedMLP)
    if curvature == "exact":
        if mlp:
            return [exact_member_ggn(net, data.x, data.weight, data.task)]
        return [module_ggn(net, data.x, data.weight, task=data.task)]
    factors = (kfac_factors if mlp else module_kfac_factors)(net, cast.x, cast.weight, task=data.task)
    factors = [(a.to(data.x.dtype), g.to(data.x.dtype)) for a, g in factors]
    if curvature == "kfac":
        return [(a[0], g[0]) for a, g in factors]
    bases = [tuple(u.to(cast.x.dtype) for u in kronecker_bases(a, g)) for a, g in factors]
    diagonal = (kronecker_diagonal if mlp else module_kronecker_diagonal)(
        net, cast.x, cast.weight, bases, task=data.task
    )
    return [d[0] for d in eigenbasis_eigenvalues([d.to(data.x.dtype) for d in diagonal], net.n_params)]


def block_eigenvalues(blocks: list[Tensor] | list[tuple[Tensor, Tensor]], n_params: int) -> list[Tensor]:
    """Each weight's eigenvalues from :func:`weight_blocks`' Kronecker-factored blocks: the
    products of the factors' (``"kfac"``), or EKFAC's as they are (``"ekfac"``).

    Examples
    --------
    >>> a, g = torch.diag(torch.tensor([1.0, 2.0])), torch.tensor([[3.0]])
    >>> block_eigenvalues([(a, g), torch.tensor([5.0])], 3)
    [tensor([3., 6.]), tensor([5.])]
    """
    return [b if isinstance(b, Tensor) else kronecker_eigenvalues(b[0][None], b[1][None], n_params)[0] for b in blocks]


def _exact(blocks: list[Tensor], alpha: Tensor, sizes: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """``log det(H + A)`` and the layers' gamma from a Cholesky factor of ``H + A``."""
    [ggn] = blocks
    prior = torch.repeat_interleave(alpha, torch.tensor(sizes, device=alpha.device))
    posterior = ggn + torch.diag(prior)
    factor, info = torch.linalg.cholesky_ex(posterior)
    if int(info) != 0 or not bool(torch.isfinite(factor).all()):  # a diverged member's weights
        nan = torch.full_like(alpha, math.nan)
        return nan.sum(), nan
    logdet = 2.0 * factor.diagonal().log().sum()
    eye = torch.eye(len(factor), dtype=factor.dtype, device=factor.device)
    inverse_diagonal = torch.cholesky_solve(eye, factor).diagonal()  # cholesky_inverse: 25x slower (CPU)
    traces = torch.stack([part.sum() for part in inverse_diagonal.split(list(sizes))])
    return logdet, torch.tensor(sizes, dtype=alpha.dtype, device=alpha.device) - alpha * traces


def _kfac(blocks: list[Tensor] | list[tuple[Tensor, Tensor]], alpha: Tensor, n_params: int) -> tuple[Tensor, Tensor]:
    """``log det`` and gamma of each weight's Kronecker-factored block."""
    values = block_eigenvalues(blocks, n_params)
    logdet = sum(torch.log(v + a).sum() for v, a in zip(values, alpha, strict=True))
    gamma = torch.stack([(v / (v + a)).sum() for v, a in zip(values, alpha, strict=True)])
    return logdet, gamma


def stationary_alphas(gamma: Tensor, sq_norms: Tensor, alpha: Tensor, drift: Tensor | None, layerwise: bool) -> Tensor:
    """The alpha of each layer at which the evidence is stationary given gamma, the weights and the
    drift (before the regression's noise scale): MacKay's gamma / ||W||^2 where there is no drift.

    gamma_l = alpha_l (||W_l||^2 - 2 c_l) is solved as (gamma_l + 2 alpha_l c_l) / ||W_l||^2
    where that is positive, else as gamma_l / (||W_l||^2 - 2 c_l), positive where gamma_l is (so
    defined even far from the MAP, where the condition has no positive solution); the first
    moves alpha further per update where the drift dominates (classes nearly separable). With
    ``layerwise=False`` the layers' totals, one alpha.

    Parameters
    ----------
    gamma, sq_norms, alpha : Tensor
        Per layer, float64: :math:`\\gamma_l`, :math:`\\lVert W_l\\rVert^2` (times beta for
        regression) and the current alphas.
    drift : Tensor or None
        Per layer, :math:`c_l` (:func:`netreg.evidence.weight_drift.curvature_drift`); None for MacKay's update.
    layerwise : bool

    Examples
    --------
    >>> one = torch.tensor([1.0], dtype=torch.float64)
    >>> stationary_alphas(4 * one, 2 * one, one, None, True).tolist()
    [2.0]
    >>> stationary_alphas(4 * one, 2 * one, one, 5 * one, True).tolist()
    [7.0]
    """
    if drift is None:
        return gamma / sq_norms if layerwise else (gamma.sum() / sq_norms.sum()).expand(len(gamma))
    numerator, spread = gamma + 2.0 * alpha * drift, sq_norms - 2.0 * drift
    if not layerwise:
        numerator, spread, gamma, sq_norms = (t.sum().expand(len(alpha)) for t in (numerator, spread, gamma, sq_norms))
    return torch.where(numerator > 0, numerator / sq_norms, gamma / spread)
