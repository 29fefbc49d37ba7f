"""The GGN curvature (:mod:`netreg.evidence.ggn`) as eigenvalues: log-determinants and effective
parameters for any alpha in P operations. Exact is :math:`O(n c P^2 + P^3)` flops and :math:`P^2`
memory per member, hence KFAC above :data:`EXACT_MAX_PARAMS` with ``"auto"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from netreg._checks import check_int, check_options
from netreg.evidence.data_checks import check_rows
from netreg.evidence.ggn import exact_member_ggn, kfac_factors, kronecker_diagonal
from netreg.evidence.stacked_mlp import StackedMLP, stack_members
from netreg.exceptions import invalid
from netreg.losses import GAUSSIAN_OR_BERNOULLI, Task, get_task

__all__ = [
    "EXACT_MAX_PARAMS",
    "CURVATURES",
    "Curvature",
    "ggn_curvature",
    "compute_curvature",
    "log_det",
    "effective_parameters",
    "kronecker_eigenvalues",
    "kronecker_bases",
    "eigenbasis_eigenvalues",
]

#: ``curvature="auto"`` is exact up to this many penalized weights per member (its cost: docs/architecture.md).
EXACT_MAX_PARAMS = 1000
CURVATURES = ("auto", "exact", "kfac", "ekfac")


@dataclass(frozen=True)
class Curvature:
    """The eigenvalues of every member's GGN (exact or KFAC), enough for any alpha.

    Attributes
    ----------
    method : {"exact", "kfac", "ekfac"}
    eigenvalues : tuple of Tensor
        One entry per diagonal block (one for ``"exact"``, one per layer for ``"kfac"`` and
        ``"ekfac"``), each
        ``(K, n_b)`` float64, ``>= 0``; the blocks hold P eigenvalues in all. Eigenvalues below
        ``P * eps * max`` (round-off of a positive semi-definite matrix) are set to 0.
    shares : tuple of Tensor
        Per block, broadcastable to ``(K, L, n_b)``: the part of each eigenvector's squared
        norm that lies in layer l (sums to 1 over the layers); per-layer gamma weighs with it.
    layer_sizes : tuple of int
        ``(n_features, hidden..., n_outputs)``.
    """

    method: str
    eigenvalues: tuple[Tensor, ...]
    shares: tuple[Tensor, ...]
    layer_sizes: tuple[int, ...]

    @property
    def n_params(self) -> int:
        return sum(block.shape[1] for block in self.eigenvalues)


def ggn_curvature(
    members: Any,
    X: Any,
    *,
    task: str | Task,
    sample_weight: Any = None,
    activation: str | None = None,
    curvature: str = "auto",
    exact_max_params: int = EXACT_MAX_PARAMS,
) -> Curvature:
    """The GGN eigenvalues of trained members on the rows ``X`` (no targets needed).

    Parameters
    ----------
    members : MLP, state dict, stacked state dict, or sequence of them
        See :func:`netreg.evidence.stacked_mlp.stack_members`.
    X, task, sample_weight, activation, curvature, exact_max_params
        As in :func:`netreg.evidence.log_evidence`.

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> X = torch.randn(20, 3, dtype=torch.float64)
    >>> curv = ggn_curvature(MLP(3, (), 1), X, task="regression")
    >>> ridge = torch.linalg.eigvalsh(X.T @ X)
    >>> curv.method, bool(torch.allclose(curv.eigenvalues[0][0], ridge))
    ('exact', True)
    """
    net = stack_members(members, activation=activation)
    x, weight = check_rows(net, X, sample_weight)
    return compute_curvature(net, x, weight, task=task, curvature=curvature, exact_max_params=exact_max_params)


def compute_curvature(
    net: StackedMLP,
    x: Tensor,
    weight: Tensor,
    *,
    task: str | Task,
    curvature: str = "auto",
    exact_max_params: int = EXACT_MAX_PARAMS,
) -> Curvature:
    """:func:`ggn_curvature` on validated inputs (float64 rows and sample weights)."""
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    method = check_options(curvature, "curvature", list(CURVATURES))
    limit = check_int(exact_max_params, "exact_max_params", low=0)
    if method == "auto":
        method = "exact" if net.n_params <= limit else "kfac"
    if method == "exact":
        values, share = _exact(net, x, weight, task)
        eigenvalues, shares = (values,), (share,)
    else:
        eigenvalues, shares = _kfac(net, x, weight, task, corrected=method == "ekfac")
    return Curvature(method, eigenvalues, shares, net.layer_sizes)


def log_det(curvature: Curvature, alpha: Any) -> Tensor:
    r""":math:`\log\det(H + \alpha I) = \sum_k \log(\lambda_k + \alpha)` for every member.

    Parameters
    ----------
    curvature : Curvature
    alpha : float or array-like
        A float; a 1-D array of K values, one per member; or a 2-D ``(K, A)`` (or ``(1, A)``)
        grid, evaluated for each member (``alphas[None, :]``: every member at the same grid).

    Returns
    -------
    Tensor
        ``(K,)`` for a float or 1-D ``alpha``, ``(K, A)`` for a grid; ``-inf`` at ``alpha=0``
        when H is singular.

    Examples
    --------
    >>> import torch
    >>> curv = Curvature("exact", (torch.tensor([[1.0, 3.0]], dtype=torch.float64),), (torch.ones(1, 1, 2),), (2, 1))
    >>> log_det(curv, [[1.0, 0.0]])  # log(2 * 4), log(1 * 3)
    tensor([[2.0794, 1.0986]], dtype=torch.float64)
    """
    return _over_alphas(curvature, alpha, lambda values, a, share: torch.log(values + a).sum(-1))


def effective_parameters(curvature: Curvature, alpha: Any, *, per_layer: bool = False) -> Tensor:
    r"""MacKay's effective number of parameters :math:`\gamma = \sum_k \lambda_k / (\lambda_k + \alpha)`.

    A well-determined direction (:math:`\lambda_k \gg \alpha`) counts 1, one the prior pins down 0;
    at ``alpha=0`` a zero eigenvalue counts 0 (the limit).

    Parameters
    ----------
    curvature : Curvature
    alpha : float or array-like
        As in :func:`log_det`.
    per_layer : bool, default=False
        Split gamma over the layers: each term is weighed by the share of its eigenvector in
        the layer (exact: :math:`\sum_{p \in l} V_{pk}^2`; KFAC: the layer's own block). The
        layers sum to gamma.

    Returns
    -------
    Tensor
        ``(K,)`` or ``(K, A)``, with a layer axis after K when ``per_layer``.

    Examples
    --------
    >>> import torch
    >>> curv = Curvature("exact", (torch.tensor([[1.0, 3.0]], dtype=torch.float64),), (torch.ones(1, 1, 2),), (2, 1))
    >>> effective_parameters(curv, 1.0)  # 1/2 + 3/4
    tensor([1.2500], dtype=torch.float64)
    """

    def gamma(values: Tensor, a: Tensor, share: Tensor) -> Tensor:
        ratio = torch.where(values == 0, torch.zeros_like(values), values / (values + a))
        if per_layer:
            return (share * ratio.unsqueeze(-2)).sum(-1)
        return ratio.sum(-1)

    return _over_alphas(curvature, alpha, gamma)


def _over_alphas(curvature: Curvature, alpha: Any, reduce) -> Tensor:
    """Apply ``reduce(values (K, n_b), alpha (K, 1), share)`` per block and alpha column, summing the blocks."""
    first = curvature.eigenvalues[0]
    alphas = torch.as_tensor(alpha, dtype=first.dtype, device=first.device)
    if alphas.ndim > 2 or (alphas.ndim >= 1 and alphas.shape[0] not in (1, first.shape[0])):
        raise invalid(
            "alpha",
            f"a float, a 1-D array of K={first.shape[0]} values or a 2-D (K, A) grid",
            got=f"an array of shape {tuple(alphas.shape)}",
        )
    if not (torch.isfinite(alphas).all() and (alphas >= 0).all()):
        raise invalid("alpha", "floats that are finite and >= 0", alpha)
    grid = alphas.reshape(alphas.shape[0] if alphas.ndim else 1, -1)
    columns = []
    for j in range(grid.shape[1]):
        a = grid[:, j : j + 1]
        columns.append(sum(reduce(v, a, s) for v, s in zip(curvature.eigenvalues, curvature.shares, strict=True)))
    result = torch.stack(columns, dim=-1)
    return result if alphas.ndim == 2 else result.squeeze(-1)


def _exact(net: StackedMLP, x: Tensor, weight: Tensor, task: Task) -> tuple[Tensor, Tensor]:
    """Eigenvalues ``(K, P)`` and layer shares ``(K, L, P)`` of the exact GGN, one member at a time."""
    sizes = [w.shape[1] * w.shape[2] for w in net.weights]
    values, shares = [], []
    for k in range(net.n_members):
        eigenvalues, vectors = _eigh(exact_member_ggn(net.member(k), x, weight, task))
        values.append(_clean(eigenvalues, net.n_params))
        shares.append(torch.stack([part.square().sum(0) for part in vectors.split(sizes)]))
    return torch.stack(values), torch.stack(shares)


def _kfac(
    net: StackedMLP, x: Tensor, weight: Tensor, task: Task, *, corrected: bool
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Per layer, the eigenvalues ``outer(eig G_l, eig A_l)`` of ``G_l ⊗ A_l`` (``corrected``: the
    exact block's diagonal in their eigenbasis, EKFAC's) and its one-hot layer share."""
    factors = kfac_factors(net, x, weight, task=task)
    if corrected:
        bases = [kronecker_bases(a, g) for a, g in factors]
        values = eigenbasis_eigenvalues(kronecker_diagonal(net, x, weight, bases, task=task), net.n_params)
    else:
        values = [kronecker_eigenvalues(a, g, net.n_params) for a, g in factors]
    shares = [
        torch.nn.functional.one_hot(torch.tensor(j), len(factors)).to(x)[None, :, None] for j in range(len(factors))
    ]
    return tuple(values), tuple(shares)


def kronecker_eigenvalues(a: Tensor, g: Tensor, n_params: int) -> Tensor:
    """The eigenvalues ``(K, out * in)`` of ``G ⊗ A`` from the factors ``A (K, in, in)`` and
    ``G (K, out, out)``: the products of theirs, round-off (below ``n_params * eps * max``) set to 0.

    Examples
    --------
    >>> import torch
    >>> a, g = torch.diag(torch.tensor([1.0, 2.0]))[None], torch.tensor([[[3.0]]])
    >>> kronecker_eigenvalues(a, g, 2)
    tensor([[3., 6.]])
    """
    eig_a = _eigvalsh(a).clamp_min(0)
    eig_g = _eigvalsh(g).clamp_min(0)
    return _clean((eig_g.unsqueeze(-1) * eig_a.unsqueeze(-2)).flatten(1), n_params)


def kronecker_bases(a: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    """The eigenvectors ``(U_A (K, in, in), U_G (K, out, out))`` of the factors ``A`` and ``G``
    (columns; NaN for a non-finite factor): the basis of EKFAC's eigenvalues.

    Examples
    --------
    >>> import torch
    >>> u_a, u_g = kronecker_bases(torch.diag(torch.tensor([2.0, 1.0]))[None], torch.tensor([[[3.0]]]))
    >>> u_a.abs()
    tensor([[[0., 1.],
             [1., 0.]]])
    """
    return _eigh(a)[1], _eigh(g)[1]


def eigenbasis_eigenvalues(diagonals: list[Tensor], n_params: int) -> list[Tensor]:
    """EKFAC's eigenvalues ``(K, out * in)`` per layer from the exact blocks' diagonals in the
    Kronecker bases (:func:`netreg.evidence.ggn.kronecker_diagonal`): round-off (below
    ``n_params * eps * max``, per layer as :func:`kronecker_eigenvalues`) set to 0.

    Examples
    --------
    >>> import torch
    >>> eigenbasis_eigenvalues([torch.tensor([[4.0, 1e-20]]), torch.tensor([[2.0]])], 3)
    [tensor([[4., 0.]]), tensor([[2.]])]
    """
    return [_clean(d, n_params) for d in diagonals]


def _eigh(matrices: Tensor) -> tuple[Tensor, Tensor]:
    """``torch.linalg.eigh`` per matrix; NaN, not an error, for a non-finite one (a diverged member)."""
    finite, safe, nan = _finite(matrices)
    values, vectors = torch.linalg.eigh(safe)
    return torch.where(finite[..., None], values, nan), torch.where(finite[..., None, None], vectors, nan)


def _eigvalsh(matrices: Tensor) -> Tensor:
    """:func:`_eigh`'s eigenvalues alone (``torch.linalg.eigvalsh``: no eigenvectors, about half
    the time of ``eigh`` for the factors of a 100-unit layer)."""
    finite, safe, nan = _finite(matrices)
    return torch.where(finite[..., None], torch.linalg.eigvalsh(safe), nan)


def _finite(matrices: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Which matrices are finite, the matrices with the others zeroed (a decomposition never
    fails on them), and the NaN that takes their results' place."""
    finite = torch.isfinite(matrices).flatten(-2).all(-1)
    safe = torch.where(finite[..., None, None], matrices, torch.zeros_like(matrices))
    return finite, safe, torch.full((), torch.nan, dtype=matrices.dtype, device=matrices.device)


def _clean(values: Tensor, n_params: int) -> Tensor:
    """Zero the round-off eigenvalues of a PSD matrix (below ``P * eps * max``), per member."""
    tol = values.amax(-1, keepdim=True).clamp_min(0) * n_params * torch.finfo(values.dtype).eps
    return torch.where(values <= tol, torch.zeros_like(values), values)  # NaN (a diverged member) stays NaN
