"""The GGN and its Kronecker factors against autograd: Hessians, Jacobians, loss Hessians."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from evidence_helpers import TASKS, n_outputs, random_mlp, targets
from torch.func import functional_call, jacrev

from netreg.evidence import ggn_matrix, kfac_factors, loss_hessian_factor
from netreg.evidence.ggn import kronecker_diagonal
from netreg.evidence.stacked_mlp import stack_members
from netreg.losses import get_task


def _as_tensor(task, y):
    return torch.as_tensor(y, dtype=torch.long if task == "multiclass" else torch.float64)


def _row_loss_hessians(task, out, y):
    """Lambda_i = d^2 loss_i / d f_i^2 of every row, by autograd on netreg's own loss function."""
    loss = get_task(task).loss
    hessians = []
    for f, t in zip(out, y):
        hessians.append(torch.autograd.functional.hessian(lambda g: loss(g[None], t[None]).sum(), f))
    return torch.stack(hessians)


@pytest.mark.parametrize("task", TASKS)
def test_loss_hessian_factor_squares_to_the_autograd_loss_hessian(task, rng):
    # S^T S = Lambda for every row, including the rank-deficient softmax Hessian.
    q = n_outputs(task)
    out = torch.as_tensor(rng.normal(size=(6, q)) * 2)
    y = _as_tensor(task, targets(task, 6, q, rng))
    S = loss_hessian_factor(task, out)
    assert torch.allclose(S.transpose(-1, -2) @ S, _row_loss_hessians(task, out, y), atol=1e-12)


