"""Trained MLP members as stacked float64 tensors (:func:`stack_members` reads every form a member
takes), and their forward pass with the layer inputs and activation slopes the curvature needs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from netreg._checks import check_options
from netreg.exceptions import InvalidParameterError, invalid
from netreg.nets import ACTIVATIONS, MLP

__all__ = ["StackedMLP", "stack_members", "stack_weights", "forward_records", "forward_outputs"]

_MEMBERS_EXPECTED = (
    "a netreg MLP, its state dict, a state dict stacked along a leading member axis, or a sequence of MLPs or "
    "state dicts"
)
_KEY = re.compile(r"layers\.(\d+)\.(weight|bias)")


@dataclass(frozen=True)
class StackedMLP:
    """K trained MLPs of one architecture, their parameters stacked along a leading axis.

    Attributes
    ----------
    weights : tuple of Tensor
        ``weights[l]`` is ``(K, out_l, in_l)``, float64: the penalized weight matrices.
    biases : tuple of Tensor
        ``biases[l]`` is ``(K, out_l)``, float64: not penalized, held at their trained values.
    activation : str
        The hidden-layer activation (a key of :data:`netreg.nets.ACTIVATIONS`).

    Examples
    --------
    >>> from netreg.nets import MLP
    >>> net = stack_members([MLP(4, (3,), 2), MLP(4, (3,), 2)])
    >>> net.n_members, net.layer_sizes, net.n_params
    (2, (4, 3, 2), 18)
    """

    weights: tuple[Tensor, ...]
    biases: tuple[Tensor, ...]
    activation: str

    def to(self, dtype: torch.dtype) -> StackedMLP:
        """The same members with their weights and biases in ``dtype``."""
        return StackedMLP(
            tuple(w.to(dtype) for w in self.weights), tuple(b.to(dtype) for b in self.biases), self.activation
        )

    @property
    def n_members(self) -> int:
        return self.weights[0].shape[0]

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(n_features, hidden_1, ..., n_outputs)``."""
        return (self.weights[0].shape[2], *(w.shape[1] for w in self.weights))

    @property
    def n_params(self) -> int:
        """P: the number of penalized weights of one member (biases excluded)."""
        return sum(w.shape[1] * w.shape[2] for w in self.weights)

    def member(self, k: int) -> StackedMLP:
        """Member k alone, as a stack of one (views, no copy)."""
        return StackedMLP(
            tuple(w[k : k + 1] for w in self.weights), tuple(b[k : k + 1] for b in self.biases), self.activation
        )


def stack_members(members: Any, *, activation: str | None = None) -> StackedMLP:
    """Read trained members into one :class:`StackedMLP` (float64 copies, detached).

    Parameters
    ----------
    members : MLP, state dict, stacked state dict, or sequence of MLPs or state dicts
        A state dict holds ``layers.<j>.weight`` of shape ``(out, in)`` and ``layers.<j>.bias``
        of shape ``(out,)``; a stacked one has a leading member axis ``(K, out, in)``.
    activation : {"relu", "tanh", "logistic", "identity"}, optional
        Required when ``members`` are state dicts (they do not record it); must agree with the
        modules' own when MLPs are given.

    Raises
    ------
    InvalidParameterError
        For anything else, members of different architectures or activations, or state dicts without ``activation``.

    Examples
    --------
    >>> import torch
    >>> from torch.func import stack_module_state
    >>> from netreg.nets import MLP
    >>> nets = [MLP(3, (), 1) for _ in range(4)]
    >>> params, _ = stack_module_state(nets)
    >>> stack_members(params, activation="relu").weights[0].shape
    torch.Size([4, 1, 3])
    """
    items = _items(members)
    weights, biases = stack_weights(items)
    activations = {item.activation for item in items if isinstance(item, MLP)}
    if activation is not None:
        activations.add(check_options(activation, "activation", list(ACTIVATIONS)))
    if len(activations) > 1:
        raise invalid("activation", "the same for every member", sorted(activations))
    if not activations:
        raise invalid("activation", f"one of {', '.join(map(repr, ACTIVATIONS))} when state dicts are given", None)
    return StackedMLP(weights, biases, activations.pop())


def stack_weights(members: Any) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """The weights ``(K, out_l, in_l)`` and biases ``(K, out_l)`` of members, float64; no activation needed.

    Accepts what :func:`stack_members` accepts and raises the same errors.

    Examples
    --------
    >>> from netreg.nets import MLP
    >>> weights, biases = stack_weights({"layers.0.weight": MLP(3, (), 2).layers[0].weight, "layers.0.bias": torch.zeros(2)})
    >>> weights[0].shape, weights[0].dtype
    (torch.Size([1, 2, 3]), torch.float64)
    """
    layers = [_layers(item) for item in _items(members)]
    shapes = [tuple(tuple(w.shape[-2:]) for w, _ in member) for member in layers]
    if len(set(shapes)) > 1:
        raise invalid(
            "members",
            "networks of one architecture",
            got=f"weight shapes {shapes[0]} and {next(s for s in shapes if s != shapes[0])}",
        )
    weights = tuple(torch.cat([member[j][0] for member in layers]) for j in range(len(layers[0])))
    biases = tuple(torch.cat([member[j][1] for member in layers]) for j in range(len(layers[0])))
    return weights, biases


