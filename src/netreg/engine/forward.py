"""The population's forward pass: K stacked copies of a module, each member as it would run alone.

netreg's MLP runs through :func:`~netreg.nets.stacked_mlp_forward`, any other module through
``vmap`` with each member's own buffers and dropout masks (:mod:`netreg.engine.dropout`); a
module whose rows interact or that draws masks runs each member on its valid rows only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from netreg import _compat
from netreg.engine.dropout import DropoutCall, MaskedDropout, draw_masks, dropout_plan
from netreg.nets import MLP, stacked_mlp_forward

__all__ = ["Forward", "stacked_forward", "uses_batch_statistics"]

#: ``forward(params, buffers, x, shared, n_valid=None, generators=None) -> (K, n, q)`` raw
#: outputs of the K members, for inputs ``x`` of shape ``(n, ...)`` fed to every member
#: (``shared``) or ``(K, n, ...)``; ``n_valid`` ``(K,)`` (CPU) counts each member's valid
#: leading rows (``None``: all), ``generators`` are the members' dropout generators (one
#: per member, or one for all; ``None``: PyTorch's global generator).
Forward = Callable[..., Tensor]


def uses_batch_statistics(module: nn.Module) -> bool:
    """Whether ``module``'s rows interact in training: it has a BatchNorm or InstanceNorm layer.

    Examples
    --------
    >>> uses_batch_statistics(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    True
    >>> uses_batch_statistics(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)))
    False
    """
    return any(isinstance(sub, nn.modules.batchnorm._NormBase) for sub in module.modules())


def stacked_forward(template: nn.Module, *, single: bool = False) -> Forward:
    """The forward pass of K stacked copies of ``template``.

    ``template``'s ``training`` flag is read at each call. With ``single`` (``K = 1``), netreg's
    MLP runs on the member's own weights with plain 2-D products (the same result up to
    rounding, the same dropout masks); the forward's ``own_weights`` then says it takes, and
    its gradients come, without the member axis. Other modules always run through ``vmap``.

    Examples
    --------
    >>> from torch.func import stack_module_state
    >>> nets = [nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)) for _ in range(4)]
    >>> params, buffers = stack_module_state(nets)
    >>> forward = stacked_forward(nets[0])
    >>> x = torch.randn(5, 3)
    >>> torch.allclose(forward(params, buffers, x, True)[2], nets[2](x))
    True
    >>> torch.allclose(buffers["1.running_mean"][2], nets[2][1].running_mean)  # each member's own statistics
    True
    >>> mlp = MLP(3, (4,), 2).eval()
    >>> single = stacked_forward(mlp, single=True)  # one member, on its own 2-D weights
    >>> single.own_weights, torch.allclose(single(dict(mlp.named_parameters()), {}, x, True)[0], mlp(x))
    (True, True)
    """
    if type(template) is MLP:
        return _MLPForward(template, single=single)
    return _ModuleForward(template)


class _MLPForward:
    """netreg's MLP: one batched matrix product per layer (rows are independent, padding is harmless);
    with ``single``, the one member's 2-D products."""

    def __init__(self, template: MLP, *, single: bool = False) -> None:
        self.template = template
        self.n_layers, self.activation, self.dropout = len(template.layers), template.activation, template.dropout
        self.own_weights = single
        self.member_ndim = {name: p.ndim for name, p in template.named_parameters()}
        # Without dropout, of an activation whose backward is a mask (or nothing), a member's
        # gradients are written out by hand (:meth:`backprop`): a single member's, and a
        # population's (autograd's engine and graph cost a population's step more than its
        # backward products do, benchmarks/README.md "bench_rows.py").
        self.by_hand = self.dropout == 0.0 and self.activation in ("relu", "identity")

    def __call__(
        self,
        params: Mapping[str, Tensor],
        buffers: Mapping[str, Tensor],
        x: Tensor,
        shared: bool,
        n_valid: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
    ) -> Tensor:
        if n_valid is not None and generators is not None and len(generators) == 1:
            n_valid = n_valid[:1]  # one generator: all members have the same rows
        kwargs = {"n_layers": self.n_layers, "activation": self.activation, "dropout": self.dropout}
        kwargs.update(training=self.template.training, generators=generators, n_valid=n_valid)
        if not self.own_weights:
            return stacked_mlp_forward(params, x, **kwargs)
        return stacked_mlp_forward(self.own(params), x if shared else x.squeeze(0), **kwargs).unsqueeze(0)

    def own(self, params: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """With ``own_weights``: the member's own weights as they come, or the stacked ones of a
        population of one viewed without the member axis (squeeze, not ``[0]``: its backward is
        a free reshape)."""
        return {name: p if p.ndim == self.member_ndim[name] else p.squeeze(0) for name, p in params.items()}

    def layers(self, params: Mapping[str, Tensor], x: Tensor) -> list[Tensor]:
        """With ``by_hand``, under ``torch.no_grad()``: the inputs of each layer and the
        output, as the forward pass computes them, kept for :meth:`backprop`: with
        ``own_weights``, ``(n, ...)`` (``nn.Linear``'s fused product and bias add); else
        feature-major ``(K, units, n)`` (:func:`~netreg.nets.stacked_mlp_forward`'s batched
        product and in-place bias add, ``x`` shared ``(n, d)`` or ``(K, n, d)``); the
        activation in place."""
        outputs = [x]
        if not self.own_weights:
            n_members = params["layers.0.weight"].shape[0]
            outputs = [x.t().expand(n_members, -1, -1) if x.ndim == 2 else x.transpose(1, 2)]
        for j in range(self.n_layers):
            weight, bias = params[f"layers.{j}.weight"], params[f"layers.{j}.bias"]
            if self.own_weights:
                x = nn.functional.linear(x, weight, bias)
            else:
                x = torch.bmm(weight, outputs[-1]).add_(bias.unsqueeze(2))
            if j < self.n_layers - 1 and self.activation == "relu":
                x = torch.relu_(x)
            outputs.append(x)
        return outputs

    def output(self, outputs: list[Tensor]) -> Tensor:
        """The raw outputs from :meth:`layers`' list: ``(n, q)``, or ``(K, n, q)`` (a view)."""
        return outputs[-1] if self.own_weights else outputs[-1].transpose(1, 2)

    def backprop(self, params: Mapping[str, Tensor], outputs: list[Tensor], grad: Tensor) -> dict[str, Tensor]:
        """With ``by_hand``, under ``torch.no_grad()``: the gradient of each parameter, by
        name, from ``grad`` (the output's, shaped as :meth:`output`) and the layers'
        ``outputs`` (:meth:`layers`).

        The very operations autograd runs for ``nn.Linear`` (or the batched product and the
        broadcast bias add) and ReLU (``threshold_backward``), on tensors laid out as its
        own, so the gradients are autograd's bit for bit, without its graph and engine.
        """
        grads: dict[str, Tensor] = {}
        stacked = not self.own_weights
        if stacked:
            grad = grad.transpose(1, 2)  # (K, q, n), as the outputs
        for j in reversed(range(self.n_layers)):
            weight, below = params[f"layers.{j}.weight"], outputs[j]
            if stacked:
                grads[f"layers.{j}.weight"] = grad.bmm(below.transpose(1, 2))
                grads[f"layers.{j}.bias"] = grad.sum(2)
            else:
                grads[f"layers.{j}.weight"] = grad.t().mm(below)
                grads[f"layers.{j}.bias"] = grad.sum(0)
            if j > 0:
                grad = weight.transpose(1, 2).bmm(grad) if stacked else grad.mm(weight)
                if self.activation == "relu":
                    grad = _compat.relu_backward(grad, below)
        return grads


class _ModuleForward:
    """Any module: ``vmap`` over ``functional_call``, members grouped by valid rows where it matters."""

    def __init__(self, template: nn.Module) -> None:
        self.template = template
        self.own_weights = False  # vmap over the stacked parameters and buffers, even for one member
        self.batch_statistics = uses_batch_statistics(template)
        self.plans: dict[tuple[Any, ...], tuple[DropoutCall, ...]] = {}

        def call(params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor) -> Tensor:
            return functional_call(template, (params, buffers), (x,))

        def masked(
            params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor, masks: list[Tensor], plan: Any
        ) -> Tensor:
            with MaskedDropout(plan, masks):
                return functional_call(template, (params, buffers), (x,))

        self.plain = {
            shared: vmap(call, in_dims=(0, 0, None if shared else 0), randomness="different")
            for shared in (True, False)
        }
        self.masked = {
            shared: vmap(masked, in_dims=(0, 0, None if shared else 0, 0, None), randomness="different")
            for shared in (True, False)
        }

    def __call__(
        self,
        params: Mapping[str, Tensor],
        buffers: Mapping[str, Tensor],
        x: Tensor,
        shared: bool,
        n_valid: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
    ) -> Tensor:
        if not self.template.training or generators is None:
            return self.plain[shared](params, buffers, x)
        n_rows = x.shape[0] if shared else x.shape[1]
        padded = n_valid is not None and bool((n_valid < n_rows).any())
        if not padded or not (self.batch_statistics or self.plan(params, buffers, x, shared)):
            return self.run(params, buffers, x, shared, generators)
        return self.run_grouped(params, buffers, x, shared, n_valid, generators)

    def plan(
        self, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor, shared: bool
    ) -> tuple[DropoutCall, ...]:
        """The drawing dropout calls of a member's forward on inputs shaped like its part of ``x``."""
        member_x = x if shared else x[0]
        key = (tuple(member_x.shape), member_x.dtype)
        if key not in self.plans:
            first = {name: value[0].detach() for name, value in params.items()}
            calls = dropout_plan(self.template, first, {name: b[0] for name, b in buffers.items()}, member_x)
            self.plans[key] = calls if any(call.draws for call in calls) else ()
        return self.plans[key]

    def run(
        self,
        params: Mapping[str, Tensor],
        buffers: Mapping[str, Tensor],
        x: Tensor,
        shared: bool,
        generators: Sequence[torch.Generator],
    ) -> Tensor:
        """All members on all of ``x``'s rows, each with its own dropout masks."""
        plan = self.plan(params, buffers, x, shared)
        if not plan:
            return self.plain[shared](params, buffers, x)
        n_members = next(iter(params.values())).shape[0]
        masks = draw_masks(plan, generators, x)
        if len(generators) == 1:
            masks = [mask.expand(n_members, *mask.shape[1:]) for mask in masks]
        return self.masked[shared](params, buffers, x, masks, plan)

    def run_grouped(
        self,
        params: Mapping[str, Tensor],
        buffers: Mapping[str, Tensor],
        x: Tensor,
        shared: bool,
        n_valid: Tensor,
        generators: Sequence[torch.Generator],
    ) -> Tensor:
        """Each member on its first ``n_valid`` rows only; outputs padded with zeros to ``x``'s rows."""
        n_rows = x.shape[0] if shared else x.shape[1]
        counts = n_valid.tolist()
        outputs, order = [], []
        for count in sorted(set(counts) - {0}):
            members = [k for k, c in enumerate(counts) if c == count]
            everyone = len(members) == len(counts)
            where = torch.tensor(members, device=x.device)
            member_params = params if everyone else {name: p[where] for name, p in params.items()}
            member_buffers = buffers if everyone else {name: b[where] for name, b in buffers.items()}
            rows = x[:count] if shared else (x[:, :count] if everyone else x[where, :count])
            draws = generators if len(generators) == 1 else [generators[k] for k in members]
            out = self.run(member_params, member_buffers, rows, shared, draws)
            if not everyone:
                with torch.no_grad():  # the running statistics they updated, back in place
                    for name, b in buffers.items():
                        b[where] = member_buffers[name]
            outputs.append(torch.cat([out, out.new_zeros(out.shape[0], n_rows - count, *out.shape[2:])], 1))
            order.extend(members)
        idle = [k for k, c in enumerate(counts) if c == 0]
        if idle:
            outputs.append(outputs[0].new_zeros(len(idle), *outputs[0].shape[1:]))
            order.extend(idle)
        out = torch.cat(outputs) if len(outputs) > 1 else outputs[0]
        if order == sorted(order):
            return out
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor(order)] = torch.arange(len(order))
        return out[inverse.to(out.device)]
