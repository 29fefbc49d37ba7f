"""Reading members: MLPs, state dicts, stacked populations; the recorded forward pass."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.func import stack_module_state

from netreg.evidence.stacked_mlp import forward_records, stack_members, stack_weights
from netreg.exceptions import InvalidParameterError
from netreg.nets import MLP, stacked_mlp_forward


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_forward_records_match_the_module_and_the_stacked_forward(activation):
    nets = [MLP(3, (5, 4), 2, activation=activation).double() for _ in range(3)]
    params, _ = stack_module_state(nets)
    x = torch.randn(7, 3, dtype=torch.float64)
    inputs, slopes, out = forward_records(stack_members(params, activation=activation), x)
    expected = stacked_mlp_forward(params, x, n_layers=3, activation=activation, dropout=0.0, training=False)
    assert torch.allclose(out, expected)
    # The slopes are the activation's derivative at the pre-activation, as autograd gives it.
    z = nets[1].layers[0](x).detach().requires_grad_()
    function = {"relu": torch.relu, "tanh": torch.tanh, "logistic": torch.sigmoid, "identity": lambda v: v * 1.0}
    (grad,) = torch.autograd.grad(function[activation](z).sum(), z)
    assert torch.allclose(slopes[0][1], grad)
    assert torch.allclose(inputs[1][1], function[activation](z).detach())
    assert inputs[0] is x and len(slopes) == 2


def test_every_form_of_a_member_gives_the_same_stack():
    nets = [MLP(3, (4,), 2, activation="tanh") for _ in range(2)]
    params, _ = stack_module_state(nets)
    from_modules = stack_members(nets)
    from_states = stack_members([net.state_dict() for net in nets], activation="tanh")
    from_stack = stack_members(params, activation="tanh")
    for other in (from_states, from_stack):
        assert other.activation == "tanh"
        assert all(torch.equal(a, b) for a, b in zip(from_modules.weights, other.weights))
        assert all(torch.equal(a, b) for a, b in zip(from_modules.biases, other.biases))
    assert from_modules.weights[0].dtype == torch.float64 and from_modules.weights[0].shape == (2, 4, 3)
    assert from_modules.member(1).weights[1].shape == (1, 2, 4)
    weights, _ = stack_weights(nets[0])
    assert weights[1].shape == (1, 2, 4)


def test_members_errors_name_what_is_wrong():
    cases = [
        (
            lambda: stack_members(nn.Linear(2, 1)),
            "`members` must be a netreg MLP, its state dict, a state dict stacked along a leading member axis, or a sequence of MLPs or state dicts. Got a Linear.",
        ),
        (
            lambda: stack_members([]),
            "`members` must be a netreg MLP, its state dict, a state dict stacked along a leading member axis, or a sequence of MLPs or state dicts. Got a list.",
        ),
        (
            lambda: stack_members([MLP(2, (3,), 1), MLP(2, (4,), 1)]),
            "`members` must be networks of one architecture. Got weight shapes ((3, 2), (1, 3)) and ((4, 2), (1, 4)).",
        ),
        (
            lambda: stack_members([MLP(2, (), 1, activation="tanh"), MLP(2, (), 1)]),
            "`activation` must be the same for every member. Got activation=['relu', 'tanh'].",
        ),
        (
            lambda: stack_members(MLP(2, (), 1), activation="tanh"),
            "`activation` must be the same for every member. Got activation=['relu', 'tanh'].",
        ),
        (
            lambda: stack_members({"weight": torch.zeros(1, 2)}, activation="relu"),
            "`members` must be a netreg MLP, its state dict, a state dict stacked along a leading member axis, or a sequence of MLPs or state dicts. Got a mapping with keys ['weight']. An MLP's state dict holds 'layers.0.weight', 'layers.0.bias', ... for consecutive layers.",
        ),
        (
            lambda: stack_members(
                {"layers.0.weight": torch.zeros(1, 2), "layers.0.bias": torch.zeros(2)}, activation="relu"
            ),
            "`members` must be a layers.0.weight of shape (out, in) or (K, out, in) with a layers.0.bias of shape (out,) or (K, out). Got (1, 2) and (2,).",
        ),
        (
            lambda: stack_members(
                {
                    "layers.0.weight": torch.zeros(3, 2),
                    "layers.0.bias": torch.zeros(3),
                    "layers.1.weight": torch.zeros(1, 4),
                    "layers.1.bias": torch.zeros(1),
                },
                activation="relu",
            ),
            "`members` must be layers that chain, each taking as many inputs as the one before has outputs. Got layers.1.weight taking 4 inputs after layers.0 with 3 outputs.",
        ),
        (
            lambda: stack_members(
                {
                    "layers.0.weight": torch.zeros(3, 2),
                    "layers.0.bias": torch.zeros(3),
                    "layers.1.weight": torch.zeros(2, 1, 3),
                    "layers.1.bias": torch.zeros(2, 1),
                },
                activation="relu",
            ),
            "`members` must be the same number of members in every layer. Got 1 in layers.0 and 2 in layers.1.",
        ),
        (
            lambda: stack_members(MLP(2, (), 1), activation="gelu"),
            "`activation` must be one of 'relu', 'tanh', 'logistic', 'identity'. Got activation='gelu'.",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InvalidParameterError, match=re.escape(message)):
            call()