def _items(members: Any) -> list[Any]:
    items = [members] if isinstance(members, (nn.Module, Mapping)) else members
    if not isinstance(items, Sequence) or isinstance(items, str) or len(items) == 0:
        raise _bad_members(members)
    return list(items)


def forward_records(net: StackedMLP, x: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """The forward pass of every member on the rows ``x``, keeping what the curvature needs.

    Parameters
    ----------
    net : StackedMLP
    x : Tensor of shape (n, n_features), float64

    Returns
    -------
    inputs : list of Tensor
        ``inputs[l]`` is the input ``a_l`` of layer l: ``x`` itself (n, in_0) for l = 0,
        ``(K, n, in_l)`` after.
    slopes : list of Tensor
        ``slopes[l]`` is ``sigma'(z_l)`` of hidden layer l, ``(K, n, out_l)``.
    output : Tensor of shape (K, n, n_outputs)
        Raw scores (logits or regression outputs).

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> torch.manual_seed(0) and None
    >>> mlp = MLP(3, (5,), 2, activation="tanh").double()
    >>> x = torch.randn(7, 3, dtype=torch.float64)
    >>> inputs, slopes, out = forward_records(stack_members(mlp), x)
    >>> bool(torch.allclose(out[0], mlp(x))), inputs[1].shape, slopes[0].shape
    (True, torch.Size([1, 7, 5]), torch.Size([1, 7, 5]))
    """
    inputs, slopes = [x], []
    a = x
    for j, (weight, bias) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = torch.matmul(a, weight.transpose(1, 2)) + bias.unsqueeze(1)
        if j == len(net.weights) - 1:
            return inputs, slopes, z
        a, slope = _activate(net.activation, z)
        inputs.append(a)
        slopes.append(slope)
    raise AssertionError("unreachable: an MLP has an output layer")


def forward_outputs(net: StackedMLP, x: Tensor) -> Tensor:
    """Every member's raw outputs ``(K, n, n_outputs)`` on the rows ``x``: :func:`forward_records`'
    products, without the inputs and slopes it keeps for the curvature.

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> net = stack_members(MLP(3, (5,), 2, activation="tanh").double())
    >>> x = torch.randn(7, 3, dtype=torch.float64)
    >>> torch.equal(forward_outputs(net, x), forward_records(net, x)[2])
    True
    """
    activation = ACTIVATIONS[net.activation]
    a = x
    for j, (weight, bias) in enumerate(zip(net.weights, net.biases, strict=True)):
        a = torch.matmul(a, weight.transpose(1, 2)).add_(bias.unsqueeze(1))
        if j < len(net.weights) - 1:
            a = activation(a)
    return a


def _activate(name: str, z: Tensor) -> tuple[Tensor, Tensor]:
    """The activation and its derivative at ``z`` (relu's derivative at 0 taken as 0, as autograd does)."""
    if name == "relu":
        return torch.relu(z), (z > 0).to(z.dtype)
    if name == "tanh":
        a = torch.tanh(z)
        return a, 1.0 - a.square()
    if name == "logistic":
        a = torch.sigmoid(z)
        return a, a * (1.0 - a)
    return z, torch.ones_like(z)


def _layers(member: Any) -> list[tuple[Tensor, Tensor]]:
    """One member (or a stacked mapping) as ``[(weight (K, out, in), bias (K, out)), ...]`` in float64."""
    if isinstance(member, MLP):
        member = member.state_dict()
    if not isinstance(member, Mapping):
        raise _bad_members(member)
    found: dict[int, dict[str, Tensor]] = {}
    for key, value in member.items():
        match = _KEY.fullmatch(key)
        if match and isinstance(value, Tensor):
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if not found or sorted(found) != list(range(len(found))) or any(len(p) != 2 for p in found.values()):
        raise invalid(
            "members",
            _MEMBERS_EXPECTED,
            got=f"a mapping with keys {sorted(member)[:6]}",
            fix="An MLP's state dict holds 'layers.0.weight', 'layers.0.bias', ... for consecutive layers.",
        )
    layers = []
    for j in range(len(found)):
        weight, bias = found[j]["weight"].detach(), found[j]["bias"].detach()
        if weight.ndim == 2:
            weight, bias = weight.unsqueeze(0), bias.unsqueeze(0)
        if weight.ndim != 3 or bias.shape != weight.shape[:2]:
            raise invalid(
                "members",
                f"a layers.{j}.weight of shape (out, in) or (K, out, in) with a layers.{j}.bias of shape (out,) or (K, out)",
                got=f"{tuple(found[j]['weight'].shape)} and {tuple(found[j]['bias'].shape)}",
            )
        if j > 0 and weight.shape[0] != layers[0][0].shape[0]:
            raise invalid(
                "members",
                "the same number of members in every layer",
                got=f"{layers[0][0].shape[0]} in layers.0 and {weight.shape[0]} in layers.{j}",
            )
        if j > 0 and weight.shape[2] != layers[-1][0].shape[1]:
            raise invalid(
                "members",
                "layers that chain, each taking as many inputs as the one before has outputs",
                got=f"layers.{j}.weight taking {weight.shape[2]} inputs after layers.{j - 1} with {layers[-1][0].shape[1]} outputs",
            )
        layers.append((weight.to(torch.float64), bias.to(torch.float64)))
    return layers


def _bad_members(value: Any) -> InvalidParameterError:
    return invalid("members", _MEMBERS_EXPECTED, got=f"a {type(value).__name__}")
