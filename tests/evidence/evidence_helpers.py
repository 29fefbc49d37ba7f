"""Helpers of the evidence tests: targets per task and tiny float64 networks."""

from __future__ import annotations

import numpy as np
import torch

from netreg.nets import MLP

TASKS = ("regression", "multiclass", "binary", "multilabel")


def targets(task: str, n: int, q: int, rng: np.random.Generator) -> np.ndarray:
    """Random targets of ``task`` for a network of q outputs, encoded as netreg trains on them."""
    if task == "regression":
        return rng.normal(size=(n, q))
    if task == "multiclass":
        return rng.integers(0, q, size=n)
    return rng.integers(0, 2, size=(n, q)).astype(float)


def n_outputs(task: str) -> int:
    return 1 if task == "binary" else 3


def random_mlp(n_features: int, hidden: tuple[int, ...], q: int, activation: str = "tanh", seed: int = 0) -> MLP:
    """An MLP in float64 with weights large enough that activations are far from linear."""
    torch.manual_seed(seed)
    net = MLP(n_features, hidden, q, activation=activation).double()
    with torch.no_grad():
        for layer in net.layers:
            layer.weight.mul_(1.5)
            layer.bias.normal_()
    return net
