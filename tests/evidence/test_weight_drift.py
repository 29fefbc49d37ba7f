"""The evidence's stationary point with the curvature's drift (netreg.evidence.weight_drift),
against the slope of the evidence of networks retrained at nearby alphas (the evidence grid's
objective), computed independently by finite differences of netreg.evidence.log_evidence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netreg
from netreg.evidence import log_evidence, stack_members
from netreg.evidence.data_checks import check_data
from netreg.evidence.fixed_point import FixedPoint, fixed_point
from netreg.evidence.weight_drift import curvature_drift, map_directions, profile_alphas
from netreg.nets import MLP
from reference import glm_laplace_evidence, glm_map

# Converged fits (L-BFGS in float64), a smooth activation: the MAP weights move smoothly with alpha.
EXACT = {"hidden_layer_sizes": (3,), "activation": "tanh", "solver": "lbfgs", "dtype": "float64", "tol": 1e-14}
NAMES = ("layers.0.weight", "layers.1.weight")


def _build(state_dict):
    return stack_members(dict(state_dict), activation="tanh")


def _regression(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 3))
    return X, np.tanh(X[:, 0]) - X[:, 1] + 0.3 * rng.normal(size=80)


def _fit(X, y, alpha, task="regression"):
    estimator = netreg.NetRegRegressor if task == "regression" else netreg.NetRegClassifier
    return estimator(alpha=alpha, max_iter=20000, random_state=0, **EXACT).fit(X, y)


def _binary(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 3))
    return X, (np.tanh(X[:, 0]) - X[:, 1] + 0.5 * rng.logistic(size=120) > 0).astype(int)


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_the_slope_of_the_grids_evidence_counts_the_curvatures_drift(task):
    # d log Z / d alpha of the evidence at the retrained W*(alpha) (for regression the noise
    # variance at its maximizer) is (gamma - alpha beta ||W||^2) / (2 alpha) + c. MacKay's part
    # alone misses it by 8 % (regression) and 33 % (binary); with the drift through the weights
    # alone, the biases held and the GGN for the MAP's Hessian, the binary slope was -1.335
    # against -1.242 (measured); with the biases and the Hessian it matches.
    X, y = _regression() if task == "regression" else _binary()
    # eps: small for the difference's O(eps^2) error, large beside L-BFGS's stopping error
    alpha, eps = 2.0, 1e-2
    model = _fit(X, y, alpha, task)
    state = model.module_.state_dict()
    net = _build(state)
    data = check_data(net, X, y, task=task)
    step = fixed_point(net, data, [alpha, alpha], layerwise=False)
    alphas = dict.fromkeys(NAMES, alpha)
    drift = curvature_drift(_build, state, alphas, data, template=model.module_, curvature="exact", layerwise=False)
    gamma, sq_norm = sum(step.gamma), sum(step.weight_sq_norms)
    beta = 1.0
    if task == "regression":  # 1 / s^2 at its maximizer
        beta = data.m / (step.noise_variance * (data.m - gamma) + alpha * sq_norm)
    mackay = (gamma - alpha * beta * sq_norm) / (2 * alpha)
    sides = [
        log_evidence(_fit(X, y, a, task).module_, X, y, task=task, alpha=a).log_evidence
        for a in (alpha * (1 + eps), alpha * (1 - eps))
    ]
    slope = (sides[0] - sides[1]) / (2 * eps * alpha)
    assert mackay + float(drift[0]) == pytest.approx(slope, rel=0.005)
    assert mackay != pytest.approx(slope, rel=0.05)


def _glm_member(X, Y, alpha, softmax):
    """The MAP of NumPy's reference as a netreg member without hidden layers, its module and data."""
    W, b, _ = glm_map(X, Y, alpha, softmax=softmax)
    mlp = MLP(X.shape[1], (), W.shape[0]).double()
    with torch.no_grad():
        mlp.layers[0].weight.copy_(torch.from_numpy(W))
        mlp.layers[0].bias.copy_(torch.from_numpy(b))
    net = stack_members(mlp)
    y = Y.argmax(1) if softmax else Y
    return mlp, check_data(net, X, y, task="multiclass" if softmax else "multilabel")


@pytest.mark.parametrize("softmax", [False, True], ids=["logistic", "softmax"])
def test_without_hidden_layers_the_drift_is_the_change_of_log_det_through_the_map(softmax):
    # Central differences in NumPy: the MAP w*(alpha') of the reference (biases included) at
    # alpha' = alpha (1 +- h), log det(H(w*(alpha')) + alpha I) at the fixed alpha; the drift is
    # -1/2 of its slope, and the evidence's own slope (gamma / alpha - ||W||^2 + 2 drift) / 2.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    scores = X @ rng.normal(size=(3, 3)) + rng.gumbel(size=(200, 3))
    Y = np.eye(3)[scores.argmax(1)] if softmax else (scores[:, :2] > 0).astype(float)
    alpha, h = 0.8, 1e-4
    mlp, data = _glm_member(X, Y, alpha, softmax)
    build = lambda sd: stack_members(dict(sd), activation="relu")  # noqa: E731
    state = mlp.state_dict()
    step = fixed_point(build(state), data, [alpha], curvature="exact")
    alphas = {"layers.0.weight": alpha}
    [drift] = curvature_drift(build, state, alphas, data, template=mlp, curvature="exact", step=1e-4).tolist()

    def log_det(a):
        hessian = glm_laplace_evidence(X, Y, a, softmax=softmax)[2]
        return np.linalg.slogdet(hessian + alpha * np.eye(len(hessian)))[1]

    assert drift == pytest.approx(
        -0.5 * (log_det(alpha * (1 + h)) - log_det(alpha * (1 - h))) / (2 * alpha * h), rel=1e-5
    )
    evidence = [glm_laplace_evidence(X, Y, alpha * (1 + s * h), softmax=softmax)[0] for s in (1, -1)]
    slope = (step.gamma[0] / alpha - step.weight_sq_norms[0] + 2 * drift) / 2
    assert slope == pytest.approx((evidence[0] - evidence[1]) / (2 * alpha * h), rel=1e-5)
    # The MAP's derivative moves the biases too (softmax's shift of every bias excepted).
    [direction] = map_directions(mlp, state, alphas, data)
    assert float(direction["layers.0.bias"].abs().max()) > 1e-3


