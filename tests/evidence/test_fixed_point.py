"""MacKay's per-layer fixed point at the current weights, against the evidence of netreg.evidence
and against the posterior precision H + A formed and inverted in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from evidence_helpers import TASKS, n_outputs, random_mlp

from netreg.evidence import ggn_matrix, population_evidence, stack_members
from netreg.evidence.data_checks import EvidenceData, check_data
from netreg.evidence.fixed_point import fixed_point, weight_blocks
from netreg.evidence.modules import member_outputs
from netreg.losses import get_task
from netreg.nets import MLP


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
    exact, kfac, ekfac = (fixed_point(net, data, [2.0], curvature=c) for c in ("exact", "kfac", "ekfac"))
    assert (exact.curvature, kfac.curvature, ekfac.curvature) == ("exact", "kfac", "ekfac")
    for step in (kfac, ekfac):
        np.testing.assert_allclose(step.gamma, exact.gamma, rtol=1e-9)
        assert step.log_evidence == pytest.approx(exact.log_evidence, rel=1e-10)
        assert step.noise_variance == pytest.approx(exact.noise_variance, rel=1e-10)


def test_the_re_estimate_is_mackays(member):
    # The curvature's drift is netreg.evidence.weight_drift's (tests/evidence/test_weight_drift.py).
    net, data, _, _ = member
    step = fixed_point(net, data, [0.7, 0.7], curvature="exact", layerwise=False)
    assert step.new_alphas[0] == pytest.approx(sum(step.gamma) / sum(step.weight_sq_norms), rel=1e-12)


@pytest.mark.parametrize("curvature", ["exact", "kfac", "ekfac"])
def test_relu_layers_rescaled_leave_the_evidence_and_gamma_unchanged(digits, curvature):
    # A ReLU network's function is unchanged by W0 -> c W0, b0 -> c b0, W1 -> W1 / c, and its
    # Laplace evidence by that move with alpha0 -> alpha0 / c^2, alpha1 -> alpha1 c^2 (the prior's
    # n_l log(alpha_l) / 2 cancels log det(H + A)'s change): the evidence reads the layers' alphas
    # only through a ridge. MacKay's per-layer re-estimates move with the ridge (gamma unchanged),
    # so at a minimum, where the layers balance (alpha0 ||W0||^2 = alpha1 ||W1||^2, the unpenalized
    # bias b0 following W0), both are fixed only where gamma0 = gamma1.
    torch.manual_seed(1)
    X, y = digits[0][:90] / 16, digits[1][:90]
    module = MLP(64, (5,), 10).double()
    scale, alphas = 3.0, [0.4, 2.5]
    moved = {name: tensor.clone() for name, tensor in module.state_dict().items()}
    moved["layers.0.weight"] *= scale
    moved["layers.0.bias"] *= scale
    moved["layers.1.weight"] /= scale
    net, rescaled = stack_members(module), stack_members(moved, activation="relu")
    data = check_data(net, X, y, task="multiclass")
    torch.testing.assert_close(member_outputs(rescaled, data.x), member_outputs(net, data.x), rtol=1e-12, atol=1e-12)
    step = fixed_point(net, data, alphas, curvature=curvature)
    ridge = fixed_point(rescaled, data, [alphas[0] / scale**2, alphas[1] * scale**2], curvature=curvature)
    assert ridge.log_evidence == pytest.approx(step.log_evidence, rel=1e-10)
    np.testing.assert_allclose(ridge.gamma, step.gamma, rtol=1e-8)
    np.testing.assert_allclose(
        ridge.new_alphas, [step.new_alphas[0] / scale**2, step.new_alphas[1] * scale**2], rtol=1e-8
    )


@pytest.mark.parametrize("task", TASKS)
def test_factors_summed_in_float32_are_the_float64_ones_to_single_precision(task, rng):
    # The re-estimates while a member trains sum the factors in float32 (twice as fast on a CPU);
    # they come back in float64, within float32's rounding of the float64 sums.
    net = stack_members(random_mlp(6, (8, 5), n_outputs(task)))
    X = torch.as_tensor(rng.normal(size=(300, 6)))
    w = torch.as_tensor(rng.uniform(0.5, 2.0, size=300))
    data = EvidenceData(X, torch.zeros(300), w, get_task(task))  # the factors read no targets
    exact = weight_blocks(net, data, "kfac")
    single = weight_blocks(net, data, "kfac", dtype=torch.float32)
    for (A, G), (A32, G32) in zip(exact, single, strict=True):
        assert A32.dtype == G32.dtype == torch.float64
        torch.testing.assert_close(A32, A, rtol=1e-5, atol=1e-6 * float(A.abs().max()))
        torch.testing.assert_close(G32, G, rtol=1e-5, atol=1e-6 * float(G.abs().max()))
        assert not torch.equal(G32, G)  # they were summed in float32, not copied
    assert weight_blocks(net, data, "kfac", dtype=torch.float64)[0][1].equal(exact[0][1])
    assert all(weight.dtype == torch.float64 for weight in net.weights)  # summed on a copy
