"""MacKay's per-layer fixed point at the current weights, against the evidence of netreg.evidence
and against the posterior precision H + A formed and inverted in NumPy; without hidden layers,
the Hessian's drift through the MAP weights against central differences in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netreg.evidence import ggn_matrix, population_evidence, stack_members
from netreg.evidence.data_checks import check_data
from netreg.evidence.fixed_point import fixed_point, hessian_drift
from netreg.exceptions import InvalidParameterError
from netreg.nets import MLP
from reference import glm_laplace_evidence, glm_map


@pytest.fixture(scope="module")
def member(digits):
    torch.manual_seed(0)
    X, y = digits[0][:120] / 16, digits[1][:120]
    net = stack_members(MLP(64, (6,), 10, activation="tanh").double())
    return net, check_data(net, X, y, task="multiclass"), X, y


def test_one_alpha_is_the_evidence_and_mackays_update_of_netreg_evidence(member):
    net, data, X, y = member
    step = fixed_point(net, data, [0.7, 0.7], layerwise=False, curvature="exact")
    [reference] = population_evidence(net, X, y, task="multiclass", alphas=[0.7], curvature="exact")
    assert step.log_evidence == pytest.approx(reference.log_evidence, rel=1e-10)
    assert sum(step.gamma) == pytest.approx(reference.gamma, rel=1e-9)
    assert step.new_alphas == pytest.approx((reference.alpha_fixed_point,) * 2, rel=1e-9)


def test_per_layer_gamma_and_log_det_are_those_of_the_posterior_precision(member):
    net, data, X, y = member
    alphas = [0.3, 5.0]
    step = fixed_point(net, data, alphas, curvature="exact")
    H = ggn_matrix(net, data.x, data.weight, task="multiclass")[0].numpy()
    sizes = [w.shape[1] * w.shape[2] for w in net.weights]
    prior = np.repeat(alphas, sizes)
    inverse = np.linalg.inv(H + np.diag(prior))
    split = np.split(np.diag(inverse), np.cumsum(sizes)[:-1])
    gamma = [n - a * part.sum() for n, a, part in zip(sizes, alphas, split)]
    np.testing.assert_allclose(step.gamma, gamma, rtol=1e-9)
    norms = [float(w.square().sum()) for w in net.weights]
    np.testing.assert_allclose(step.new_alphas, np.array(gamma) / norms, rtol=1e-9)
    # log Z = -E - sum_l alpha_l ||W_l||^2 / 2 + sum_l n_l log(alpha_l) / 2 - log det(H + A) / 2
    loss = -population_evidence(net, X, y, task="multiclass", alphas=[1.0])[0].log_likelihood
    expected = (
        -loss
        - 0.5 * np.dot(alphas, norms)
        + 0.5 * np.dot(sizes, np.log(alphas))
        - 0.5 * np.linalg.slogdet(H + np.diag(prior))[1]
    )
    assert step.log_evidence == pytest.approx(expected, rel=1e-10)


def test_kfac_is_exact_for_linear_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = X @ [1.0, 0.0, -1.0, 2.0] + rng.normal(size=80)
    net = stack_members(MLP(4, (), 1).double())
    data = check_data(net, X, y, task="regression")
    exact, kfac = (fixed_point(net, data, [2.0], curvature=c) for c in ("exact", "kfac"))
    assert (exact.curvature, kfac.curvature) == ("exact", "kfac")
    np.testing.assert_allclose(kfac.gamma, exact.gamma, rtol=1e-9)
    assert kfac.log_evidence == pytest.approx(exact.log_evidence, rel=1e-10)
    assert kfac.noise_variance == pytest.approx(exact.noise_variance, rel=1e-10)


def _glm_member(X, Y, alpha, softmax):
    """The MAP of NumPy's reference as a netreg member without hidden layers, and its data."""
    W, b, _ = glm_map(X, Y, alpha, softmax=softmax)
    mlp = MLP(X.shape[1], (), W.shape[0]).double()
    with torch.no_grad():
        mlp.layers[0].weight.copy_(torch.from_numpy(W))
        mlp.layers[0].bias.copy_(torch.from_numpy(b))
    net = stack_members(mlp)
    y = Y.argmax(1) if softmax else Y
    return net, check_data(net, X, y, task="multiclass" if softmax else "multilabel")


@pytest.mark.parametrize("softmax", [False, True], ids=["logistic", "softmax"])
def test_the_drift_is_the_change_of_log_det_through_the_map_weights(softmax):
    # Central differences in NumPy: the MAP w*(alpha') of the reference at alpha' = alpha (1 +- h),
    # log det(H(w*(alpha')) + alpha I) at the fixed alpha; the drift is -1/2 of its slope. The
    # evidence's own slope is then (gamma / alpha - ||W||^2 + 2 drift) / 2, and the update
    # solves gamma = alpha (||W||^2 - 2 drift), where it is 0.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    scores = X @ rng.normal(size=(3, 3)) + rng.gumbel(size=(200, 3))
    Y = np.eye(3)[scores.argmax(1)] if softmax else (scores[:, :2] > 0).astype(float)
    alpha, h = 0.8, 1e-4
    step = fixed_point(*_glm_member(X, Y, alpha, softmax), [alpha], curvature="exact")

    def log_det(a):
        hessian = glm_laplace_evidence(X, Y, a, softmax=softmax)[2]
        return np.linalg.slogdet(hessian + alpha * np.eye(len(hessian)))[1]

    [drift] = step.drift
    assert drift == pytest.approx(
        -0.5 * (log_det(alpha * (1 + h)) - log_det(alpha * (1 - h))) / (2 * alpha * h), rel=1e-5
    )
    evidence = [glm_laplace_evidence(X, Y, alpha * (1 + s * h), softmax=softmax)[0] for s in (1, -1)]
    slope = (step.gamma[0] / alpha - step.weight_sq_norms[0] + 2 * drift) / 2
    assert slope == pytest.approx((evidence[0] - evidence[1]) / (2 * alpha * h), rel=1e-5)
    # Both arrangements of the stationarity condition agree at it; the update takes the drift on gamma's side.
    assert step.new_alphas[0] == pytest.approx((step.gamma[0] + 2 * alpha * drift) / step.weight_sq_norms[0], rel=1e-12)


def test_mackays_update_stays_where_the_hessian_does_not_move(member):
    # Hidden layers (the GGN is not the Hessian there) and KFAC: MacKay's update, no drift.
    net, data, _, _ = member
    assert fixed_point(net, data, [0.7, 0.7], curvature="exact").drift is None
    X = np.random.default_rng(0).normal(size=(50, 3))
    single = stack_members(MLP(3, (), 2).double())
    assert (
        fixed_point(single, check_data(single, X, X[:, :2] > 0, task="multilabel"), [1.0], curvature="kfac").drift
        is None
    )


def test_the_drift_is_refused_for_hidden_layers(member, refused):
    net, data, _, _ = member
    with refused(
        "`net` must be one member without hidden layers. Got 1 member(s) of layer sizes (64, 6, 10).",
        InvalidParameterError,
    ):
        hessian_drift(net, data, [0.7])
