r"""The GGN curvature of any module's penalized Linear and Conv2d weights, exact or Kronecker-factored.

The curvature :mod:`netreg.evidence.ggn` computes for netreg's MLP, read from a user's
``torch.nn.Module`` by autograd and hooks, in eval mode and float64, biases and norm layers held
at their trained values: exact (:func:`module_ggn`) or KFC (:func:`module_kfac_factors`; Grosse,
R. & Martens, J. (2016), A Kronecker-factored approximate Fisher matrix for convolution layers, ICML),
with EKFAC's eigenvalues in its eigenbasis (:func:`module_kronecker_diagonal`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap
from torch.nn import functional as F

from netreg.engine import member_module
from netreg.evidence.ggn import loss_hessian_factor
from netreg.evidence.stacked_mlp import StackedMLP, forward_outputs
from netreg.exceptions import invalid
from netreg.losses import GAUSSIAN_OR_BERNOULLI, Task, get_task

__all__ = [
    "SUPPORTED",
    "ModuleMember",
    "module_member",
    "curvature_gap",
    "member_outputs",
    "module_ggn",
    "module_kfac_factors",
    "module_kronecker_diagonal",
]

#: What the curvature of a module reads, as messages say it.
SUPPORTED = "Linear and Conv2d weights (groups=1, zero padding), with biases and norm layers unpenalized"
_CHUNK_ELEMENTS = 2**22


@dataclass(frozen=True)
class ModuleMember:
    """One trained member of a user's module, a float64 copy in eval mode, and its penalized weights.

    Attributes
    ----------
    module : torch.nn.Module
    names : tuple of str
        The penalized parameters, in the order of the curvature's blocks.
    """

    module: nn.Module
    names: tuple[str, ...]

    @property
    def n_members(self) -> int:
        return 1

    @property
    def weights(self) -> tuple[Tensor, ...]:
        parameters = dict(self.module.named_parameters(remove_duplicate=False))
        return tuple(parameters[name].detach() for name in self.names)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(w.numel() for w in self.weights)

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def to(self, dtype: torch.dtype) -> ModuleMember:
        """The same member in ``dtype``, on a copy of the module."""
        return ModuleMember(copy.deepcopy(self.module).to(dtype), self.names)


def module_member(template: nn.Module, state_dict: Mapping[str, Tensor], names: Iterable[str]) -> ModuleMember:
    """``template`` holding the weights ``state_dict``, in float64 and eval mode, on their device.

    Raises
    ------
    InvalidParameterError
        Where a penalized weight is not a Linear or Conv2d weight (:func:`curvature_gap`).

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 3))
    >>> member = module_member(net, net.state_dict(), ["0.weight", "2.weight"])
    >>> member.sizes, member.module.training
    ((18, 6), False)
    """
    names = tuple(names)
    gap = curvature_gap(template, names)
    if gap:
        raise invalid("module", f"a module whose penalized weights are {SUPPORTED}", got=gap)
    device = next(iter(state_dict.values())).device if state_dict else torch.device("cpu")
    module = member_module(template, state_dict).to(device=device, dtype=torch.float64)
    return ModuleMember(module, names)


def curvature_gap(module: nn.Module, names: Iterable[str]) -> str:
    """Which penalized parameter the curvature cannot read (``""`` when it reads them all).

    Examples
    --------
    >>> from torch import nn
    >>> curvature_gap(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 3)), ["0.weight", "2.weight"])
    ''
    >>> curvature_gap(nn.Sequential(nn.Conv1d(1, 2, 3)), ["0.weight"])
    "the penalized weight '0.weight' of a Conv1d"
    """
    owners = dict(module.named_modules(remove_duplicate=False))
    for name in names:
        path, _, leaf = name.rpartition(".")
        owner = owners.get(path)
        kind = type(owner).__name__ if owner is not None else "module"
        if leaf != "weight" or not isinstance(owner, (nn.Linear, nn.Conv2d)):
            return f"the penalized {'weight' if leaf == 'weight' else 'parameter'} {name!r} of a {kind}"
        if isinstance(owner, nn.Conv2d) and (owner.groups != 1 or owner.padding_mode != "zeros"):
            return (
                f"the penalized weight {name!r} of a Conv2d with groups={owner.groups} and "
                f"padding_mode={owner.padding_mode!r}"
            )
    return ""


def member_outputs(net: StackedMLP | ModuleMember, x: Tensor) -> Tensor:
    """Every member's raw outputs on the rows ``x``: ``(K, n, q)``."""
    if isinstance(net, StackedMLP):
        return forward_outputs(net, x)
    with torch.no_grad():
        out = net.module(x)
    return out.reshape(1, len(x), -1)


