"""Which parameters are penalized: the default rule, patterns and per-layer strengths."""

from __future__ import annotations

import re

import pytest
from torch import nn

import netreg
from netreg.selection import PenalizedParameter, penalized_parameters


class Zoo(nn.Module):
    """One of each kind of layer the default rule has an opinion on."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.conv = nn.Conv1d(4, 6, kernel_size=3)
        self.norm = nn.LayerNorm(6)
        self.group = nn.GroupNorm(2, 6)
        self.attention = nn.MultiheadAttention(6, num_heads=2)
        self.head = nn.Linear(6, 2)
        self.scale = nn.Parameter(nn.init.ones_(nn.Linear(1, 1).weight.detach().clone()))


def names(selected):
    return [p.name for p in selected]


def test_default_rule_takes_layer_weights_only():
    selected = names(penalized_parameters(Zoo()))
    assert selected == ["conv.weight", "attention.in_proj_weight", "attention.out_proj.weight", "head.weight"]


class ImageZoo(nn.Module):
    """What a CNN with embeddings holds: Linear, Conv2d, BatchNorm2d, Embedding, LayerNorm."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.ln = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 2)


def test_the_penalty_targets_the_weights_of_linear_and_conv_layers_only():
    # Not the norm scales (BatchNorm's weight is 1-D, LayerNorm's too), not the biases, not
    # the embedding table (2-D, but a lookup table), unless asked.
    expected = [("conv.weight", (3, 1, 3, 3)), ("fc.weight", (2, 4))]
    assert [(p.name, p.shape) for p in netreg.L2(0.5).targets(ImageZoo())] == expected
    assert [p.alpha for p in netreg.L2(0.5).targets(ImageZoo())] == [0.5, 0.5]
    assert [(p.name, p.shape) for p in penalized_parameters(ImageZoo())] == expected
    asked = netreg.L2(0.5, include=["embed.weight", "bn.weight"]).targets(ImageZoo())
    assert names(asked) == ["embed.weight", "conv.weight", "bn.weight", "fc.weight"]


def test_include_exclude_and_layer_alphas():
    selected = penalized_parameters(
        Zoo(), alpha=0.1, include=["head.bias"], exclude=["attention.*"], layer_alphas={"head.*": 2.0}
    )
    assert selected == [
        PenalizedParameter("conv.weight", (6, 4, 3), 0.1),
        PenalizedParameter("head.weight", (2, 6), 2.0),
        PenalizedParameter("head.bias", (2,), 2.0),
    ]


def test_first_matching_layer_alpha_wins_and_none_means_shared():
    selected = penalized_parameters(Zoo(), layer_alphas={"head.weight": 3.0, "head.*": 1.0, "conv.*": 0.5})
    assert [(p.name, p.alpha) for p in selected] == [
        ("conv.weight", 0.5),
        ("attention.in_proj_weight", None),
        ("attention.out_proj.weight", None),
        ("head.weight", 3.0),
    ]


def test_penalty_targets_list_what_is_penalized():
    model = netreg.MLP(3, (5,), 2)
    assert netreg.L2(0.5).targets(model) == [
        PenalizedParameter("layers.0.weight", (5, 3), 0.5),
        PenalizedParameter("layers.1.weight", (2, 5), 0.5),
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"exclude": ["layer.0.*"]},
            "`exclude` must be globs over the names of the parameters: layers.0.weight, layers.0.bias, "
            "layers.1.weight, layers.1.bias. Got 'layer.0.*', which matches none.",
        ),
        (
            {"layer_alphas": {"layers.0.bias": 1.0}},
            "`layer_alphas` must be globs over the names of the penalized parameters: layers.0.weight, "
            "layers.1.weight. Got 'layers.0.bias', which matches none. To penalize a parameter the default rule "
            "skips, add it to `include`.",
        ),
        (
            {"include": [3]},
            "`include` must be glob patterns (str). Got 3 in include.",
        ),
    ],
)
def test_patterns_that_match_nothing_are_errors(kwargs, message):
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        penalized_parameters(netreg.MLP(3, (5,), 2), **kwargs)
