"""netreg's objective and gradients against scikit-learn's MLP, from the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netreg
from netreg.nets import MLP
from netreg.objective import objective
from reference import sklearn_loss_and_grads, sklearn_mlp_from, torch_grads_as_sklearn


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_multiclass_objective_and_gradients_equal_mlpclassifier(digits, activation):
    X, y = digits[0][:300], digits[1][:300]
    net = MLP(64, (32, 16), 10, activation=activation).double()
    mlp = sklearn_mlp_from(net, X, y, alpha=2.0, activation=activation)
    sk_loss, sk_coef_grads, sk_intercept_grads = sklearn_loss_and_grads(mlp, X, y)
    ours = objective(net, X, y, task="multiclass", penalty=netreg.L2(2.0))
    ours.backward()
    assert ours.item() == pytest.approx(sk_loss, rel=1e-10)
    coef_grads, intercept_grads = torch_grads_as_sklearn(net)
    for ours_g, theirs in zip(coef_grads + intercept_grads, sk_coef_grads + sk_intercept_grads):
        np.testing.assert_allclose(ours_g, theirs, rtol=1e-8, atol=1e-12)


def test_binary_and_weighted_objective_equal_mlpclassifier(digits):
    X, y = digits[0][:200], (digits[1][:200] >= 5).astype(int)
    weights = np.random.default_rng(0).uniform(0.2, 3.0, size=200)
    net = MLP(64, (12,), 1).double()
    mlp = sklearn_mlp_from(net, X, y, alpha=0.5)
    sk_loss, sk_coef_grads, _ = sklearn_loss_and_grads(mlp, X, y, sample_weight=weights)
    ours = objective(net, X, y, task="binary", penalty=netreg.L2(0.5), sample_weight=weights)
    ours.backward()
    assert ours.item() == pytest.approx(sk_loss, rel=1e-10)
    for ours_g, theirs in zip(torch_grads_as_sklearn(net)[0], sk_coef_grads):
        np.testing.assert_allclose(ours_g, theirs, rtol=1e-8, atol=1e-12)


def test_regression_objective_and_gradients_equal_mlpregressor(diabetes):
    X, y = diabetes
    net = MLP(10, (8,), 1).double()
    mlp = sklearn_mlp_from(net, X, y, alpha=3.0, classifier=False)
    sk_loss, sk_coef_grads, _ = sklearn_loss_and_grads(mlp, X, y)
    ours = objective(net, X, y, task="regression", penalty=netreg.L2(3.0))
    ours.backward()
    assert ours.item() == pytest.approx(sk_loss, rel=1e-10)
    for ours_g, theirs in zip(torch_grads_as_sklearn(net)[0], sk_coef_grads):
        np.testing.assert_allclose(ours_g, theirs, rtol=1e-8, atol=1e-12)


def test_multi_output_regression_follows_mlpregressor_gradient_which_sums_over_targets(diabetes):
    # scikit-learn reports a loss averaged over the q targets but follows the gradient of
    # the sum over targets; netreg's loss is that sum, so the gradients agree and the data
    # terms differ by exactly the factor q.
    X = diabetes[0]
    Y = np.column_stack([diabetes[1], diabetes[1] ** 2, -diabetes[1]])
    net = MLP(10, (8,), 3).double()
    mlp = sklearn_mlp_from(net, X, Y, alpha=3.0, classifier=False)
    sk_loss, sk_coef_grads, _ = sklearn_loss_and_grads(mlp, X, Y)
    penalty = netreg.L2(3.0)(net, n_samples=len(X))
    data = objective(net, X, Y, task="regression", penalty=None)
    (data + penalty).backward()
    assert data.item() == pytest.approx(3 * (sk_loss - penalty.item()), rel=1e-10)
    for ours_g, theirs in zip(torch_grads_as_sklearn(net)[0], sk_coef_grads):
        np.testing.assert_allclose(ours_g, theirs, rtol=1e-8, atol=1e-12)


def test_objective_without_penalty_is_the_mean_data_loss():
    net = MLP(2, (), 1).double()
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0], dtype=torch.float64)
    predictions = net(X).detach().numpy().ravel()
    expected = 0.5 * np.mean((predictions - y.numpy()) ** 2)  # one target: half MSE
    assert objective(net, X, y, task="regression", penalty=None).item() == pytest.approx(expected)
