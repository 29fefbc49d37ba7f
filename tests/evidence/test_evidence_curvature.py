"""Eigenvalues of the curvature, log-determinants and MacKay's gamma, against direct linear algebra."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from evidence_helpers import random_mlp
from scipy.stats import spearmanr
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import netreg
from netreg.evidence import (
    EXACT_MAX_PARAMS,
    effective_parameters,
    ggn_curvature,
    ggn_matrix,
    kfac_factors,
    log_det,
    population_evidence,
)
from netreg.evidence.stacked_mlp import stack_members
from netreg.exceptions import InvalidParameterError


def _setup(rng, hidden=(4,), task="multiclass", n=25, seed=0):
    net = random_mlp(3, hidden, 3, seed=seed)
    X = torch.as_tensor(rng.normal(size=(n, 3)))
    w = torch.as_tensor(rng.uniform(0.5, 2.0, size=n))
    return net, X, w


def test_exact_eigenvalues_are_those_of_the_ggn_matrix(rng):
    net, X, w = _setup(rng)
    curv = ggn_curvature(net, X, task="multiclass", sample_weight=w, curvature="exact")
    H = ggn_matrix(stack_members(net), X, w, task="multiclass")[0]
    assert curv.method == "exact" and curv.n_params == 24
    assert torch.allclose(curv.eigenvalues[0][0], torch.linalg.eigvalsh(H).clamp_min(0), atol=1e-10)


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 1.0, 30.0])
def test_log_det_and_gamma_match_direct_computations(alpha, rng):
    # log det(H + alpha I) by slogdet; gamma = trace(H (H + alpha I)^-1) by a solve.
    net, X, w = _setup(rng)
    H = ggn_matrix(stack_members(net), X, w, task="multiclass")[0]
    shifted = H + alpha * torch.eye(len(H), dtype=torch.float64)
    curv = ggn_curvature(net, X, task="multiclass", sample_weight=w, curvature="exact")
    assert torch.allclose(log_det(curv, alpha), torch.linalg.slogdet(shifted)[1].reshape(1))
    gamma = torch.trace(torch.linalg.solve(shifted, H))
    assert torch.allclose(effective_parameters(curv, alpha), gamma.reshape(1))


def test_per_layer_gamma_is_the_hat_matrix_trace_over_each_layer_and_sums_to_gamma(rng):
    net, X, w = _setup(rng, hidden=(4, 2))
    H = ggn_matrix(stack_members(net), X, w, task="multiclass")[0]
    hat = torch.linalg.solve(H + 0.3 * torch.eye(len(H), dtype=torch.float64), H)
    bounds = np.cumsum([0, 12, 8, 6])
    curv = ggn_curvature(net, X, task="multiclass", sample_weight=w, curvature="exact")
    per_layer = effective_parameters(curv, 0.3, per_layer=True)[0]
    expected = torch.stack([torch.trace(hat[a:b, a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
    assert torch.allclose(per_layer, expected)
    assert torch.allclose(per_layer.sum(), effective_parameters(curv, 0.3)[0])


def test_kfac_log_det_and_gamma_are_those_of_the_block_diagonal_kronecker_matrix(rng):
    net, X, w = _setup(rng, hidden=(4,))
    factors = kfac_factors(stack_members(net), X, w, task="multiclass")
    blocks = torch.block_diag(*[torch.kron(G[0], A[0]) for A, G in factors])
    shifted = blocks + 0.5 * torch.eye(len(blocks), dtype=torch.float64)
    curv = ggn_curvature(net, X, task="multiclass", sample_weight=w, curvature="kfac")
    assert curv.method == "kfac" and len(curv.eigenvalues) == 2
    assert torch.allclose(log_det(curv, 0.5), torch.linalg.slogdet(shifted)[1].reshape(1))
    gamma = torch.trace(torch.linalg.solve(shifted, blocks))
    assert torch.allclose(effective_parameters(curv, 0.5), gamma.reshape(1))
    per_layer = effective_parameters(curv, 0.5, per_layer=True)[0]
    hat = torch.linalg.solve(shifted, blocks)
    assert torch.allclose(per_layer, torch.stack([torch.trace(hat[:12, :12]), torch.trace(hat[12:, 12:])]))


def test_gamma_tends_to_the_rank_as_alpha_vanishes_and_to_zero_as_it_grows(rng):
    # Without hidden layer and with more rows than features, the squared-error GGN has full rank P.
    net = random_mlp(4, (), 2)
    X = torch.as_tensor(rng.normal(size=(30, 4)))
    curv = ggn_curvature(net, X, task="regression")
    gammas = effective_parameters(curv, [[0.0, 1e-9, 1.0, 1e9]])[0]
    assert gammas[0] == 8 and gammas[1] == pytest.approx(8, abs=1e-6)
    assert 0 < gammas[2] < 8 and gammas[3] == pytest.approx(0, abs=1e-6)
    # The softmax GGN is singular (the outputs' common shift): gamma -> rank < P.
    multiclass = ggn_curvature(random_mlp(4, (), 3), X, task="multiclass")
    assert effective_parameters(multiclass, 1e-12)[0] == pytest.approx(8, abs=1e-6)


def test_a_grid_of_alphas_evaluates_every_member_at_every_alpha(rng):
    nets = [random_mlp(3, (4,), 3, seed=s) for s in range(2)]
    X = torch.as_tensor(rng.normal(size=(20, 3)))
    curv = ggn_curvature(nets, X, task="multiclass")
    grid = log_det(curv, [[0.1, 1.0, 10.0]])
    assert grid.shape == (2, 3)
    assert torch.allclose(grid[:, 1], log_det(curv, 1.0))
    assert torch.allclose(log_det(curv, [0.1, 10.0]), torch.stack([grid[0, 0], grid[1, 2]]))
    assert effective_parameters(curv, [[0.1, 1.0, 10.0]], per_layer=True).shape == (2, 2, 3)


def test_auto_is_exact_up_to_the_parameter_threshold_then_kfac(rng):
    X = rng.normal(size=(10, 3))
    small = ggn_curvature(random_mlp(3, (4,), 3), X, task="multiclass")
    assert small.method == "exact"
    assert ggn_curvature(random_mlp(3, (4,), 3), X, task="multiclass", exact_max_params=23).method == "kfac"
    wide = random_mlp(3, (EXACT_MAX_PARAMS // 3,), 3)
    assert ggn_curvature(wide, X, task="multiclass").method == "kfac"


def test_the_exact_log_det_respects_fischers_inequality_for_the_block_diagonal(rng):
    # det(H + aI) <= prod_l det(H_ll + aI): dropping the cross-layer blocks can only raise the log det.
    net, X, w = _setup(rng, hidden=(4, 3))
    H = ggn_matrix(stack_members(net), X, w, task="multiclass")[0]
    eye = torch.eye(len(H), dtype=torch.float64)
    bounds = np.cumsum([0, 12, 12, 9])
    diagonal = sum(torch.linalg.slogdet((H + eye)[a:b, a:b])[1] for a, b in zip(bounds[:-1], bounds[1:]))
    curv = ggn_curvature(net, X, task="multiclass", sample_weight=w, curvature="exact")
    assert log_det(curv, 1.0)[0] <= diagonal


def test_kfac_ranks_the_alphas_of_a_tiny_trained_network_as_the_exact_curvature_does():
    # KFAC has no error bound against the exact GGN; what alpha selection needs is the ranking. On iris with a
    # (5,) tanh network (35 weights) trained at 7 alphas: the same best alpha, a rank correlation of at least 0.9,
    # and agreement to 1 % of |log Z| where the prior dominates (alpha >= 30, gamma < 3).
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    grid = [0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0]
    fits = [
        netreg.NetRegClassifier(
            (5,), activation="tanh", solver="lbfgs", dtype="float64", alpha=a, max_iter=2000, tol=1e-10, random_state=0
        ).fit(X, y)
        for a in grid
    ]
    members = [fit.module_ for fit in fits]
    exact = [
        r.log_evidence for r in population_evidence(members, X, y, task="multiclass", alphas=grid, curvature="exact")
    ]
    kfac = [
        r.log_evidence for r in population_evidence(members, X, y, task="multiclass", alphas=grid, curvature="kfac")
    ]
    assert np.argmax(exact) == np.argmax(kfac)
    assert spearmanr(exact, kfac).statistic >= 0.9
    np.testing.assert_allclose(kfac[-2:], exact[-2:], rtol=0.01)


def test_curvature_errors_name_the_parameter_and_the_value(rng):
    net = random_mlp(3, (4,), 3)
    X = rng.normal(size=(5, 3))
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "`curvature` must be one of 'auto', 'exact', 'kfac', 'ekfac'. Got curvature='kfca'. Did you mean 'kfac'?"
        ),
    ):
        ggn_curvature(net, X, task="multiclass", curvature="kfca")
    curv = ggn_curvature(net, X, task="multiclass")
    with pytest.raises(
        InvalidParameterError, match=re.escape("`alpha` must be floats that are finite and >= 0. Got alpha=-0.1.")
    ):
        log_det(curv, -0.1)
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "`alpha` must be a float, a 1-D array of K=1 values or a 2-D (K, A) grid. Got an array of shape (3,)."
        ),
    ):
        effective_parameters(curv, [1.0, 2.0, 3.0])
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "`task` must be one of 'regression', 'multiclass', 'binary', 'multilabel'. Got task='regresion'. Did you mean 'regression'?"
        ),
    ):
        ggn_curvature(net, X, task="regresion")


def _layer_blocks(H, sizes):
    bounds = np.cumsum([0, *sizes])
    return [H[a:b, a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@pytest.mark.parametrize("task", ["multiclass", "binary"])
def test_ekfac_keeps_each_blocks_trace_and_bounds_its_log_det_and_gamma_from_above(task, rng):
    # tr: the diagonal of a rotated block sums to its trace (KFAC's tr(G) tr(A) does not). Hadamard:
    # det(B + aI) <= the product of its diagonal in any orthonormal basis. Schur-Horn: that diagonal
    # is majorized by B's eigenvalues, so the concave sum of l / (l + a) over it is at least B's gamma.
    q = 3 if task == "multiclass" else 1
    net = random_mlp(3, (4,), q)
    X = torch.as_tensor(rng.normal(size=(25, 3)))
    w = torch.as_tensor(rng.uniform(0.5, 2.0, size=25))
    H = ggn_matrix(stack_members(net), X, w, task=task)[0]
    blocks = _layer_blocks(H, [12, 4 * q])
    ekfac = ggn_curvature(net, X, task=task, sample_weight=w, curvature="ekfac")
    kfac = ggn_curvature(net, X, task=task, sample_weight=w, curvature="kfac")
    assert ekfac.method == "ekfac" and len(ekfac.eigenvalues) == 2
    for block, values, kronecker in zip(blocks, ekfac.eigenvalues, kfac.eigenvalues, strict=True):
        assert float(values.sum()) == pytest.approx(float(block.trace()), rel=1e-10)
        assert float(kronecker.sum()) != pytest.approx(float(block.trace()), rel=1e-3)
    for alpha in (0.05, 1.0, 20.0):
        shifted = [b + alpha * torch.eye(len(b), dtype=torch.float64) for b in blocks]
        exact_log_det = sum(torch.linalg.slogdet(b)[1] for b in shifted)
        exact_gamma = sum(torch.trace(torch.linalg.solve(s, b)) for s, b in zip(shifted, blocks, strict=True))
        assert float(log_det(ekfac, alpha)[0]) >= float(exact_log_det) - 1e-10
        assert float(effective_parameters(ekfac, alpha)[0]) >= float(exact_gamma) - 1e-10
        per_layer = effective_parameters(ekfac, alpha, per_layer=True)[0]
        torch.testing.assert_close(per_layer.sum(), effective_parameters(ekfac, alpha)[0])


def test_ekfac_without_hidden_layer_and_squared_error_is_the_exact_curvature(rng):
    # H = I_q ⊗ X' diag(w) X: its Kronecker factors' eigenbasis is its own, the diagonal there its eigenvalues.
    X = torch.as_tensor(rng.normal(size=(30, 4)))
    w = torch.as_tensor(rng.uniform(0.2, 3.0, size=30))
    net = random_mlp(4, (), 3)
    exact = ggn_curvature(net, X, task="regression", sample_weight=w, curvature="exact")
    ekfac = ggn_curvature(net, X, task="regression", sample_weight=w, curvature="ekfac")
    closed_form = torch.linalg.eigvalsh(X.T @ (w[:, None] * X)).repeat(3)
    torch.testing.assert_close(ekfac.eigenvalues[0][0].sort().values, closed_form.sort().values, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(log_det(ekfac, 0.7), log_det(exact, 0.7), rtol=1e-12, atol=0)
    torch.testing.assert_close(effective_parameters(ekfac, 0.7), effective_parameters(exact, 0.7), rtol=1e-12, atol=0)