def test_the_drift_of_a_network_without_hidden_layers_and_squared_error_is_zero():
    # Its curvature X'X does not move with the weights.
    X, y = _regression(seed=1)
    settings = {**EXACT, "hidden_layer_sizes": ()}
    state = netreg.NetRegRegressor(alpha=1.0, max_iter=2000, **settings).fit(X, y).module_.state_dict()
    build = lambda sd: stack_members(dict(sd), activation="tanh")  # noqa: E731
    data = check_data(build(state), X, y, task="regression")
    drift = curvature_drift(build, state, {"layers.0.weight": 1.0}, data, template=MLP(3, (), 1), curvature="exact")
    assert abs(float(drift[0])) < 1e-8


@pytest.mark.parametrize("curvature", ["exact", "kfac", "ekfac"])
def test_one_drift_per_layer_or_one_for_all(curvature):
    X, y = _regression(seed=2)
    state = _fit(X, y, 1.0).module_.state_dict()
    data = check_data(_build(state), X, y, task="regression")
    alphas = dict.fromkeys(NAMES, 1.0)
    template = MLP(3, (3,), 1, activation="tanh")
    per_layer = curvature_drift(_build, state, alphas, data, template=template, curvature=curvature)
    together = curvature_drift(_build, state, alphas, data, template=template, curvature=curvature, layerwise=False)
    assert per_layer.shape == (2,) and together.shape == (1,)
    # One direction is the sum of the layers' (H + A)^{-1} P_l W; the central difference is
    # linear in it up to its second-order error.
    assert float(together[0]) == pytest.approx(float(per_layer.sum()), rel=0.05)


def test_the_re_estimate_solves_the_stationarity_condition():
    # gamma_l = alpha_l (beta ||W_l||^2 - 2 c_l); classification: beta = 1. Its solution
    # alpha_0 = 4 / (3 - 1) = 2 is the re-estimate's fixed point.
    step = FixedPoint((2.0, 1.0), (1.3, 0.7), (4.0, 2.0), (3.0, 2.0), 0.0, None, "exact")
    new = profile_alphas(step, torch.tensor([0.5, 1.5]), 10.0)
    assert new[0] == pytest.approx(2.0)
    # 2 - 3 < 0: no stationary point at these weights; the evidence's slope in alpha_1,
    # (gamma - alpha ||W||^2) / (2 alpha) + c = 1 / alpha + 0.5, is positive: alpha_1 grows.
    assert new[1] == pytest.approx((2.0 + 2.0 * 1.0 * 1.5) / 2.0) and new[1] > 1.0
    totals = FixedPoint((1.5, 1.5), (0.0, 0.0), (4.0, 2.0), (3.0, 2.0), 0.0, None, "exact")
    assert profile_alphas(totals, torch.tensor([0.5]), 10.0) == pytest.approx((6.0 / (5.0 - 1.0),) * 2)
    # An undefined drift (a curvature that is not positive definite): MacKay's step.
    assert profile_alphas(step, torch.tensor([0.5, float("nan")]), 10.0) == pytest.approx((2.0, 0.7))
    # Regression: beta = mq / (2E + sum alpha_l ||W_l||^2), 2E from MacKay's s^2 = 2E / (mq - gamma).
    noisy = FixedPoint((1.0, 1.0), (0.0, 0.0), (4.0, 2.0), (3.0, 2.0), 0.0, 0.5, "exact")
    beta = 10.0 / (0.5 * (10.0 - 6.0) + 5.0)
    assert profile_alphas(noisy, torch.tensor([0.0]), 10.0) == pytest.approx((6.0 / (beta * 5.0),) * 2)


@pytest.mark.parametrize("layerwise", [True, False])
def test_a_diverged_members_drift_is_nan_not_an_error(layerwise):
    # An inf weight: no curvature is finite.
    X, y = _regression(seed=3)
    state = _fit(X, y, 1.0).module_.state_dict()
    data = check_data(_build(state), X, y, task="regression")
    diverged = {**state, NAMES[1]: state[NAMES[1]].clone().fill_(float("inf"))}
    drift = curvature_drift(
        _build,
        diverged,
        dict.fromkeys(NAMES, 1.0),
        data,
        template=MLP(3, (3,), 1, activation="tanh"),
        curvature="exact",
        layerwise=layerwise,
    )
    assert drift.shape == (2 if layerwise else 1,) and bool(drift.isnan().all())
