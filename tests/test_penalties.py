"""Penalties against NumPy closed forms, finite differences and each other."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

import netreg
from expected_messages import not_a_nonnegative_float
from netreg import penalties
from netreg.penalties import (
    L1,
    L2,
    ElasticNet,
    elastic_net_penalty,
    elastic_net_penalty_grad_,
    l1_penalty,
    l1_penalty_grad_,
    l2_penalty,
    l2_penalty_grad_,
)

RNG = np.random.default_rng(0)
W1, W2 = RNG.normal(size=(5, 3)), RNG.normal(size=(2, 5))
M = 37.0


def _closed_form(weights, alphas, l1_ratio, m):
    # The objective's penalty written out with NumPy, independently of netreg.
    return sum(
        a / m * (l1_ratio * np.abs(w).sum() + (1 - l1_ratio) / 2 * (w**2).sum()) for w, a in zip(weights, alphas)
    )


def _tensors(*arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize(
    "function, l1_ratio",
    [
        (l2_penalty, 0.0),
        (l1_penalty, 1.0),
        (lambda w, a, n_samples: elastic_net_penalty(w, a, l1_ratio=0.3, n_samples=n_samples), 0.3),
    ],
)
def test_value_matches_numpy_closed_form(function, l1_ratio):
    # One shared strength, then one per layer.
    value = function(_tensors(W1, W2), 0.7, n_samples=M)
    assert value.item() == pytest.approx(_closed_form([W1, W2], [0.7, 0.7], l1_ratio, M), rel=1e-12)
    value = function(_tensors(W1, W2), [0.7, 2.5], n_samples=M)
    assert value.item() == pytest.approx(_closed_form([W1, W2], [0.7, 2.5], l1_ratio, M), rel=1e-12)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.4, 1.0])
def test_autograd_gradient_matches_central_finite_differences(l1_ratio):
    # Weights away from 0, where |w| is differentiable.
    base = [W1 + np.sign(W1) * 0.1, W2 + np.sign(W2) * 0.1]
    alphas, eps = [0.9, 3.0], 1e-6
    weights = _tensors(*base)
    elastic_net_penalty(weights, alphas, l1_ratio=l1_ratio, n_samples=M).backward()
    for j, w in enumerate(base):
        numeric = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            plus, minus = [b.copy() for b in base], [b.copy() for b in base]
            plus[j][index] += eps
            minus[j][index] -= eps
            numeric[index] = (_closed_form(plus, alphas, l1_ratio, M) - _closed_form(minus, alphas, l1_ratio, M)) / (
                2 * eps
            )
        np.testing.assert_allclose(weights[j].grad.numpy(), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "value_fn, grad_fn, l1_ratio",
    [
        (l2_penalty, l2_penalty_grad_, None),
        (l1_penalty, l1_penalty_grad_, None),
        (elastic_net_penalty, elastic_net_penalty_grad_, 0.25),
    ],
)
@pytest.mark.parametrize("alpha", [1.3, [0.2, 4.0]])
def test_fused_gradient_equals_autograd_of_value(value_fn, grad_fn, l1_ratio, alpha):
    extra = {} if l1_ratio is None else {"l1_ratio": l1_ratio}
    weights = _tensors(W1, W2)
    value_fn(weights, alpha, n_samples=M, **extra).backward()
    grads = [torch.full_like(w, 0.5) for w in weights]  # fused path adds to existing gradients
    grad_fn([w.detach() for w in weights], grads, alpha, n_samples=M, **extra)
    for w, g in zip(weights, grads):
        torch.testing.assert_close(g - 0.5, w.grad, rtol=1e-12, atol=1e-14)


def test_l1_subgradient_at_zero_is_zero_like_autograd():
    w = torch.tensor([[0.0, 2.0, -3.0]], dtype=torch.float64, requires_grad=True)
    l1_penalty([w], 5.0, n_samples=10).backward()
    fused = torch.zeros(1, 3, dtype=torch.float64)
    l1_penalty_grad_([w.detach()], [fused], 5.0, n_samples=10)
    torch.testing.assert_close(fused, torch.tensor([[0.0, 0.5, -0.5]], dtype=torch.float64))
    torch.testing.assert_close(fused, w.grad)


def test_alpha_zero_is_exactly_a_no_op():
    weights = [torch.tensor([[np.inf, 1.0]]), torch.randn(3, 3)]
    assert l2_penalty(weights, 0.0, n_samples=10).item() == 0.0
    grads = [torch.randn(1, 2), torch.randn(3, 3)]
    before = [g.clone() for g in grads]
    l2_penalty_grad_(weights, grads, 0.0, n_samples=10)
    l1_penalty_grad_(weights, grads, [0.0, 0.0], n_samples=10)
    for g, b in zip(grads, before):
        assert torch.equal(g, b)


def test_population_alpha_gives_one_value_and_gradient_per_member():
    K = 3
    alpha = torch.tensor([0.0, 1.0, 5.0], dtype=torch.float64)
    stacked = [torch.tensor(np.stack([W1 * (k + 1) for k in range(K)]), requires_grad=True)]
    values = l2_penalty(stacked, alpha, n_samples=M)
    expected = [_closed_form([W1 * (k + 1)], [alpha[k].item()], 0.0, M) for k in range(K)]
    np.testing.assert_allclose(values.detach().numpy(), expected, rtol=1e-12)
    values.sum().backward()
    fused = [torch.zeros_like(stacked[0])]
    l2_penalty_grad_([stacked[0].detach()], fused, alpha, n_samples=M)
    torch.testing.assert_close(fused[0], stacked[0].grad)
    for k in range(K):
        torch.testing.assert_close(fused[0][k], alpha[k] / M * stacked[0][k].detach())


def _model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.LayerNorm(4), nn.Linear(4, 2)).double()


# The scale API: alpha_kj / m_k built once, one tensor for the gradient and the value.
K_ALPHAS = np.array([[0.5, 2.0], [0.0, 1.0], [3.0, 0.25]])  # (K, J): member x weight
K_M = np.array([10.0, 20.0, 37.0])


def _stacked(*arrays):
    # K members' copies of each weight, scaled differently so the members differ.
    return [torch.tensor(np.stack([a * (k + 1) for k in range(3)]), dtype=torch.float64) for a in arrays]


def test_penalty_scales_are_alpha_over_m_per_member_and_weight():
    weights = [torch.zeros(3, 5, 3, dtype=torch.float32), torch.zeros(3, 2, dtype=torch.float64)]
    scales = penalties.penalty_scales(torch.tensor(K_ALPHAS), torch.tensor(K_M), weights)
    assert [s.shape for s in scales] == [(3, 1, 1), (3, 1)]
    assert [s.dtype for s in scales] == [torch.float32, torch.float64]
    for j, scale in enumerate(scales):
        np.testing.assert_allclose(scale.flatten().numpy(), K_ALPHAS[:, j] / K_M, rtol=1e-7)


def test_penalty_scales_refuse_a_strength_table_of_the_wrong_shape():
    message = "`alphas` must be a (K, 2) array: one strength per member and weight. Got alphas=torch.Size([3])."
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        penalties.penalty_scales([1.0, 2.0, 3.0], K_M, _stacked(W1, W2))


@pytest.mark.parametrize("l1_ratio", [0.0, 0.4, 1.0])
def test_scaled_value_matches_the_closed_form_of_each_member(l1_ratio):
    weights = _stacked(W1, W2)
    scales = penalties.penalty_scales(K_ALPHAS, K_M, weights)
    value = penalties.scaled_value(weights, scales, l1_ratio=l1_ratio)
    assert value.shape == (3,)
    for k in range(3):
        expected = _closed_form([W1 * (k + 1), W2 * (k + 1)], K_ALPHAS[k], l1_ratio, K_M[k])
        assert value[k].item() == pytest.approx(expected, rel=1e-12)
    # Float scales: one model, the same number as the functional form.
    single = penalties.scaled_value(_tensors(W1, W2), [0.7 / M, 2.5 / M], l1_ratio=l1_ratio)
    assert single.item() == pytest.approx(_closed_form([W1, W2], [0.7, 2.5], l1_ratio, M), rel=1e-12)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.4, 1.0])
def test_add_scaled_grad_equals_autograd_of_scaled_value_with_the_same_scales(l1_ratio):
    weights = [w.requires_grad_(True) for w in _stacked(W1 + np.sign(W1) * 0.1, W2 + np.sign(W2) * 0.1)]
    scales = penalties.penalty_scales(K_ALPHAS, K_M, weights)
    penalties.scaled_value(weights, scales, l1_ratio=l1_ratio).sum().backward()
    grads = [torch.full_like(w, 0.5) for w in weights]  # the fused path adds to existing gradients
    penalties.add_scaled_grad_([w.detach() for w in weights], grads, scales, l1_ratio=l1_ratio)
    for w, g in zip(weights, grads):
        torch.testing.assert_close(g - 0.5, w.grad, rtol=1e-12, atol=1e-14)


def test_add_scaled_grad_with_float_scales_and_zero_scale_no_op():
    w = torch.tensor([[3.0, -4.0]], dtype=torch.float64)
    inf = torch.tensor([[float("inf")]], dtype=torch.float64)
    g, g_inf = torch.zeros(1, 2, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64)
    penalties.add_scaled_grad_([w, inf], [g, g_inf], [0.2, 0.0], l1_ratio=0.5)
    assert g.tolist() == [[0.2 * (0.5 + 0.5 * 3.0), 0.2 * (-0.5 - 0.5 * 4.0)]] and g_inf.tolist() == [[0.0]]
    assert penalties.scaled_value([inf], [0.0]).item() == 0.0
    penalties.add_scaled_grad_([], [], [])  # nothing penalized: nothing to do


def test_scale_api_refuses_mismatched_arguments():
    with pytest.raises(
        ValueError, match=re.escape("Got 1 weights, 2 gradients and 1 scales; expected one of each per weight.")
    ):
        penalties.add_scaled_grad_([torch.zeros(2)], [torch.zeros(2), torch.zeros(2)], [1.0])
    message = "`scales` must be floats or tensors of shape (K, 1, ..., 1), one per weight. Got scales=torch.Size([3])."
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        penalties.scaled_value([torch.zeros(3, 2)], [torch.ones(3)])


def test_class_on_module_penalizes_only_layer_weights_with_per_layer_strengths():
    model = _model()
    penalty = L2(alpha=0.5, layer_alphas={"3.weight": 4.0})
    first, last = model[0].weight.detach().numpy(), model[3].weight.detach().numpy()
    expected = _closed_form([first, last], [0.5, 4.0], 0.0, M)
    assert penalty(model, n_samples=M).item() == pytest.approx(expected, rel=1e-12)


def test_class_exclusion_and_inclusion_change_what_is_penalized():
    model = _model()
    first, last = model[0].weight.detach().numpy(), model[3].weight.detach().numpy()
    bias = model[0].bias.detach().numpy()
    excluded = L1(alpha=2.0, exclude=["3.*"])(model, n_samples=M).item()
    assert excluded == pytest.approx(_closed_form([first], [2.0], 1.0, M), rel=1e-12)
    included = L1(alpha=2.0, include=["0.bias"])(model, n_samples=M).item()
    assert included == pytest.approx(_closed_form([first, bias, last], [2.0] * 3, 1.0, M), rel=1e-12)


def test_class_grad_equals_autograd_and_leaves_excluded_parameters_alone():
    model = _model()
    penalty = ElasticNet(alpha=0.8, l1_ratio=0.6, layer_alphas={"0.weight": 2.0})
    penalty(model, n_samples=M).backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    penalty.grad_(model, n_samples=M)
    got = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert sorted(got) == sorted(expected) == ["0.weight", "3.weight"]
    for name in got:
        torch.testing.assert_close(got[name], expected[name])
    assert model[2].weight.grad is None and model[0].bias.grad is None


def test_get_and_config_round_trip():
    for penalty in [L2(0.3), L1(2.0, exclude=["head.*"]), ElasticNet(0.1, 0.7, layer_alphas={"a.*": 1.0})]:
        config = penalty.get_config()
        assert penalties.get(config) == penalty
        assert penalties.get(config).get_config() == config
    assert penalties.get("elasticnet") == ElasticNet()
    assert penalties.get(None) is None
    same = L2(0.5)
    assert penalties.get(same) is same


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: L2(alpha=-0.1), not_a_nonnegative_float("alpha", "-0.1")),
        (lambda: L2(alpha=float("nan")), not_a_nonnegative_float("alpha", "nan")),
        (lambda: L1(alpha=float("inf")), not_a_nonnegative_float("alpha", "inf")),
        (lambda: L2(alpha=True), not_a_nonnegative_float("alpha", "True")),
        (lambda: L2(alpha="1"), not_a_nonnegative_float("alpha", "'1'")),
        (lambda: ElasticNet(l1_ratio=1.5), "`l1_ratio` must be a float in [0, 1]. Got l1_ratio=1.5."),
        (lambda: ElasticNet(l1_ratio=-0.1), "`l1_ratio` must be a float in [0, 1]. Got l1_ratio=-0.1."),
        (
            lambda: L2(layer_alphas={"0.*": -2.0}),
            not_a_nonnegative_float("layer_alphas['0.*']", "-2.0"),
        ),
        (
            lambda: L2(exclude="0.weight"),
            "`exclude` must be a sequence of glob patterns (str). Got exclude='0.weight'. Write exclude=['0.weight'].",
        ),
        (
            lambda: penalties.get("l3"),
            "`penalty` must be one of 'l2', 'l1', 'elasticnet', a config dict with such a 'name', or a Penalty. "
            "Got penalty='l3'.",
        ),
    ],
)
def test_bad_parameters_raise_the_full_message(build, message):
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        build()


def test_bad_n_samples_is_refused():
    with pytest.raises(ValueError, match=re.escape("`n_samples` must be a finite float > 0. Got n_samples=0.")):
        L2(1.0)(_model(), n_samples=0)
