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
from netreg.evidence.weight_drift import curvature_drift, profile_alphas

# Converged fits (L-BFGS in float64), a smooth activation: the MAP weights move smoothly with alpha.
EXACT = {"hidden_layer_sizes": (3,), "activation": "tanh", "solver": "lbfgs", "dtype": "float64", "tol": 1e-14}
NAMES = ("layers.0.weight", "layers.1.weight")


def _build(state_dict):
    return stack_members(dict(state_dict), activation="tanh")


def _regression(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 3))
    return X, np.tanh(X[:, 0]) - X[:, 1] + 0.3 * rng.normal(size=80)


def _fit(X, y, alpha):
    return netreg.NetRegRegressor(alpha=alpha, max_iter=20000, random_state=0, **EXACT).fit(X, y)


def test_the_slope_of_the_grids_evidence_counts_the_curvatures_drift():
    # d log Z / d alpha of the evidence at W*(alpha), the noise variance at its maximizer, is
    # (gamma - alpha beta ||W||^2) / (2 alpha) + c: MacKay's part alone misses it by 8 %.
    X, y = _regression()
    alpha, eps = 2.0, 1e-3
    state = _fit(X, y, alpha).module_.state_dict()
    net = _build(state)
    data = check_data(net, X, y, task="regression")
    step = fixed_point(net, data, [alpha, alpha], layerwise=False)
    drift = curvature_drift(_build, state, dict.fromkeys(NAMES, alpha), data, curvature="exact", layerwise=False)
    gamma, sq_norm = sum(step.gamma), sum(step.weight_sq_norms)
    beta = data.m / (step.noise_variance * (data.m - gamma) + alpha * sq_norm)  # 1 / s^2 at its maximizer
    mackay = (gamma - alpha * beta * sq_norm) / (2 * alpha)
    sides = [
        log_evidence(_fit(X, y, a).module_, X, y, task="regression", alpha=a).log_evidence
        for a in (alpha * (1 + eps), alpha * (1 - eps))
    ]
    slope = (sides[0] - sides[1]) / (2 * eps * alpha)
    assert mackay + float(drift[0]) == pytest.approx(slope, rel=0.02)
    assert mackay != pytest.approx(slope, rel=0.05)


def test_the_drift_of_a_network_without_hidden_layers_and_squared_error_is_zero():
    # Its curvature X'X does not move with the weights.
    X, y = _regression(seed=1)
    settings = {**EXACT, "hidden_layer_sizes": ()}
    state = netreg.NetRegRegressor(alpha=1.0, max_iter=2000, **settings).fit(X, y).module_.state_dict()
    build = lambda sd: stack_members(dict(sd), activation="tanh")  # noqa: E731
    data = check_data(build(state), X, y, task="regression")
    drift = curvature_drift(build, state, {"layers.0.weight": 1.0}, data, curvature="exact")
    assert abs(float(drift[0])) < 1e-8


@pytest.mark.parametrize("curvature", ["exact", "kfac"])
def test_one_drift_per_layer_or_one_for_all(curvature):
    X, y = _regression(seed=2)
    state = _fit(X, y, 1.0).module_.state_dict()
    data = check_data(_build(state), X, y, task="regression")
    alphas = dict.fromkeys(NAMES, 1.0)
    per_layer = curvature_drift(_build, state, alphas, data, curvature=curvature)
    together = curvature_drift(_build, state, alphas, data, curvature=curvature, layerwise=False)
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
    # An inf weight: H + A is not positive definite, as hessian_drift answers it.
    X, y = _regression(seed=3)
    state = _fit(X, y, 1.0).module_.state_dict()
    data = check_data(_build(state), X, y, task="regression")
    diverged = {**state, NAMES[1]: state[NAMES[1]].clone().fill_(float("inf"))}
    drift = curvature_drift(_build, diverged, dict.fromkeys(NAMES, 1.0), data, curvature="exact", layerwise=layerwise)
    assert drift.shape == (2 if layerwise else 1,) and bool(drift.isnan().all())
