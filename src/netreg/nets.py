"""The multilayer perceptron that netreg's estimators train.

``MLP`` is ``Linear -> activation -> dropout`` per hidden layer, then a ``Linear`` output of raw
scores; ``layers.j.weight`` is the transpose of scikit-learn's ``coefs_[j]``, ``layers.j.bias``
its ``intercepts_[j]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import scipy.sparse as sp
import torch
from torch import Tensor, nn

from netreg import memory
from netreg._checks import Range, check_hidden_sizes, check_int, check_options
from netreg.exceptions import invalid

__all__ = [
    "MLP",
    "DROPOUT",
    "ACTIVATIONS",
    "TRAINING_COPIES",
    "parameter_count",
    "check_network_memory",
    "member_bytes",
    "values_per_row",
    "stacked_mlp_forward",
    "dropout_masks",
]

#: Copies of its parameters training holds: weights, gradients, two optimizer moments,
#: the best weights kept by early stopping, and room for the step's temporaries.
TRAINING_COPIES = 7

#: In-place versions, for the batched forward: the pre-activation is not needed afterwards
#: (relu, tanh and the logistic keep only their output for the backward pass).
_IN_PLACE = {
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "logistic": torch.sigmoid_,
    "identity": lambda x: x,
}

#: The probability of dropping a hidden unit in training: in [0, 1).
DROPOUT = Range(Real, 0, 1)

#: Activation name -> function; scikit-learn's names.
ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "logistic": torch.sigmoid,
    "identity": lambda x: x,
}


class MLP(nn.Module):
    """A fully connected network: hidden layers with activation and dropout, linear output.

    Parameters
    ----------
    n_features : int
        Number of input features.
    hidden_layer_sizes : int or sequence of int
        Units per hidden layer, scikit-learn style: ``100`` is one layer of 100 units,
        ``()`` no hidden layer (a linear model).
    n_outputs : int
        Number of outputs (classes for multiclass, 1 for binary or single-target
        regression).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Hidden-layer activation, as in scikit-learn.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit after its activation during training,
        in [0, 1).

    Notes
    -----
    Weights and biases start from scikit-learn's Glorot-uniform initialization:
    ``U(-b, b)`` with ``b = sqrt(6 / (fan_in + fan_out))`` (``sqrt(2 / ...)`` for
    ``logistic``), so training starts where ``MLPClassifier`` would.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = MLP(4, (8, 8), 3, dropout=0.1)
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    >>> [name for name, _ in net.named_parameters()]
    ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: int | Sequence[int],
        n_outputs: int,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.n_features = check_int(n_features, "n_features", low=1)
        self.hidden_layer_sizes = check_hidden_sizes(hidden_layer_sizes)
        self.n_outputs = check_int(n_outputs, "n_outputs", low=1)
        self.activation = check_options(activation, "activation", list(ACTIVATIONS))
        self.dropout = DROPOUT.check(dropout, "dropout")
        check_network_memory(self.n_features, self.hidden_layer_sizes, self.n_outputs)
        sizes = [self.n_features, *self.hidden_layer_sizes, self.n_outputs]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw new weights from the Glorot-uniform distribution (scikit-learn's)."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        with torch.no_grad():
            for layer in self.layers:
                bound = math.sqrt(factor / (layer.in_features + layer.out_features))
                layer.weight.uniform_(-bound, bound)
                layer.bias.uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        activation = ACTIVATIONS[self.activation]
        *hidden, output = self.layers
        for layer in hidden:
            x = activation(layer(x))
            if self.dropout > 0.0:
                x = nn.functional.dropout(x, self.dropout, self.training)
        return output(x)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, dropout={self.dropout}"


def parameter_count(n_features: int, hidden_layer_sizes: Sequence[int], n_outputs: int) -> int:
    """Weights and biases of ``MLP(n_features, hidden_layer_sizes, n_outputs)``: ``sum(a * b + b)``
    over consecutive sizes ``a, b``, computed from the sizes alone.

    Examples
    --------
    >>> parameter_count(4, (8, 8), 3)  # 4*8+8 + 8*8+8 + 8*3+3
    139
    """
    sizes = [int(n_features), *(int(size) for size in hidden_layer_sizes), int(n_outputs)]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def check_network_memory(n_features: int, hidden_layer_sizes: Sequence[int], n_outputs: int) -> None:
    """Refuse, before anything is allocated, a network too large to train in the memory available.

    Training holds :data:`TRAINING_COPIES` copies of the parameters (4 bytes each in
    float32, the least), which must fit in :func:`netreg.memory.memory_budget`.

    Raises
    ------
    InvalidParameterError
        Naming the sizes, the parameter count, the memory they need and the budget.

    Examples
    --------
    >>> check_network_memory(64, (100,), 10)
    """
    n_params = parameter_count(n_features, hidden_layer_sizes, n_outputs)
    needed, budget = TRAINING_COPIES * 4 * n_params, memory.memory_budget()
    if needed > budget:
        layers = " -> ".join(map(str, hidden_layer_sizes)) or "no hidden layer"
        raise invalid(
            "hidden_layer_sizes",
            "layer sizes whose network fits in memory",
            got=(
                f"{_count(n_features, 'input')} -> {layers} -> {_count(n_outputs, 'output')}: {n_params:,} parameters, about "
                f"{memory.size_text(needed)} to train ({TRAINING_COPIES} copies in float32: weights, gradients, "
                f"optimizer state, best weights), over the {memory.size_text(budget)} netreg may take (half the "
                "memory available)"
            ),
            fix="Use fewer or smaller hidden layers, or fewer features.",
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def stacked_mlp_forward(
    params: Mapping[str, Tensor],
    x: Tensor,
    *,
    n_layers: int,
    activation: str,
    dropout: float,
    training: bool,
    generators: Sequence[torch.Generator] | None = None,
    n_valid: Tensor | None = None,
) -> Tensor:
    """The forward pass of K stacked MLPs at once: what ``vmap(MLP.forward)`` computes, faster.

    ``params["layers.j.weight"]`` is ``(K, out, in)`` and ``x`` is ``(n, d)`` (the same rows
    for every member) or ``(K, n, d)``; returns ``(K, n, n_outputs)``. Weights without the
    member axis (``(out, in)``, one member's) give that member's ``(n, n_outputs)``.

    Each layer is one batched product and an in-place bias add, on feature-major activations
    ``(K, units, n)`` so that the weight gradient comes out in the weight's own layout; a
    member computes the same bits in any population.

    In training with ``dropout``, member k draws its masks from ``generators[k]`` (one
    generator: one mask for all) over its first ``n_valid[k]`` rows, as :func:`dropout_masks`
    draws them: the masks it would draw alone, and those a plain ``MLP`` draws after
    ``torch.manual_seed``. Without ``generators``, masks come from the global generator.

    Examples
    --------
    >>> import torch
    >>> from torch.func import stack_module_state
    >>> nets = [MLP(3, (4,), 2) for _ in range(5)]
    >>> params, _ = stack_module_state(nets)
    >>> x = torch.randn(7, 3)
    >>> out = stacked_mlp_forward(params, x, n_layers=2, activation="relu", dropout=0.0, training=False)
    >>> torch.allclose(out[3], nets[3](x), atol=1e-6)
    True
    """
    function = _IN_PLACE[activation]
    first = params["layers.0.weight"]
    if first.ndim == 2:  # one member's own weights: nn.Linear's fused product and bias add
        for j in range(n_layers):
            x = nn.functional.linear(x, params[f"layers.{j}.weight"], params[f"layers.{j}.bias"])
            if j < n_layers - 1:
                x = function(x)
                if dropout > 0.0 and training and generators is not None:
                    # The member's own generator, its mask row-major (n, units) as F.dropout draws it.
                    x = x * dropout_masks(x.shape, dropout, generators[:1], n_valid=n_valid, like=x)[0]
                elif dropout > 0.0:
                    x = nn.functional.dropout(x, dropout, training)
        return x
    # Shared rows are expanded over the members without copying them.
    h = x.t().expand(first.shape[0], -1, -1) if x.ndim == 2 else x.transpose(1, 2)
    for j in range(n_layers):
        h = torch.bmm(params[f"layers.{j}.weight"], h).add_(params[f"layers.{j}.bias"].unsqueeze(2))
        if j < n_layers - 1:
            h = function(h)
            if dropout > 0.0 and training and generators is not None:
                # Each member's masks row-major, (n, units), as it draws them alone; then laid out as h.
                masks = dropout_masks((h.shape[2], h.shape[1]), dropout, generators, n_valid=n_valid, like=h)
                h = h * masks.transpose(1, 2)
            elif dropout > 0.0:
                h = nn.functional.dropout(h, dropout, training)
    return h.transpose(1, 2)


def dropout_masks(
    shape: Sequence[int],
    p: float,
    generators: Sequence[torch.Generator],
    *,
    like: Tensor,
    n_valid: Tensor | None = None,
    stride: Sequence[int] | None = None,
) -> Tensor:
    """Dropout masks of ``shape``, one per generator, stacked: ``(len(generators), *shape)``.

    Mask g is ``bernoulli(1 - p) / (1 - p)`` drawn from ``generators[g]`` over its first
    ``n_valid[g]`` rows (along the first axis of ``shape``; all of them without
    ``n_valid``) and 0 on the others; a generator with no valid row draws nothing. The
    draw is the one ``torch.nn.functional.dropout`` makes on the CPU for an input of that
    shape (and ``stride``, default contiguous) from a generator in the same state, so a
    member's masks are the same whether it trains alone, in a population or in a plain
    PyTorch loop. ``like`` gives the dtype and device.

    Examples
    --------
    >>> import torch
    >>> x = torch.ones(4, 3)
    >>> masks = dropout_masks((4, 3), 0.5, [torch.Generator().manual_seed(0)], like=x)
    >>> _ = torch.manual_seed(0)
    >>> torch.equal(masks[0] * x, torch.nn.functional.dropout(x, 0.5))
    True
    >>> dropout_masks((4, 3), 0.5, [torch.Generator()] * 2, like=x, n_valid=torch.tensor([4, 1]))[1, 1:].sum().item()
    0.0
    """
    shape = tuple(shape)
    numel = math.prod(shape)
    if stride is None:
        masks = like.new_empty((len(generators), *shape))
    else:
        masks = torch.empty_strided((len(generators), *shape), (numel, *stride), dtype=like.dtype, device=like.device)
    for g, generator in enumerate(generators):
        rows = shape[0] if n_valid is None else int(n_valid[g])
        if rows > 0:
            masks[g, :rows].bernoulli_(1.0 - p, generator=generator)
        if rows < shape[0]:
            masks[g, rows:] = 0.0
    return masks.div_(1.0 - p)


def member_bytes(n_params: int, batch_size: int, values_per_row: int, itemsize: int = 4) -> int:
    """Rough memory of one population member in training: its parameters in
    :data:`TRAINING_COPIES` copies (weights, gradients, optimizer state, best weights) and
    one minibatch's values (inputs and every layer's outputs, four times over for the
    activations and gradients the backward pass keeps).

    Examples
    --------
    >>> member_bytes(n_params=1000, batch_size=10, values_per_row=20)  # 4 * (7 * 1000 + 4 * 10 * 20)
    31200
    """
    return itemsize * (TRAINING_COPIES * n_params + 4 * batch_size * values_per_row)


def values_per_row(module: nn.Module, rows: Any = None) -> int:
    """Values one row puts through ``module``: its inputs and every layer's outputs.

    netreg's MLP counts them from its sizes; any other module from the outputs of its leaf
    modules on the first of ``rows`` (required then), in eval mode.

    Examples
    --------
    >>> import numpy as np
    >>> values_per_row(MLP(64, (100, 100), 10))
    274
    >>> values_per_row(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), np.zeros((2, 3)))
    11
    """
    if isinstance(module, MLP):
        return module.n_features + sum(module.hidden_layer_sizes) + module.n_outputs
    counts = [math.prod(rows.shape[1:])]
    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    hooks = [m.register_forward_hook(lambda _, __, out: counts.append(_size(out))) for m in leaves]
    parameter = next(module.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    training = module.training
    try:
        with torch.no_grad():
            first = rows[:1].toarray() if sp.issparse(rows) else rows[:1]  # a sparse X: its first row made dense
            module.eval()(torch.as_tensor(first, dtype=dtype))
    finally:
        module.train(training)
        for hook in hooks:
            hook.remove()
    return sum(counts)


def _size(output: object) -> int:
    if isinstance(output, torch.Tensor):
        return output.numel()
    if isinstance(output, tuple | list):
        return sum(_size(item) for item in output)
    return 0