@pytest.mark.parametrize("task", TASKS)
def test_exact_ggn_without_hidden_layer_is_the_autograd_hessian_of_the_weighted_loss(task, rng):
    # With no hidden layer the outputs are linear in W and the losses convex in the outputs: GGN == Hessian.
    q, n, d = n_outputs(task), 15, 4
    net = random_mlp(d, (), q)
    X = torch.as_tensor(rng.normal(size=(n, d)))
    y = _as_tensor(task, targets(task, n, q, rng))
    w = torch.as_tensor(rng.uniform(0.2, 3.0, size=n))
    bias = net.layers[0].bias.detach()
    loss = get_task(task).loss

    def total(weight):
        return (loss(X @ weight.T + bias, y) * w).sum()

    reference = torch.autograd.functional.hessian(total, net.layers[0].weight.detach()).reshape(q * d, q * d)
    H = ggn_matrix(stack_members(net), X, w, task=task)[0]
    assert torch.allclose(H, reference, atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("task", TASKS)
def test_exact_ggn_of_a_hidden_network_is_J_transpose_Lambda_J_from_jacrev(task, activation, rng):
    # J from torch.func.jacrev of the module w.r.t. its weights (biases fixed), Lambda from autograd.
    q, n, d = n_outputs(task), 9, 3
    net = random_mlp(d, (4, 3), q, activation=activation)
    X = torch.as_tensor(rng.normal(size=(n, d)))
    y = _as_tensor(task, targets(task, n, q, rng))
    w = torch.as_tensor(rng.uniform(0.2, 3.0, size=n))
    params = {name: p.detach() for name, p in net.named_parameters()}
    names = [name for name in params if name.endswith("weight")]

    def outputs(*weights):
        return functional_call(net, {**params, **dict(zip(names, weights))}, (X,))

    jacobians = jacrev(outputs, argnums=tuple(range(len(names))))(*(params[name] for name in names))
    J = torch.cat([jac.reshape(n, q, -1) for jac in jacobians], dim=-1)
    Lam = _row_loss_hessians(task, net(X).detach(), y)
    reference = torch.einsum("n,nap,nab,nbr->pr", w, J, Lam, J)
    H = ggn_matrix(stack_members(net), X, w, task=task)[0]
    assert torch.allclose(H, reference, atol=1e-10)


def test_kfac_equals_the_exact_ggn_without_hidden_layer_for_squared_error(rng):
    # G = m I_q and A = X^T diag(w) X / m: the Kronecker product is the exact GGN, I_q (x) X^T diag(w) X.
    n, d, q = 20, 4, 3
    net = random_mlp(d, (), q)
    X = torch.as_tensor(rng.normal(size=(n, d)))
    w = torch.as_tensor(rng.uniform(0.2, 3.0, size=n))
    [(A, G)] = kfac_factors(stack_members(net), X, w, task="regression")
    exact = ggn_matrix(stack_members(net), X, w, task="regression")[0]
    closed_form = torch.kron(torch.eye(q, dtype=torch.float64), X.T @ (w[:, None] * X))
    assert torch.allclose(torch.kron(G[0], A[0]), closed_form, atol=1e-10)
    assert torch.allclose(exact, closed_form, atol=1e-10)


@pytest.mark.parametrize("task", TASKS)
def test_kfac_factors_are_the_sums_over_rows_and_factor_rows_of_their_definition(task, rng):
    # A_l = sum_i w_i a a^T / m; G_l = sum_i w_i sum_c s s^T, with s = S_i df/dz_l from autograd.
    q, n, d = n_outputs(task), 7, 3
    net = random_mlp(d, (5,), q)
    X = torch.as_tensor(rng.normal(size=(n, d)))
    w = torch.as_tensor(rng.uniform(0.2, 3.0, size=n))
    [(A0, G0), (A1, G1)] = kfac_factors(stack_members(net), X, w, task=task)
    hidden = torch.tanh(net.layers[0](X)).detach()
    assert torch.allclose(A0[0], X.T @ (w[:, None] * X) / w.sum())
    assert torch.allclose(A1[0], hidden.T @ (w[:, None] * hidden) / w.sum())
    S = loss_hessian_factor(task, net(X).detach())
    z = net.layers[0](X).detach()
    dz = torch.stack([torch.autograd.functional.jacobian(lambda v: net.layers[1](torch.tanh(v)), row) for row in z])
    s0 = S @ dz  # (n, c, hidden)
    assert torch.allclose(G1[0], torch.einsum("n,nci,ncj->ij", w, S, S))
    assert torch.allclose(G0[0], torch.einsum("n,nci,ncj->ij", w, s0, s0))


def test_stacked_members_get_each_their_own_ggn_and_factors(rng):
    nets = [random_mlp(3, (4,), 3, seed=seed) for seed in range(3)]
    X = torch.as_tensor(rng.normal(size=(12, 3)))
    w = torch.ones(12, dtype=torch.float64)
    stacked = stack_members(nets)
    together = ggn_matrix(stacked, X, w, task="multiclass")
    factors = kfac_factors(stacked, X, w, task="multiclass")
    for k, net in enumerate(nets):
        alone = stack_members(net)
        assert torch.allclose(together[k], ggn_matrix(alone, X, w, task="multiclass")[0])
        for (A, G), (A1, G1) in zip(factors, kfac_factors(alone, X, w, task="multiclass")):
            assert torch.allclose(A[k], A1[0]) and torch.allclose(G[k], G1[0])


def test_chunks_of_rows_change_nothing(rng, monkeypatch):
    # The rows are processed in chunks below a memory budget (the Kronecker factors' is a cache's
    # size, smaller); a budget of one row must give the same sums.
    import netreg.evidence.ggn as ggn

    net = stack_members(random_mlp(3, (4,), 3))
    X = torch.as_tensor(rng.normal(size=(10, 3)))
    w = torch.as_tensor(rng.uniform(0.5, 2.0, size=10))
    whole = ggn_matrix(net, X, w, task="multiclass"), kfac_factors(net, X, w, task="multiclass")
    monkeypatch.setattr(ggn, "_CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(ggn, "_KFAC_CHUNK_ELEMENTS", 1)
    chunked = ggn_matrix(net, X, w, task="multiclass"), kfac_factors(net, X, w, task="multiclass")
    assert torch.allclose(whole[0], chunked[0])
    for (A, G), (A1, G1) in zip(whole[1], chunked[1]):
        assert torch.allclose(A, A1) and torch.allclose(G, G1)
    assert np.isfinite(whole[0].numpy()).all()


def _kronecker_bases(factors):
    """The eigenvectors of each layer's factors, by torch.linalg.eigh."""
    return [(torch.linalg.eigh(A)[1], torch.linalg.eigh(G)[1]) for A, G in factors]


@pytest.mark.parametrize("task", TASKS)
def test_ekfac_eigenvalues_are_the_exact_blocks_diagonal_in_the_kronecker_basis(task, rng):
    # Brute force: each layer's diagonal block of the exact GGN, rotated by kron(U_G, U_A).
    q, n = n_outputs(task), 9
    net = stack_members(random_mlp(3, (5, 4), q))
    X = torch.as_tensor(rng.normal(size=(n, 3)))
    w = torch.as_tensor(rng.uniform(0.2, 3.0, size=n))
    bases = _kronecker_bases(kfac_factors(net, X, w, task=task))
    H = ggn_matrix(net, X, w, task=task)[0]
    ours = kronecker_diagonal(net, X, w, bases, task=task)
    start = 0
    for (u_a, u_g), values in zip(bases, ours, strict=True):
        Q = torch.kron(u_g[0], u_a[0])
        block = H[start : start + len(Q), start : start + len(Q)]
        torch.testing.assert_close(values[0], (Q.T @ block @ Q).diagonal(), rtol=1e-10, atol=1e-12)
        start += len(Q)
    assert start == len(H)


def test_ekfac_eigenvalues_of_stacked_members_and_chunks_of_rows_are_each_members(rng, monkeypatch):
    import netreg.evidence.ggn as ggn

    nets = [random_mlp(3, (4,), 3, seed=seed) for seed in range(3)]
    X = torch.as_tensor(rng.normal(size=(10, 3)))
    w = torch.as_tensor(rng.uniform(0.5, 2.0, size=10))
    stacked = stack_members(nets)
    bases = _kronecker_bases(kfac_factors(stacked, X, w, task="multiclass"))
    together = kronecker_diagonal(stacked, X, w, bases, task="multiclass")
    for k, net in enumerate(nets):
        alone = kronecker_diagonal(
            stack_members(net), X, w, [(a[k : k + 1], g[k : k + 1]) for a, g in bases], task="multiclass"
        )
        for values, single in zip(together, alone, strict=True):
            torch.testing.assert_close(values[k], single[0], rtol=1e-12, atol=1e-14)
    monkeypatch.setattr(ggn, "_KFAC_CHUNK_ELEMENTS", 1)
    for values, chunked in zip(together, kronecker_diagonal(stacked, X, w, bases, task="multiclass"), strict=True):
        torch.testing.assert_close(chunked, values, rtol=1e-12, atol=1e-14)
