r"""The evidence's stationary point in alpha when the curvature moves with the weights.

MacKay's re-estimate (:mod:`netreg.evidence.fixed_point`) holds the curvature :math:`H` still,
but the grid's evidence (``selection="evidence"``) is that of the weights trained at each alpha,
and H moves with them. With :math:`\theta` every trainable parameter (at L-BFGS's settled weights;
at minibatch weights the penalized weights only, with their GGN: :func:`map_directions`),
:math:`d\theta^*/d\alpha_l = -(\nabla^2 E + A)^{-1} P_l\theta`
(:math:`E = \sum_i w_i\ell_i`, A the prior precision, 0 off the penalized weights, :math:`P_l`
keeping layer l's weights; :func:`map_directions`), and

.. math:: c_l = -\frac12 \nabla_\theta \log\det(H(\theta) + A) \cdot \frac{d\theta^*}{d\alpha_l}
    = \frac12 D_{v_l} \log\det(H(\theta) + A), \qquad v_l = (\nabla^2 E + A)^{-1} P_l\theta;

the evidence is stationary where :math:`\gamma_l = \alpha_l(\beta\lVert W_l\rVert^2 - 2c_l)`
(:math:`\beta = 1/s^2` for regression, 1 for classification). :math:`D_{v_l}` is a central
difference over the parameters of alphas :data:`STEP` smaller and larger, to first order
(:math:`\theta \mp \delta\alpha_l v_l`): ReLU units' curvature is piecewise constant in the
weights. Without hidden layers this is Bayesian logistic regression's closed-form drift (alpha
converges to the exact evidence's maximizer); with half squared error there :math:`c = 0`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp, vjp

from netreg.evidence.curvature import EXACT_MAX_PARAMS
from netreg.evidence.data_checks import EvidenceData
from netreg.evidence.fixed_point import FixedPoint, block_eigenvalues, stationary_alphas, weight_blocks
from netreg.evidence.ggn import loss_hessian_factor
from netreg.evidence.modules import ModuleMember, module_ggn, module_member
from netreg.evidence.stacked_mlp import StackedMLP

__all__ = ["DRIFT_MAX_PARAMS", "SMOOTH_STEP", "STEP", "curvature_drift", "map_directions", "profile_alphas"]

#: The central difference's step: the weights of alphas 10 % smaller and larger, to first order.
STEP = 0.1
#: The step where the curvature is smooth in the weights (no hidden layers): a derivative.
SMOOTH_STEP = 1e-4
#: The drift is computed for members of up to this many trainable parameters: its conjugate
#: gradients' products cost passes over the rows (measured: ``docs/architecture.md``).
DRIFT_MAX_PARAMS = 5_000
#: The conjugate gradients' relative residual, and their most iterations (:func:`map_directions`).
CG_TOL = 1e-10
CG_MAX_ITER = 2000
#: Elements of the largest input chunk; rows are processed in chunks below it.
_CHUNK_ELEMENTS = 2**22

Build = Callable[[Mapping[str, Tensor]], StackedMLP | ModuleMember]


def curvature_drift(
    build: Build,
    state_dict: Mapping[str, Tensor],
    alphas: Mapping[str, float],
    data: EvidenceData,
    *,
    template: nn.Module,
    curvature: str,
    layerwise: bool = True,
    step: float = STEP,
    hessian: bool = True,
) -> Tensor:
    r""":math:`c_l` of each penalized weight (module docstring), float64; one value for all
    layers with ``layerwise=False`` (the direction of every layer's weights together). The MAP's
    derivative is :func:`map_directions`'s, whatever ``curvature`` the log determinant reads.

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
    template : torch.nn.Module
        The member's module (its weights unused): netreg's MLP or a user's module.
    curvature : {"exact", "kfac", "ekfac"}
        The curvature whose :math:`\log\det(H + A)` is differenced.
    layerwise : bool, default=True
    step : float, default=STEP
        The central difference's step, relative to alpha (module docstring).
    hessian : bool, default=True
        The MAP's derivative from the Hessian (weights at a minimum), else the GGN (:func:`map_directions`).

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
    >>> curvature_drift(build, state, alphas, data, template=model.module_, curvature="exact").shape
    torch.Size([2])
    """
    alpha = torch.tensor(list(alphas.values()), dtype=torch.float64)
    directions = map_directions(template, state_dict, alphas, data, layerwise=layerwise, hessian=hessian)
    if directions is None:  # G + A not positive definite: a diverged member's weights
        return torch.full((len(alphas) if layerwise else 1,), math.nan, dtype=torch.float64)
    drift = []
    for l, direction in enumerate(directions):
        h = step * float(alpha[l if layerwise else 0])
        sides = []
        for sign in (1.0, -1.0):
            moved = dict(state_dict)
            for name, v in direction.items():
                moved[name] = (state_dict[name].detach().to(torch.float64) + sign * h * v).to(state_dict[name].dtype)
            sides.append(_log_det(build(moved), data, curvature, alpha))
        drift.append(0.25 * (sides[0] - sides[1]) / h)
    return torch.stack(drift)


def map_directions(
    template: nn.Module,
    state_dict: Mapping[str, Tensor],
    alphas: Mapping[str, float],
    data: EvidenceData,
    *,
    layerwise: bool = True,
    hessian: bool = True,
) -> list[dict[str, Tensor]] | None:
    r"""Per penalized weight (or one for all with ``layerwise=False``), :math:`(M + A)^{-1} P_l\theta`:
    minus the derivative of the MAP parameters in :math:`\alpha_l`, as ``{name: tensor}``, float64.

    M is the Hessian :math:`\nabla^2 \sum_i w_i\ell_i` over all trainable parameters (``hessian=True``:
    weights at a minimum), or the GGN of the penalized weights alone, the others held
    (``hessian=False``: minibatch weights); A the prior precision (:math:`\alpha_l` on the penalized
    weights, 0 elsewhere). Solved by conjugate gradients on M's products with vectors
    (``torch.func.jvp`` and ``vjp``; M is not formed), to a residual of :data:`CG_TOL` relative or
    after :data:`CG_MAX_ITER` iterations; the GGN of at most
    :data:`~netreg.evidence.curvature.EXACT_MAX_PARAMS` weights is formed and factored instead.
    Where the Hessian has a direction of non-positive curvature, the GGN stands in for it.
    Directions that change no output and carry no prior (softmax's shift of every bias, a dead
    unit's bias) stay at 0. None where the parameters are not finite (a diverged member).

    Examples
    --------
    >>> import numpy as np
    >>> from netreg.nets import MLP
    >>> from netreg.evidence import stack_members
    >>> from netreg.evidence.data_checks import check_data
    >>> net = MLP(3, (), 1).double()
    >>> X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    >>> data = check_data(stack_members(net), X, y, task="binary")
    >>> [v] = map_directions(net, net.state_dict(), {"layers.0.weight": 1.0}, data)
    >>> sorted(v), v["layers.0.bias"].shape
    (['layers.0.bias', 'layers.0.weight'], torch.Size([1]))
    """
    names = list(alphas)
    member = module_member(template, dict(state_dict), names)
    module = member.module
    # Minibatch weights (hessian=False): the unpenalized parameters held, as the curvature holds them.
    free = [n for n, p in module.named_parameters() if n not in alphas and p.is_floating_point()] if hessian else []
    order = (*names, *free)
    fixed = {n: t.detach() for n, t in (*module.named_parameters(), *module.named_buffers())}
    shapes = [fixed[n].shape for n in order]
    sizes = [math.prod(shape) for shape in shapes]
    theta = torch.cat([fixed[n].flatten() for n in order])
    if not bool(torch.isfinite(theta).all()):
        return None

    def unflatten(flat: Tensor) -> dict[str, Tensor]:
        return {n: t.reshape(shape) for n, t, shape in zip(order, flat.split(sizes), shapes, strict=True)}

    step = max(1, _CHUNK_ELEMENTS // max(data.x[:1].numel(), 1))
    chunks = [slice(start, start + step) for start in range(0, len(data.x), step)]

    def outputs(flat: Tensor, rows: slice) -> Tensor:
        return functional_call(module, {**fixed, **unflatten(flat)}, (data.x[rows],)).reshape(len(data.x[rows]), -1)

    def loss(flat: Tensor, rows: slice) -> Tensor:
        return (data.task.loss(outputs(flat, rows), data.y[rows]) * data.weight[rows]).sum()

    prior = torch.zeros_like(theta)
    prior[: member.n_params] = torch.repeat_interleave(
        torch.tensor(list(alphas.values()), dtype=theta.dtype, device=theta.device),
        torch.tensor(member.sizes, device=theta.device),
    )

    def hessian_product(v: Tensor) -> Tensor:
        return prior * v + sum(
            jvp(lambda flat, rows=rows: grad(loss)(flat, rows), (theta,), (v,))[1] for rows in chunks
        )

    # Each chunk's backward map at theta, built at the first GGN product (the Cholesky factor and
    # a Hessian that converges need none) and reused by every later one.
    maps: list[tuple[slice, Callable, Tensor]] = []

    def ggn_product(v: Tensor) -> Tensor:
        for rows in chunks[len(maps) :]:
            out, pull = vjp(lambda flat, rows=rows: outputs(flat, rows), theta)
            maps.append((rows, pull, loss_hessian_factor(data.task, out) * data.weight[rows, None, None].sqrt()))
        total = prior * v
        for rows, pull, s in maps:
            pushed = jvp(lambda flat, rows=rows: outputs(flat, rows), (theta,), (v,))[1]
            total = total + pull((s.transpose(-1, -2) @ (s @ pushed[..., None]))[..., 0])[0]
        return total

    ends = list(itertools.accumulate(member.sizes))
    parts = list(zip([0, *ends[:-1]], ends, strict=True)) if layerwise else [(0, member.n_params)]
    directions = []
    factor = None
    if not hessian and member.n_params <= EXACT_MAX_PARAMS:
        # Small enough to form: a Cholesky factor beats conjugate gradients' hundreds of products.
        ggn = module_ggn(member, data.x, data.weight, task=data.task) + torch.diag(prior)
        factor, info = torch.linalg.cholesky_ex(ggn)
        if int(info) != 0 or not bool(torch.isfinite(factor).all()):
            return None
    for start, end in parts:
        rhs = torch.zeros_like(theta)
        rhs[start:end] = theta[start:end]
        solved = _conjugate_gradients(hessian_product, rhs) if hessian else None
        if factor is not None:
            solved = torch.cholesky_solve(rhs[:, None], factor)[:, 0]
        elif solved is None:  # not a minimum: the GGN, positive semi-definite, instead
            solved = _conjugate_gradients(ggn_product, rhs)
        if solved is None or not bool(torch.isfinite(solved).all()):
            return None
        directions.append(unflatten(solved.detach().cpu()))
    return directions


def _conjugate_gradients(product: Callable[[Tensor], Tensor], rhs: Tensor) -> Tensor | None:
    """x with ``product(x) = rhs`` (symmetric positive semi-definite); None at non-positive curvature."""
    x, residual = torch.zeros_like(rhs), rhs.clone()
    direction, norm = residual.clone(), residual @ residual
    target = (CG_TOL * rhs.norm()) ** 2
    for _ in range(min(CG_MAX_ITER, 2 * len(rhs))):
        if not norm > target:
            break
        moved = product(direction)
        curvature = direction @ moved
        if not curvature > 0:
            return None
        step = norm / curvature
        x, residual = x + step * direction, residual - step * moved
        norm, before = residual @ residual, norm
        direction = residual + (norm / before) * direction
    return x


def profile_alphas(step: FixedPoint, drift: Tensor, n_values: float) -> tuple[float, ...]:
    r"""The re-estimate where the evidence of the trained weights is stationary:
    :math:`\gamma_l = \alpha_l(\beta\lVert W_l\rVert^2 - 2c_l)` solved as
    :func:`netreg.evidence.fixed_point.stationary_alphas` does, with ``drift`` :math:`c_l`
    (one for all layers: totals), for regression with :math:`s^2 = 1/\beta` the evidence's
    maximizer at the current alphas, :math:`(2E + \sum_l \alpha_l\lVert W_l\rVert^2) / (mq)`
    (``n_values``: :math:`mq`, the rows' weight times the outputs). Where that is not a positive
    number (a NaN drift; minibatch weights far from the MAP), MacKay's ``step.new_alphas``, which
    still moves alpha; NaN where that is not one either.

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
    mackay = torch.tensor(step.new_alphas, dtype=torch.float64)
    new = torch.where(torch.isfinite(new) & (new > 0), new, mackay)
    new = torch.where(torch.isfinite(new) & (new > 0), new, torch.full_like(new, math.nan))
    return tuple(new.tolist())


def _log_det(net: StackedMLP | ModuleMember, data: EvidenceData, curvature: str, alpha: Tensor) -> Tensor:
    """:math:`\\log\\det(H + A)` of the member's curvature; NaN where it is not positive definite."""
    blocks = weight_blocks(net, data, curvature)
    if curvature == "exact":
        [ggn] = blocks
        sizes = [w[0].numel() if isinstance(net, StackedMLP) else w.numel() for w in net.weights]
        prior = torch.repeat_interleave(alpha, torch.tensor(sizes)).to(ggn)
        factor, info = torch.linalg.cholesky_ex(ggn + torch.diag(prior))
        if int(info) != 0:
            return torch.tensor(math.nan, dtype=torch.float64)
        return 2.0 * factor.diagonal().log().sum().cpu()
    values = block_eigenvalues(blocks, net.n_params)
    return sum(torch.log(v + a.to(v)).sum() for v, a in zip(values, alpha, strict=True)).cpu()