def module_ggn(member: ModuleMember, x: Tensor, weight: Tensor, *, task: str | Task) -> Tensor:
    r"""The exact GGN ``(P, P)`` of the penalized weights, each ``weight.flatten()``, in the order of ``names``:
    :math:`H = \sum_i w_i J_i^\top S_i^\top S_i J_i` (:func:`~netreg.evidence.ggn.loss_hessian_factor`).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 1)).double()
    >>> x = torch.randn(10, 2, dtype=torch.float64)
    >>> H = module_ggn(module_member(net, net.state_dict(), ["0.weight"]), x, torch.ones(10, dtype=torch.float64), task="regression")
    >>> bool(torch.allclose(H, x.T @ x))
    True
    """
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    module = member.module
    fixed = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    fixed = {name: value.detach() for name, value in fixed.items()}
    penalized = {name: fixed[name] for name in member.names}

    def outputs(params: dict[str, Tensor], rows: Tensor) -> Tensor:
        out = functional_call(module, {**fixed, **params}, (rows,))
        return out.reshape(len(rows), -1)

    # One row's Jacobian at a time (vmap): the batch's would backpropagate every output
    # through every row.
    per_row = vmap(jacrev(lambda params, row: outputs(params, row[None])[0]), in_dims=(None, 0))
    P = member.n_params
    ggn = torch.zeros(P, P, dtype=x.dtype, device=x.device)
    n_outputs = member_outputs(member, x[:1]).shape[-1]
    step = max(1, _CHUNK_ELEMENTS // (n_outputs * (P + x[:1].numel())))
    for start in range(0, len(x), step):
        rows = x[start : start + step]
        jacobians = per_row(penalized, rows)  # per name: (n, q, *shape)
        J = torch.cat([jacobians[name].flatten(2) for name in member.names], dim=-1)
        S = loss_hessian_factor(task, outputs(penalized, rows))
        columns = (S @ J) * weight[start : start + step].sqrt()[:, None, None]
        columns = columns.reshape(-1, P)
        ggn.addmm_(columns.T, columns)
    return ggn


def module_kfac_factors(
    member: ModuleMember, x: Tensor, weight: Tensor, *, task: str | Task
) -> list[tuple[Tensor, Tensor]]:
    r"""Each penalized weight's Kronecker factors ``(A (1, in, in), G (1, out, out))``: KFC's.

    With a weight applied at T positions (a Conv2d's output pixels; T = 1 for a Linear), its input
    patches :math:`a_{it}` (``unfold``'s order, that of ``weight.flatten(1)``) and the backpropagated
    rows :math:`g_{ict}` of the loss Hessian's factor at its outputs,
    :math:`G = \sum_i w_i \sum_c \sum_t g_{ict} g_{ict}^\top` and
    :math:`A = \frac{1}{m T} \sum_i w_i \sum_t a_{it} a_{it}^\top` (the MLP's factors for T = 1), so
    that ``torch.kron(G, A)`` approximates the weight's block of :func:`module_ggn`.

    Raises
    ------
    InvalidParameterError
        Where a penalized layer is not called exactly once by ``forward`` (tied, unused, or read).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(32, 3))
    >>> member = module_member(cnn, cnn.state_dict(), ["0.weight", "2.weight"])
    >>> images, ones = torch.randn(5, 1, 4, 4, dtype=torch.float64), torch.ones(5, dtype=torch.float64)
    >>> [(tuple(A.shape), tuple(G.shape)) for A, G in module_kfac_factors(member, images, ones, task="multiclass")]
    [((1, 9, 9), (1, 2, 2)), ((1, 32, 32), (1, 3, 3))]
    """
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    shapes = [w.flatten(1).shape for w in member.weights]
    A = [torch.zeros(s[1], s[1], dtype=x.dtype, device=x.device) for s in shapes]
    G = [torch.zeros(s[0], s[0], dtype=x.dtype, device=x.device) for s in shapes]
    for rows, patches, per_class in _chunk_gradients(member, x, task):
        root = weight[rows].sqrt()
        for j, a in enumerate(patches):
            a = a * (root / a.shape[1] ** 0.5)[:, None, None]
            a = a.reshape(-1, a.shape[-1])
            A[j] = A[j] + a.T @ a
        for grads in per_class:
            for j, g in enumerate(grads):
                g = g * root[:, None, None]
                g = g.reshape(-1, g.shape[-1])
                G[j] = G[j] + g.T @ g
    return [((a / weight.sum())[None], g[None]) for a, g in zip(A, G, strict=True)]


def module_kronecker_diagonal(
    member: ModuleMember, x: Tensor, weight: Tensor, bases: list[tuple[Tensor, Tensor]], *, task: str | Task
) -> list[Tensor]:
    r"""Each penalized weight's exact GGN block's diagonal in a Kronecker basis ``(1, out * in)``:
    :func:`netreg.evidence.ggn.kronecker_diagonal` for a module.

    With the bases ``(U_A (1, in, in), U_G (1, out, out))`` (the eigenvectors of
    :func:`module_kfac_factors`' factors), entry ``j * in + k`` is :math:`\sum_i w_i \sum_c
    \big(\sum_t (u_{Gj}^\top g_{ict}) (u_{Ak}^\top a_{it})\big)^2`: the positions summed inside
    the square, as the weight's gradient sums them (a Conv2d's block exactly; T = 1 for a Linear).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(32, 3))
    >>> member = module_member(cnn, cnn.state_dict(), ["0.weight", "2.weight"])
    >>> images, ones = torch.randn(5, 1, 4, 4, dtype=torch.float64), torch.ones(5, dtype=torch.float64)
    >>> bases = [(torch.eye(9, dtype=torch.float64)[None], torch.eye(2, dtype=torch.float64)[None]),
    ...          (torch.eye(32, dtype=torch.float64)[None], torch.eye(3, dtype=torch.float64)[None])]
    >>> diagonal = module_kronecker_diagonal(member, images, ones, bases, task="multiclass")
    >>> H = module_ggn(member, images, ones, task="multiclass")  # the identity basis: H's own diagonal
    >>> bool(torch.allclose(torch.cat([d[0] for d in diagonal]), H.diagonal()))
    True
    """
    task = get_task(task, among=GAUSSIAN_OR_BERNOULLI)
    diagonals = [torch.zeros(w.flatten(1).shape, dtype=x.dtype, device=x.device) for w in member.weights]
    for rows, patches, per_class in _chunk_gradients(member, x, task):
        w = weight[rows]
        inside = [a @ u_a[0] for a, (u_a, _) in zip(patches, bases, strict=True)]  # (n, T, in)
        for grads in per_class:
            for j, g in enumerate(grads):
                g = g @ bases[j][1][0]  # (n, T, out)
                rotated = g.transpose(1, 2) @ inside[j]  # (n, out, in): the gradient in the basis
                diagonals[j] = diagonals[j] + (rotated.square() * w[:, None, None]).sum(0)
    return [d.flatten()[None] for d in diagonals]


def _chunk_gradients(
    member: ModuleMember, x: Tensor, task: Task
) -> Iterator[tuple[slice, list[Tensor], Iterator[list[Tensor]]]]:
    """The rows in chunks below ``_CHUNK_ELEMENTS``: each chunk's rows, its penalized layers' input
    patches ``(n, T, in)`` and, class row by class row of the loss Hessian's factor (to be read
    before the next chunk), those rows backpropagated to each layer's outputs ``(n, T, out)``."""
    owners = dict(member.module.named_modules(remove_duplicate=False))
    layers = [owners[name.rpartition(".")[0]] for name in member.names]
    n_outputs = member_outputs(member, x[:1]).shape[-1]
    step = max(1, _CHUNK_ELEMENTS // (n_outputs * max(w.numel() for w in member.weights)))

    def per_class(outputs: list[Tensor], out: Tensor) -> Iterator[list[Tensor]]:
        S = loss_hessian_factor(task, out.detach())
        for c in range(S.shape[1]):
            grads = torch.autograd.grad(out, outputs, grad_outputs=S[:, c], retain_graph=c < S.shape[1] - 1)
            yield [_positions(layer, g) for layer, g in zip(layers, grads, strict=True)]

    for start in range(0, len(x), step):
        rows = slice(start, start + step)
        patches, outputs, out = _recorded_forward(member, layers, x[rows])
        yield rows, patches, per_class(outputs, out)


def _recorded_forward(
    member: ModuleMember, layers: list[nn.Module], rows: Tensor
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """The penalized layers' input patches ``(n, T, in)`` and outputs, and the module's outputs ``(n, q)``."""
    seen: dict[int, list[tuple[Tensor, Tensor]]] = {id(layer): [] for layer in layers}

    def record(layer: nn.Module, inputs: tuple[Any, ...], output: Tensor) -> Tensor:
        seen[id(layer)].append((_patches(layer, inputs[0].detach()), output))
        return output.clone()  # so that an in-place operation after the layer leaves its output as it was

    handles = [layer.register_forward_hook(record) for layer in {id(layer): layer for layer in layers}.values()]
    try:
        with torch.enable_grad():
            out = member.module(rows).reshape(len(rows), -1)
    finally:
        for handle in handles:
            handle.remove()
    for name, layer in zip(member.names, layers, strict=True):
        if len(seen[id(layer)]) != 1:
            raise invalid(
                "module",
                "a module whose forward calls each layer with a penalized weight once",
                got=f"{name!r} used by {len(seen[id(layer)])} calls",
                fix="The Kronecker-factored curvature reads one input and one output per layer.",
            )
    return [seen[id(layer)][0][0] for layer in layers], [seen[id(layer)][0][1] for layer in layers], out


def _patches(layer: nn.Module, x: Tensor) -> Tensor:
    """The inputs a layer's weight multiplies, ``(n, T, in)``: a Linear's rows, a Conv2d's unfolded patches."""
    if isinstance(layer, nn.Linear):
        return x.reshape(len(x), -1, x.shape[-1])
    padding = layer.padding
    if isinstance(padding, str):  # "valid" or "same" (stride 1): the total split as Conv2d splits it
        total = [
            d * (k - 1) if padding == "same" else 0 for d, k in zip(layer.dilation, layer.kernel_size, strict=True)
        ]
        x = F.pad(x, [total[1] // 2, total[1] - total[1] // 2, total[0] // 2, total[0] - total[0] // 2])
        padding = 0
    unfolded = F.unfold(x, layer.kernel_size, dilation=layer.dilation, padding=padding, stride=layer.stride)
    return unfolded.transpose(1, 2)


def _positions(layer: nn.Module, g: Tensor) -> Tensor:
    """A layer's output gradient as ``(n, T, out)``."""
    if isinstance(layer, nn.Linear):
        return g.reshape(len(g), -1, g.shape[-1])
    return g.flatten(2).transpose(1, 2)
