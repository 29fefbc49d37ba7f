"""The MLP builder: shapes, initialization, activations, dropout and its errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import netreg
from netreg.nets import MLP


def test_layers_shapes_and_names():
    net = MLP(7, (16, 8), 3)
    assert [(n, tuple(p.shape)) for n, p in net.named_parameters()] == [
        ("layers.0.weight", (16, 7)),
        ("layers.0.bias", (16,)),
        ("layers.1.weight", (8, 16)),
        ("layers.1.bias", (8,)),
        ("layers.2.weight", (3, 8)),
        ("layers.2.bias", (3,)),
    ]
    assert net(torch.zeros(4, 7)).shape == (4, 3)


def test_no_hidden_layer_is_a_linear_model():
    net = MLP(4, (), 2)
    x = torch.randn(5, 4)
    layer = net.layers[0]
    torch.testing.assert_close(net(x), x @ layer.weight.T + layer.bias)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_activations_match_their_formulas(activation):
    net = MLP(3, (4,), 1, activation=activation).double()
    x = torch.randn(6, 3, dtype=torch.float64)
    hidden = (x @ net.layers[0].weight.T + net.layers[0].bias).detach().numpy()
    formulas = {
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "logistic": lambda z: 1 / (1 + np.exp(-z)),
        "identity": lambda z: z,
    }
    expected = (
        formulas[activation](hidden) @ net.layers[1].weight.detach().numpy().T + net.layers[1].bias.detach().numpy()
    )
    np.testing.assert_allclose(net(x).detach().numpy(), expected, rtol=1e-12)


def test_glorot_uniform_initialization_bounds_as_scikit_learn():
    for activation, factor in [("relu", 6.0), ("logistic", 2.0)]:
        net = MLP(50, (30,), 10, activation=activation)
        for layer in net.layers:
            bound = math.sqrt(factor / (layer.in_features + layer.out_features))
            assert layer.weight.abs().max() <= bound
            # 1500 uniform draws: the largest is within 1% of the bound.
            assert layer.weight.abs().max() > 0.95 * bound


def test_dropout_acts_in_training_only():
    net = MLP(5, (200,), 1, dropout=0.5)
    x = torch.randn(3, 5)
    net.eval()
    torch.testing.assert_close(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"hidden_layer_sizes": (10, 0)},
            "`hidden_layer_sizes` must be a positive int or a sequence of positive ints. Got hidden_layer_sizes=(10, 0).",
        ),
        (
            {"hidden_layer_sizes": (10, 2.5)},
            "`hidden_layer_sizes` must be a positive int or a sequence of positive ints. Got hidden_layer_sizes=(10, 2.5).",
        ),
        (
            {"hidden_layer_sizes": "10"},
            "`hidden_layer_sizes` must be a positive int or a sequence of positive ints. Got hidden_layer_sizes='10'.",
        ),
        (
            {"hidden_layer_sizes": (True,)},
            "`hidden_layer_sizes` must be a positive int or a sequence of positive ints. Got hidden_layer_sizes=(True,).",
        ),
        (
            {"activation": "rellu"},
            "`activation` must be one of 'relu', 'tanh', 'logistic', 'identity'. Got activation='rellu'. Did you mean 'relu'?",
        ),
        ({"dropout": 1.0}, "`dropout` must be a float in [0, 1). Got dropout=1.0."),
        ({"n_features": 0}, "`n_features` must be an int >= 1. Got n_features=0."),
    ],
)
def test_bad_arguments_raise_the_full_message(kwargs, message):
    arguments = {"n_features": 3, "hidden_layer_sizes": (4,), "n_outputs": 2, **kwargs}
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        MLP(**arguments)


def test_parameter_count_is_that_of_the_built_network():
    for sizes in [(7, (16, 8), 3), (4, (), 2), (1, (5,), 1)]:
        assert netreg.nets.parameter_count(*sizes) == sum(p.numel() for p in MLP(*sizes).parameters())


def test_a_network_too_large_to_train_is_refused_before_anything_is_allocated(budget, refused):
    # 10**9 units would take terabytes: had anything been allocated, the test would not end.
    budget(1)
    message = (
        "`hidden_layer_sizes` must be layer sizes whose network fits in memory. Got 64 inputs -> 1000000000 -> "
        "10 outputs: 75,000,000,010 parameters, about 1.9 TiB to train (7 copies in float32: weights, "
        "gradients, optimizer state, best weights), over the 1.0 GiB netreg may take (half the memory available). "
        "Use fewer or smaller hidden layers, or fewer features."
    )
    with refused(message, netreg.InvalidParameterError):
        MLP(64, (10**9,), 10)
    # The budget is the limit: 7 copies of 4 bytes of the parameters.
    budget(7 * 4 * netreg.nets.parameter_count(64, (1000,), 10) / 1024**3)
    MLP(64, (1000,), 10)
    with pytest.raises(netreg.InvalidParameterError, match="^`hidden_layer_sizes` must be layer sizes"):
        MLP(64, (1001,), 10)
