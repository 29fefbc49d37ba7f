r"""The generalized Gauss-Newton (GGN) curvature of the penalized weights, exact or Kronecker-factored.

For penalized weights :math:`\theta = (\mathrm{vec}\,W_1, \dots, \mathrm{vec}\,W_L)` (row-major,
``weight.flatten()``; the biases held at their trained values, outside :math:`\theta`), outputs
:math:`f_i`, sample weights :math:`w_i` and :math:`\Lambda_i = \partial^2 \ell_i / \partial f_i^2
= S_i^\top S_i` factored exactly per row (:func:`loss_hessian_factor`, c rows):

.. math:: H = \sum_i w_i \, J_i^\top \Lambda_i J_i, \qquad J_i = \partial f_i / \partial \theta .

Backpropagated, :math:`S_i` gives layer l's output-side factors
:math:`s_{ic}^{(l)} = S_{ic} \, \partial f_i / \partial z_l`; with the layer input :math:`a_{il}`,
:math:`J_i^\top S_i^\top` has columns :math:`s_{ic}^{(l)} \otimes a_{il}` there.
``curvature="exact"`` forms H from them (:func:`ggn_matrix`; when ``"auto"`` takes it:
:mod:`netreg.evidence.curvature`). ``curvature="kfac"`` keeps the diagonal blocks,
Kronecker-factored (Martens & Grosse 2015) with the exact factorization summed over the c rows
(no label sampling, as KFLR, Botev et al. 2017, and Immer et al. 2021's GGN-KFAC):

.. math:: H_{ll} \approx G_l \otimes A_l, \quad
    G_l = \sum_i w_i \sum_c s_{ic}^{(l)} s_{ic}^{(l)\top}, \quad
    A_l = \frac{1}{m} \sum_i w_i \, a_{il} a_{il}^\top, \quad m = \sum_i w_i ,

so :math:`\log\det(H + \alpha I) = \sum_l \sum_{j,k} \log(g_j a_k + \alpha)` over the factors'
eigenvalues. The Kronecker factoring is exact only without hidden layers and with half squared
error; dropping the cross-layer blocks can only raise the log-determinant (Fischer's inequality),
the factoring has no bound (how far apart the two land: ``docs/architecture.md``, "Measurements
and history"). ``curvature="ekfac"`` keeps the factors' eigenvectors :math:`u_{Gj} \otimes u_{Ak}`
and replaces :math:`g_j a_k` by the exact block's diagonal in that basis (:func:`kronecker_diagonal`;
George et al. 2018): the trace of each block is then exact, and by Hadamard's inequality its
log-determinant still bounds the block's from above.

References
----------
MacKay, D. J. C. (1992). A practical Bayesian framework for backpropagation networks.
Neural Computation 4(3), 448-472.
Martens, J. & Grosse, R. (2015). Optimizing neural networks with Kronecker-factored approximate
curvature. ICML.
Botev, A., Ritter, H. & Barber, D. (2017). Practical Gauss-Newton optimisation for deep learning. ICML.
Immer, A., Bauer, M., Fortuin, V., Rätsch, G. & Khan, M. E. (2021). Scalable marginal likelihood
estimation for model selection in deep learning. ICML.
George, T., Laurent, C., Bouthillier, X., Ballas, N. & Vincent, P. (2018). Fast approximate natural
gradient descent in a Kronecker-factored eigenbasis. NeurIPS.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from netreg.evidence.stacked_mlp import StackedMLP, forward_records
from netreg.losses import GAUSSIAN_OR_BERNOULLI, Task, get_task

__all__ = ["loss_hessian_factor", "ggn_matrix", "kfac_factors", "kronecker_diagonal", "exact_member_ggn"]

#: Elements of the largest temporary tensor; rows are processed in chunks below it.
_CHUNK_ELEMENTS = 2**22
#: The same for the Kronecker factors, whose chunk is read several times: 2 MB of float64 stays
#: in a core's cache between the passes (docs/architecture.md, "Measurements and history").
_KFAC_CHUNK_ELEMENTS = 2**18


def loss_hessian_factor(task: str | Task, out: Tensor) -> Tensor:
    r"""Rows :math:`S` with :math:`S^\top S = \partial^2 \ell / \partial f^2`, per row: ``(..., n, c, q)``.

    Half squared error: ``I_q``; softmax cross-entropy (``diag(p) - p p^T``): rows
    :math:`\sqrt{p_c}\,(e_c - p)^\top`; logistic (``p (1 - p)`` per label): ``diag(sqrt(p (1 - p)))``.

    Examples
    --------
    >>> import torch
    >>> out = torch.tensor([[0.3, -1.0, 2.0]], dtype=torch.float64)
    >>> S = loss_hessian_factor("multiclass", out)[0]
    >>> p = out.softmax(-1)[0]
    >>> bool(torch.allclose(S.T @ S, torch.diag(p) - torch.outer(p, p)))
    True
    """
    name = get_task(task, among=GAUSSIAN_OR_BERNOULLI).name
    eye = torch.eye(out.shape[-1], dtype=out.dtype, device=out.device)
    if name == "regression":
        return eye.expand(*out.shape, out.shape[-1])
    if name == "multiclass":
        p = out.softmax(-1)
        return p.sqrt().unsqueeze(-1) * (eye - p.unsqueeze(-2))
    p = torch.sigmoid(out)
    return torch.diag_embed((p * (1.0 - p)).sqrt())


def ggn_matrix(net: StackedMLP, x: Tensor, weight: Tensor, *, task: str | Task) -> Tensor:
    """The exact GGN of every member over its penalized weights, ``(K, P, P)``, on validated inputs.

    Weights layer by layer, each ``weight.flatten()``; memory ``K P^2``: for small networks and tests.

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> from netreg.evidence.stacked_mlp import stack_members
    >>> x = torch.randn(10, 2, dtype=torch.float64)
    >>> H = ggn_matrix(stack_members(MLP(2, (), 1)), x, torch.ones(10, dtype=torch.float64), task="regression")
    >>> bool(torch.allclose(H[0], x.T @ x))
    True
    """
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    return torch.stack([exact_member_ggn(net.member(k), x, weight, task) for k in range(net.n_members)])


def kfac_factors(net: StackedMLP, x: Tensor, weight: Tensor, *, task: str | Task) -> list[tuple[Tensor, Tensor]]:
    """Every layer's Kronecker factors ``(A_l (K, in, in), G_l (K, out, out))``, on validated inputs.

    ``G_l ⊗ A_l`` (``torch.kron``) approximates the layer's diagonal block of the GGN in the order of
    :func:`ggn_matrix` (module docstring), in ``x``'s dtype.

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> from netreg.evidence.stacked_mlp import stack_members
    >>> x = torch.randn(10, 2, dtype=torch.float64)
    >>> [(A, G)] = kfac_factors(stack_members(MLP(2, (), 1)), x, torch.ones(10, dtype=torch.float64), task="regression")
    >>> bool(torch.allclose(torch.kron(G[0], A[0]), x.T @ x))
    True
    """
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    A = [torch.zeros(w.shape[2], w.shape[2], dtype=x.dtype, device=x.device) for w in net.weights]
    G = [torch.zeros(net.n_members, w.shape[1], w.shape[1], dtype=x.dtype, device=x.device) for w in net.weights]
    for rows, inputs, factors in _factor_chunks(net, x, task):
        root = weight[rows].sqrt()
        for j, (a, s) in enumerate(zip(inputs, factors, strict=True)):
            # Weighted sums of outer products as one (batched) product of sqrt(w)-scaled rows:
            # several times faster than an einsum over the three operands.
            a = a * root.unsqueeze(-1)
            A[j] = A[j] + a.transpose(-1, -2) @ a
            s = (s * root[:, None, None]).flatten(1, 2)
            G[j] = G[j] + s.transpose(-1, -2) @ s
    return [((a / weight.sum()).expand(net.n_members, -1, -1), g) for a, g in zip(A, G, strict=True)]


def kronecker_diagonal(
    net: StackedMLP, x: Tensor, weight: Tensor, bases: list[tuple[Tensor, Tensor]], *, task: str | Task
) -> list[Tensor]:
    r"""Every layer's exact GGN block's diagonal in a Kronecker basis, ``(K, out * in)``: EKFAC's eigenvalues.

    With the bases ``(U_A (K, in, in), U_G (K, out, out))`` of each layer (the eigenvectors of its
    factors, :func:`kfac_factors`), entry ``j * in + k`` is
    :math:`(u_{Gj} \otimes u_{Ak})^\top H_{ll} (u_{Gj} \otimes u_{Ak}) = \sum_i w_i \sum_c
    (u_{Gj}^\top s_{ic})^2 (u_{Ak}^\top a_i)^2` (George et al. 2018), in the order of
    ``torch.kron(U_G, U_A)``'s columns. One pass over the rows; in ``x``'s dtype.

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> from netreg.evidence.stacked_mlp import stack_members
    >>> x = torch.randn(10, 2, dtype=torch.float64)
    >>> eye = torch.eye(2, dtype=torch.float64)[None]
    >>> [d] = kronecker_diagonal(stack_members(MLP(2, (), 1)), x, torch.ones(10, dtype=torch.float64),
    ...                          [(eye, torch.ones(1, 1, 1, dtype=torch.float64))], task="regression")
    >>> bool(torch.allclose(d[0], (x**2).sum(0)))
    True
    """
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    diagonals = [torch.zeros(net.n_members, *w.shape[1:], dtype=x.dtype, device=x.device) for w in net.weights]
    for rows, inputs, factors in _factor_chunks(net, x, task):
        for j, ((a, s), (u_a, u_g)) in enumerate(zip(zip(inputs, factors, strict=True), bases, strict=True)):
            inside = (a @ u_a).square()  # (K, n, in)
            # (K, n c, out) @ (K, out, out): one product per member, as in _output_factors.
            outside = (s.flatten(1, 2) @ u_g).unflatten(1, s.shape[1:3]).square().sum(-2) * weight[rows, None]
            diagonals[j] = diagonals[j] + outside.transpose(-1, -2) @ inside
    return [d.flatten(1) for d in diagonals]


def exact_member_ggn(net: StackedMLP, x: Tensor, weight: Tensor, task: Task) -> Tensor:
    """The exact GGN ``(P, P)`` of a one-member ``net`` (no checks): the rows' ``J^T S^T`` columns, in chunks of rows."""
    n_params, c = net.n_params, net.layer_sizes[-1]
    ggn = torch.zeros(n_params, n_params, dtype=x.dtype, device=x.device)
    step = max(1, _CHUNK_ELEMENTS // (c * n_params))
    for start in range(0, len(x), step):
        rows = slice(start, start + step)
        inputs, factors = _output_factors(net, x[rows], task)
        columns = []
        for a, s in zip(inputs, factors, strict=True):
            a = a.reshape(-1, a.shape[-1])
            columns.append((s[0].unsqueeze(-1) * a[:, None, None, :]).flatten(-2))
        scaled = torch.cat(columns, dim=-1) * weight[rows].sqrt()[:, None, None]
        scaled = scaled.reshape(-1, n_params)
        ggn.addmm_(scaled.T, scaled)
    return ggn


def _factor_chunks(net: StackedMLP, x: Tensor, task: Task) -> Iterator[tuple[slice, list[Tensor], list[Tensor]]]:
    """:func:`_output_factors` over chunks of the rows small enough to stay in cache (``_KFAC_CHUNK_ELEMENTS``)."""
    step = max(1, _KFAC_CHUNK_ELEMENTS // (net.n_members * net.layer_sizes[-1] * max(net.layer_sizes)))
    for start in range(0, len(x), step):
        rows = slice(start, start + step)
        yield rows, *_output_factors(net, x[rows], task)


def _output_factors(net: StackedMLP, x: Tensor, task: Task) -> tuple[list[Tensor], list[Tensor]]:
    """Layer inputs ``a_l`` and output-side factors ``s^(l)`` ``(K, n, c, out_l)`` on the rows ``x``."""
    inputs, slopes, out = forward_records(net, x)
    factors = [loss_hessian_factor(task, out)]
    for j in range(len(net.weights) - 1, 0, -1):
        # (K, n c, out) @ (K, out, in): one product per member, not one per row (broadcast).
        back = (factors[0].flatten(1, 2) @ net.weights[j]).unflatten(1, factors[0].shape[1:3])
        factors.insert(0, back * slopes[j - 1].unsqueeze(-2))
    return inputs, factors
