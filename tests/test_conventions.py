"""Each conversion checked numerically against the library it converts to."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch
from torch import nn

import netreg
from netreg import conventions
from netreg.nets import MLP
from netreg.objective import objective
from reference import sklearn_loss_and_grads, sklearn_mlp_from

os.environ.setdefault("KERAS_BACKEND", "torch")


def test_keras_l2_regularizer_equals_netreg_l2_penalty():
    keras = pytest.importorskip("keras", reason="keras is a test dependency (pyproject [test])")
    assert keras.backend.backend() == "torch"
    rng = np.random.default_rng(0)
    kernels = [rng.normal(size=(4, 6)), rng.normal(size=(6, 3))]
    alpha, m = 2.5, 120
    l2 = conventions.to_keras_l2(alpha, n_samples=m)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(6, kernel_regularizer=keras.regularizers.L2(l2), dtype="float64"),
            keras.layers.Dense(3, kernel_regularizer=keras.regularizers.L2(l2), dtype="float64"),
        ]
    )
    for layer, kernel in zip(model.layers, kernels):
        layer.set_weights([kernel, np.zeros(kernel.shape[1])])
    keras_penalty = float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses))
    ours = netreg.l2_penalty([torch.tensor(k.T) for k in kernels], alpha, n_samples=m).item()
    assert keras_penalty == pytest.approx(ours, rel=1e-10)
    assert conventions.from_keras_l2(l2, n_samples=m) == pytest.approx(alpha)


@pytest.mark.parametrize("optimizer_cls", [torch.optim.SGD, torch.optim.Adam])
def test_torch_weight_decay_on_weight_group_equals_netreg_l2(optimizer_cls):
    # Five steps of the optimizer with weight_decay = alpha/m on the weights only, against
    # the same optimizer without weight decay on the loss plus netreg's L2 penalty.
    rng = np.random.default_rng(1)
    X, y = torch.tensor(rng.normal(size=(40, 5))), torch.tensor(rng.integers(0, 3, 40))
    alpha, m = 3.0, 40
    decayed, penalized = (MLP(5, (8,), 3).double() for _ in range(2))
    penalized.load_state_dict(decayed.state_dict())
    opt_a = optimizer_cls(conventions.torch_param_groups(decayed, alpha, m, optimizer_cls), lr=0.05)
    opt_b = optimizer_cls(penalized.parameters(), lr=0.05)
    for _ in range(5):
        for net, opt, penalty in [(decayed, opt_a, None), (penalized, opt_b, netreg.L2(alpha))]:
            opt.zero_grad()
            objective(net, X, y, task="multiclass", penalty=penalty).backward()
            opt.step()
    for a, b in zip(decayed.parameters(), penalized.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert conventions.to_torch_weight_decay(alpha, m, "Adam") == alpha / m


def test_adamw_is_refused_because_decoupled_decay_is_not_l2():
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(conventions.ADAMW_MESSAGE)}$"):
        conventions.to_torch_weight_decay(1.0, 100, torch.optim.AdamW)
    with pytest.raises(netreg.InvalidParameterError, match="^AdamW's weight_decay is decoupled"):
        conventions.from_torch_weight_decay(0.01, 100, "AdamW")
    message = (
        "`optimizer` must be one of 'SGD', 'Adam', 'Adagrad', 'Adamax', 'RMSprop', 'NAdam', 'RAdam', 'ASGD'. "
        "Got optimizer='LBFGS'."
    )
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        conventions.to_torch_weight_decay(1.0, 100, "LBFGS")


@pytest.mark.parametrize("solver, batch_size", [("adam", 50), ("sgd", 25), ("adam", "auto")])
def test_sklearn_minibatch_alpha_conversion_against_sklearn_backprop(digits, solver, batch_size):
    # scikit-learn's loss on one minibatch of b rows with its alpha equals netreg's minibatch
    # objective (batch mean loss + alpha / (2m) ||W||^2, m the training set size).
    X, y = digits
    m = 1000
    X, y = X[:m], y[:m]
    b = 200 if batch_size == "auto" else batch_size
    sklearn_alpha = 0.3
    alpha = conventions.from_sklearn_alpha(sklearn_alpha, solver=solver, n_samples=m, batch_size=batch_size)
    assert alpha == pytest.approx(sklearn_alpha * m / b)
    assert conventions.to_sklearn_alpha(alpha, solver=solver, n_samples=m, batch_size=batch_size) == pytest.approx(
        sklearn_alpha
    )
    net = MLP(64, (20,), 10).double()
    mlp = sklearn_mlp_from(net, X, y, alpha=sklearn_alpha)
    Xb, yb = X[:b], y[:b]
    sk_loss, sk_coef_grads, _ = sklearn_loss_and_grads(mlp, Xb, yb)
    ours = objective(net, Xb, yb, task="multiclass", penalty=None) + netreg.L2(alpha)(net, n_samples=m)
    ours.backward()
    assert ours.item() == pytest.approx(sk_loss, rel=1e-10)
    for layer, sk_grad in zip(net.layers, sk_coef_grads):
        np.testing.assert_allclose(layer.weight.grad.numpy().T, sk_grad, rtol=1e-8, atol=1e-12)


def test_sklearn_lbfgs_alpha_is_the_same_number():
    assert conventions.to_sklearn_alpha(0.7, solver="lbfgs", n_samples=123) == 0.7
    assert conventions.from_sklearn_alpha(0.7, solver="lbfgs", n_samples=123, batch_size=10) == 0.7


def test_logistic_and_ridge_conversions_and_their_errors():
    assert conventions.to_logistic_C(0.5) == 2.0
    assert conventions.from_logistic_C(2.0) == 0.5
    assert conventions.to_ridge_alpha(0.5) == 0.5
    assert conventions.from_ridge_alpha(2.0) == 2.0
    with pytest.raises(
        netreg.InvalidParameterError, match=re.escape("`alpha` must be a finite float > 0. Got alpha=0.0.")
    ):
        conventions.to_logistic_C(0.0)
    with pytest.raises(
        netreg.InvalidParameterError, match=re.escape("`n_samples` must be a finite float > 0. Got n_samples=-5.")
    ):
        conventions.to_keras_l2(1.0, n_samples=-5)


def test_torch_param_groups_decay_only_penalized_weights():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 1))
    decayed, plain = conventions.torch_param_groups(model, alpha=2.0, n_samples=10)
    assert decayed["weight_decay"] == 0.2 and plain["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(model[0].weight), id(model[2].weight)}
    assert len(plain["params"]) == 4
