r"""MacKay's evidence: the Laplace approximation of the log marginal likelihood of alpha.

A member trained at strength :math:`\alpha` minimizes :math:`mJ = \sum_i w_i \ell_i +
\frac{\alpha}{2}\lVert W\rVert^2`. Read as a posterior with a Gaussian prior :math:`W \sim N(0,
\alpha^{-1} I_P)` on the P penalized weights (biases held at their trained values, see
:mod:`netreg.evidence.curvature`), its evidence is

.. math::
    \log Z(\alpha) \approx \log p(D \mid W^*) - \frac{\alpha}{2}\lVert W^*\rVert^2
    + \frac{P}{2}\log\alpha - \frac{1}{2}\log\det(H + \alpha I)

with H the GGN of :math:`\sum_i w_i \ell_i` at the trained weights :math:`W^*` (no constant
dropped: the prior's and the Gaussian integral's :math:`(2\pi)^{P/2}` cancel). A row of weight
:math:`w_i` counts as :math:`w_i` copies of it. For classification (cross-entropy, logistic)
:math:`\log p(D \mid W) = -\sum_i w_i \ell_i` exactly. :math:`\alpha = 0` is a flat prior, whose
evidence is :math:`-\infty` (the limit).

**Regression.** With Gaussian noise of variance :math:`s^2` on each of the q outputs and :math:`E =
\sum_i w_i \ell_i` (half squared errors), netreg's minimizer of J is the MAP for prior precision
:math:`\lambda = \alpha/s^2` and noise precision :math:`\beta = 1/s^2`, for *every* :math:`s^2`,
and the :math:`P \log s^2` terms cancel:

.. math::
    \log Z(\alpha, s^2) = -\frac{E + \frac{\alpha}{2}\lVert W^*\rVert^2}{s^2}
    - \frac{mq}{2}\log(2\pi s^2) + \frac{P}{2}\log\alpha - \frac{1}{2}\log\det(H + \alpha I).

Unless ``noise_variance`` is given, :math:`s^2` is its maximizer, :math:`(2E + \alpha\lVert
W^*\rVert^2) / (mq)`, which at the alpha the evidence prefers equals MacKay's :math:`2E / (mq -
\gamma)`. Without hidden layers this is exact: the marginal likelihood of Bayesian linear regression.

**What the formula assumes.** The member is (close to) the minimizer of J: the expansion drops the
gradient term, so a member stopped early, or trained with dropout, is not the point it describes,
and its evidence is biased. The prior is Gaussian: the L2 penalty only, not L1 or the elastic net.
The network is evaluated without dropout.

References
----------
MacKay, D. J. C. (1992). A practical Bayesian framework for backpropagation networks.
Neural Computation 4(3), 448-472.
Immer, A., Bauer, M., Fortuin, V., Rätsch, G. & Khan, M. E. (2021). Scalable marginal likelihood
estimation for model selection in deep learning. ICML.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from netreg._checks import check_alpha, check_float
from netreg.evidence.curvature import EXACT_MAX_PARAMS, compute_curvature, effective_parameters, log_det
from netreg.evidence.data_checks import EvidenceData, check_data
from netreg.evidence.modules import ModuleMember, member_outputs
from netreg.evidence.stacked_mlp import StackedMLP, forward_outputs, stack_members
from netreg.evidence.units import units_off_mask
from netreg.exceptions import invalid
from netreg.losses import Task

__all__ = ["EvidenceResult", "log_evidence", "population_evidence", "laplace_log_evidence", "weighted_data_loss"]

_CHUNK_ELEMENTS = 2**22
#: A layer's outputs (members x rows x units) the data loss computes at once, 2 MB in float32:
#: the fastest at 1M rows (4 evidences: 1.14 s of CPU against 1.24 at 2**18, 1.30 at 2**20, 1.74
#: at 2**16); the other sums over rows' 2**22 ran 1.2-2x slower at 100k rows, in fresh pages.
_LOSS_CHUNK_ELEMENTS = 2**19


@dataclass(frozen=True)
class EvidenceResult:
    r"""The evidence of one trained member, with its parts.

    Attributes
    ----------
    alpha : float
        The strength the member was trained at (the prior precision, times :math:`s^2` for regression).
    log_evidence : float
        :math:`\log Z(\alpha)` (module docstring); ``-inf`` at ``alpha=0``.
    log_likelihood : float
        :math:`\log p(D \mid W^*)` (with the noise variance below for regression).
    log_det : float
        :math:`\log\det(H + \alpha I)`, H the GGN of :math:`\sum_i w_i \ell_i` (unit noise for regression).
    gamma : float
        MacKay's effective number of parameters, :math:`\sum_k \lambda_k / (\lambda_k + \alpha)`.
    layer_gamma : tuple of float
        Gamma split over the layers (see :func:`netreg.evidence.curvature.effective_parameters`).
    n_params : int
        P, the number of penalized weights.
    weight_sq_norm : float
        :math:`\lVert W^*\rVert^2`.
    noise_variance : float or None
        :math:`s^2` for regression, ``None`` for classification.
    alpha_fixed_point : float
        MacKay's re-estimate :math:`\gamma / \lVert W^*\rVert^2` (times :math:`s^2` for regression): where
        the evidence would move alpha from here; equal to ``alpha`` at a stationary point.
    curvature : {"exact", "kfac", "ekfac"}
    units_off : tuple of int
        Per hidden layer, the units switched off (:mod:`netreg.evidence.units`, default thresholds).
    """

    alpha: float
    log_evidence: float
    log_likelihood: float
    log_det: float
    gamma: float
    layer_gamma: tuple[float, ...]
    n_params: int
    weight_sq_norm: float
    noise_variance: float | None
    alpha_fixed_point: float
    curvature: str
    units_off: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (tuples become lists) for a results table or a JSON store."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def log_evidence(
    member: Any,
    X: Any,
    y: Any,
    *,
    task: str | Task,
    alpha: float,
    sample_weight: Any = None,
    activation: str | None = None,
    curvature: str = "auto",
    noise_variance: float | None = None,
    exact_max_params: int = EXACT_MAX_PARAMS,
    curvature_rows: Any = None,
    rows: Any = None,
) -> EvidenceResult:
    """The Laplace log evidence of one member trained at ``alpha`` on ``(X, y)``.

    Parameters
    ----------
    member : MLP or state dict
        The trained network (its weights are the MAP for ``alpha``).
    X : array-like of shape (n_samples, n_features)
        The rows it was trained on (with ``rows``, a larger set that holds them). A float32
        ``X`` is read as it is: the curvature makes its rows float64, the data loss's forward
        runs in float32 on a CPU (:func:`weighted_data_loss`).
    y : array-like
        Targets encoded as for training (class indices, 0/1 columns, floats).
    task : {"regression", "multiclass", "binary", "multilabel"}
    alpha : float
        The strength it was trained with, >= 0.
    sample_weight : array-like of shape (n_samples,), optional
        The training sample weights.
    activation : str, optional
        Required for a state dict.
    curvature : {"auto", "exact", "kfac", "ekfac"}, default="auto"
        See :mod:`netreg.evidence.curvature`.
    noise_variance : float, optional
        Regression only: a fixed :math:`s^2` instead of its evidence maximizer.
    exact_max_params : int, default=EXACT_MAX_PARAMS
        ``"auto"`` is exact up to this many penalized weights.
    curvature_rows : array-like of int, optional
        Distinct indices of a uniform sample of the training rows (positions in ``rows``, or
        rows of ``X`` without it) to compute the GGN on: its sums over rows are the sample's
        scaled by ``n / len(curvature_rows)`` (n training rows), an unbiased estimate of the
        full sums. The data loss stays exact, over all the training rows. Default: all.
    rows : array-like of int, optional
        Distinct indices of the rows of ``X`` (and of ``y`` and ``sample_weight``) the member
        trained on, such as a fold's: the evidence is that of ``X[rows]``, read a chunk of rows
        at a time rather than copied. Default: all the rows.

    Returns
    -------
    EvidenceResult

    Examples
    --------
    >>> import numpy as np
    >>> import netreg
    >>> from netreg.evidence import log_evidence
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> y = X @ [1.0, -2.0, 0.0] + rng.normal(size=50)
    >>> model = netreg.NetRegRegressor((), solver="lbfgs", dtype="float64", alpha=1.0).fit(X, y)
    >>> result = log_evidence(model.module_, X, y, task="regression", alpha=1.0)
    >>> result.curvature, round(result.gamma, 2), round(result.noise_variance, 2)
    ('exact', 2.93, 0.98)
    """
    alpha = check_alpha(alpha)
    net = stack_members(member, activation=activation)
    if net.n_members != 1:
        raise invalid("member", "one network", f"{net.n_members} stacked members", "Use population_evidence.")
    return population_evidence(
        net,
        X,
        y,
        task=task,
        alphas=[alpha],
        sample_weight=sample_weight,
        curvature=curvature,
        noise_variance=noise_variance,
        exact_max_params=exact_max_params,
        curvature_rows=curvature_rows,
        rows=rows,
    )[0]


def population_evidence(
    members: Any,
    X: Any,
    y: Any,
    *,
    task: str | Task,
    alphas: Any,
    sample_weight: Any = None,
    activation: str | None = None,
    curvature: str = "auto",
    noise_variance: float | None = None,
    exact_max_params: int = EXACT_MAX_PARAMS,
    curvature_rows: Any = None,
    rows: Any = None,
) -> list[EvidenceResult]:
    """The log evidence of K members, each at its own alpha, all trained on the same ``(X, y)``.

    ``members`` is a stacked state dict (the engine's population, ``(K, out, in)`` weights), a
    sequence of MLPs or state dicts, or a :class:`~netreg.evidence.stacked_mlp.StackedMLP`, computed
    together. Other parameters as in :func:`log_evidence`, with ``alphas`` of length K.

    Returns
    -------
    list of EvidenceResult
        One per member, in order.

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> X, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    >>> results = population_evidence([MLP(4, (5,), 3), MLP(4, (5,), 3)], X, y, task="multiclass", alphas=[0.1, 1.0])
    >>> [r.curvature for r in results], results[0].units_off
    (['exact', 'exact'], (0,))
    """
    net = members if isinstance(members, StackedMLP) else stack_members(members, activation=activation)
    alphas = _check_alphas(alphas, net.n_members)
    # A float32 X converted a block of rows at a time: no float64 copy where the curvature reads a sample.
    data = check_data(net, X, y, task=task, sample_weight=sample_weight, keep_float32=True)
    if noise_variance is not None:
        if data.task.name != "regression":
            raise invalid("noise_variance", "None for a classification task", noise_variance)
        noise_variance = check_float(noise_variance, "noise_variance", low=0.0, low_open=True)
    train = None if rows is None else _check_rows(rows, len(data.x), data.x.device, "rows", "")
    n_rows = len(data.x) if train is None else len(train)
    sample = train
    if curvature_rows is not None:
        sample = _check_rows(curvature_rows, n_rows, data.x.device, "curvature_rows", " (a sample of the rows)")
        sample = sample if train is None else train[sample]
    x, weight = (data.x, data.weight) if sample is None else (data.x[sample], data.weight[sample])
    if curvature_rows is not None:
        weight = weight * (n_rows / len(sample))
    curv = compute_curvature(
        net, x.to(torch.float64), weight, task=data.task, curvature=curvature, exact_max_params=exact_max_params
    )
    alpha = torch.tensor(alphas, dtype=torch.float64, device=data.x.device)
    sq_norm = sum(w.square().sum((1, 2)) for w in net.weights)
    logdet = log_det(curv, alpha)
    log_z, log_lik, s2 = laplace_log_evidence(
        data_loss=weighted_data_loss(net, data, train),
        weight_sq_norm=sq_norm,
        log_det=logdet,
        n_params=net.n_params,
        alpha=alpha,
        task=data.task.name,
        n_rows=data.m if train is None else float(data.weight[train].sum()),
        n_outputs=net.layer_sizes[-1],
        noise_variance=noise_variance,
    )
    gamma = effective_parameters(curv, alpha)
    layer_gamma = effective_parameters(curv, alpha, per_layer=True)
    scale = s2 if s2 is not None else torch.ones_like(alpha)
    fixed_point = gamma * scale / sq_norm
    off = [units_off_mask(w).sum(-1) for w in net.weights[:-1]]
    return [
        EvidenceResult(
            alpha=alphas[k],
            log_evidence=float(log_z[k]),
            log_likelihood=float(log_lik[k]),
            log_det=float(logdet[k]),
            gamma=float(gamma[k]),
            layer_gamma=tuple(float(g) for g in layer_gamma[k]),
            n_params=net.n_params,
            weight_sq_norm=float(sq_norm[k]),
            noise_variance=None if s2 is None else float(s2[k]),
            alpha_fixed_point=float(fixed_point[k]),
            curvature=curv.method,
            units_off=tuple(int(count[k]) for count in off),
        )
        for k in range(net.n_members)
    ]


def laplace_log_evidence(
    *,
    data_loss: Tensor,
    weight_sq_norm: Tensor,
    log_det: Tensor,
    n_params: int | tuple[int, ...],
    alpha: Tensor,
    task: str,
    n_rows: float,
    n_outputs: int,
    noise_variance: float | None = None,
) -> tuple[Tensor, Tensor, Tensor | None]:
    r"""The evidence formula of the module docstring on its parts, per member (pure, no checks).

    With one alpha per layer (``alpha`` and ``weight_sq_norm`` of shape ``(K, L)``, ``n_params``
    the layers' sizes), the penalty is :math:`\frac12 \sum_l \alpha_l \lVert W_l\rVert^2`, the
    prior's term :math:`\frac12 \sum_l n_l \log\alpha_l`, and ``log_det`` that of :math:`H + A`.

    Parameters
    ----------
    data_loss : Tensor of shape (K,)
        :math:`E = \sum_i w_i \ell_i` at the trained weights.
    weight_sq_norm : Tensor of shape (K,) or (K, L)
        :math:`\lVert W^*\rVert^2` (per layer).
    log_det : Tensor of shape (K,)
        :math:`\log\det(H + \alpha I)` (:math:`H + A`).
    n_params : int or tuple of int
        P (per layer, for a per-layer alpha).
    alpha : Tensor of shape (K,) or (K, L)
    task : str
        ``"regression"`` adds the noise terms.
    n_rows : float
        m, the sum of the sample weights.
    n_outputs : int
        q (regression only).
    noise_variance : float, optional
        A fixed :math:`s^2`; else its maximizer.

    Returns
    -------
    log_evidence, log_likelihood : Tensor of shape (K,)
    noise_variance : Tensor of shape (K,) or None
        None for classification.

    Examples
    --------
    >>> import torch
    >>> one = torch.ones(1, dtype=torch.float64)
    >>> z, lik, s2 = laplace_log_evidence(data_loss=one, weight_sq_norm=one, log_det=one * 0, n_params=1,
    ...     alpha=one, task="binary", n_rows=1.0, n_outputs=1)
    >>> z  # -1 - 1/2 + 0 - 0
    tensor([-1.5000], dtype=torch.float64)
    """
    layered = alpha.ndim == 2
    alphas = alpha if layered else alpha.unsqueeze(-1)
    sq_norms = weight_sq_norm if layered else weight_sq_norm.unsqueeze(-1)
    sizes = torch.as_tensor(n_params if layered else [n_params], dtype=alphas.dtype, device=alphas.device)
    penalty = 0.5 * (alphas * sq_norms).sum(-1)
    s2 = None
    if task == "regression":
        total = float(n_rows) * n_outputs
        s2 = (
            (2.0 * (data_loss + penalty) / total)
            if noise_variance is None
            else torch.full_like(penalty, noise_variance)
        )
        log_lik = -data_loss / s2 - 0.5 * total * torch.log(2.0 * math.pi * s2)
        penalty = penalty / s2
    else:
        log_lik = -data_loss
    occam = 0.5 * (sizes * torch.log(alphas)).sum(-1) - 0.5 * log_det
    positive = (alphas > 0).all(-1)
    log_z = torch.where(positive, log_lik - penalty + occam, torch.full_like(penalty, -math.inf))
    return log_z, log_lik, s2


def weighted_data_loss(net: StackedMLP | ModuleMember, data: EvidenceData, rows: Tensor | None = None) -> Tensor:
    """The weighted data loss ``sum_i w_i loss_i`` per member, in float64, over the rows ``rows``
    of ``data`` (int64 indices; default: all of them), read a chunk of rows at a time: nothing the
    size of the rows is allocated, nor a copy of ``data.x``.

    An MLP's forward runs in float32 where ``data.x`` is float32 on a CPU (the members of a
    float32 run trained in it), each chunk's outputs then made float64 for the loss; elsewhere
    (float64 rows, a GPU, whose float32 products may run in TF32, a user's module) in float64.

    Examples
    --------
    >>> from netreg.nets import MLP
    >>> from netreg.evidence.stacked_mlp import stack_members
    >>> from netreg.evidence.data_checks import check_data
    >>> net = stack_members(MLP(2, (3,), 1).double())
    >>> data = check_data(net, torch.randn(5, 2, dtype=torch.float64), torch.zeros(5, 1), task="regression")
    >>> every = weighted_data_loss(net, data)
    >>> some = weighted_data_loss(net, data, torch.tensor([0, 3]))
    >>> bool(torch.allclose(some, 0.5 * (member_outputs(net, data.x[[0, 3]]) ** 2).sum((1, 2))))
    True
    """
    n_rows = len(data.x) if rows is None else len(rows)
    total = torch.zeros(net.n_members, dtype=torch.float64, device=data.x.device)
    if isinstance(net, StackedMLP):
        dtype = torch.float32 if data.x.dtype == torch.float32 and data.x.device.type == "cpu" else torch.float64
        cast = net.to(dtype)
        step = max(1, _LOSS_CHUNK_ELEMENTS // (net.n_members * max(net.layer_sizes)))
    else:
        step = max(1, _CHUNK_ELEMENTS // (net.n_members * data.x[:1].numel()))
    for start in range(0, n_rows, step):
        index = slice(start, start + step) if rows is None else rows[start : start + step]
        x = data.x[index]
        if isinstance(net, StackedMLP):
            out = forward_outputs(cast, x.to(dtype)).to(torch.float64)
        else:
            out = member_outputs(net, x.to(torch.float64))
        y = data.y[index]
        total += (data.task.loss(out, y.expand(net.n_members, *y.shape)) * data.weight[index]).sum(-1)
    return total


def _check_rows(rows: Any, n_rows: int, device: torch.device, name: str, what: str) -> Tensor:
    """``rows`` (parameter ``name``) as an int64 tensor of distinct row indices below ``n_rows``, at least one."""
    index = np.asarray(rows)
    expected = f"distinct row indices in [0, {n_rows}){what}, at least one"
    if index.ndim != 1 or not len(index) or not np.issubdtype(index.dtype, np.integer):
        raise invalid(name, expected, got=f"an array of shape {index.shape} and dtype {index.dtype}")
    if index.min() < 0 or index.max() >= n_rows:
        raise invalid(name, expected, got=f"indices from {index.min()} to {index.max()}")
    # Increasing indices (a fold's training rows) are distinct without sorting them.
    if not (np.diff(index) > 0).all() and len(np.unique(index)) != len(index):
        raise invalid(name, expected, got=f"{len(index) - len(np.unique(index))} repeated indices")
    return torch.as_tensor(index, dtype=torch.int64, device=device)


def _check_alphas(alphas: Any, n_members: int) -> list[float]:
    values = [alphas] if isinstance(alphas, (int, float)) else list(alphas)
    if len(values) != n_members:
        raise invalid("alphas", f"one alpha per member ({n_members})", alphas)
    return [check_alpha(value, f"alphas[{i}]") for i, value in enumerate(values)]
