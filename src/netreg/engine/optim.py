"""SGD and Adam steps over stacked population parameters, as functions of explicit state.

This is the functional core of :mod:`netreg.engine.solvers`, whose small solver objects
only hold the hyperparameters and call these functions.

Every parameter tensor has the population on dimension 0. Both updates are elementwise,
so member k's slice moves exactly as it would under ``torch.optim.SGD`` / ``Adam`` alone
(same formulas, in PyTorch's order of operations), and the tests hold them to that.

A member that is not ``active`` in a step (it has no minibatch left this epoch) must not
move at all: zeroing its gradient would not do, since momentum and Adam's moments keep
moving the weights. So the step runs on all members and then restores the inactive ones,
which also keeps a NaN of one member from reaching the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

__all__ = ["SGDState", "AdamState", "sgd_step_", "adam_step_"]


@dataclass
class SGDState:
    """Momentum buffers, one per parameter (empty when ``momentum == 0``)."""

    momentum_buffers: list[Tensor] = field(default_factory=list)

    @classmethod
    def create(cls, params: list[Tensor], momentum: float) -> SGDState:
        return cls([torch.zeros_like(p) for p in params] if momentum > 0 else [])

    def tensors(self) -> list[Tensor]:
        return self.momentum_buffers

    def take(self, positions: Tensor) -> SGDState:
        """The state of the members at ``positions`` (a CPU long tensor), in that order."""
        if not self.momentum_buffers:
            return self
        on_device = positions.to(self.momentum_buffers[0].device)
        return SGDState([b[on_device] for b in self.momentum_buffers])

    def member(self, position: int, names: list[str]) -> dict[str, Any]:
        """Member ``position``'s slice of the state, on CPU, to resume it later."""
        return {
            "momentum_buffers": {n: b[position].detach().cpu().clone() for n, b in zip(names, self.momentum_buffers)}
        }

    @torch.no_grad()
    def load_member_(self, position: int, names: list[str], saved: Mapping[str, Any]) -> None:
        """Put a :meth:`member` slice back at ``position``."""
        for name, buffer in zip(names, self.momentum_buffers):
            buffer[position] = saved["momentum_buffers"][name]


@dataclass
class AdamState:
    """First and second moments per parameter, and each member's step count ``(K,)``.

    ``uniform`` remembers whether all members have taken the same number of steps (``None``:
    not known), so that a step need not read the counts back from the device to know it.
    """

    exp_avg: list[Tensor]
    exp_avg_sq: list[Tensor]
    step: Tensor
    uniform: bool | None = field(default=None, compare=False)

    @classmethod
    def create(cls, params: list[Tensor]) -> AdamState:
        n_members = params[0].shape[0]
        zeros = [torch.zeros_like(p) for p in params]
        # float32 whatever the parameters' dtype: PyTorch's fused Adam kernels read step
        # counts as float32 (the CUDA one by reinterpreting the memory).
        steps = torch.zeros(n_members, dtype=torch.float32, device=params[0].device)
        return cls(zeros, [torch.zeros_like(p) for p in params], steps, uniform=True)

    def tensors(self) -> list[Tensor]:
        return [*self.exp_avg, *self.exp_avg_sq, self.step]

    def take(self, positions: Tensor) -> AdamState:
        """The state of the members at ``positions`` (a CPU long tensor), in that order."""
        on_device = positions.to(self.step.device)
        return AdamState(
            [t[on_device] for t in self.exp_avg],
            [t[on_device] for t in self.exp_avg_sq],
            self.step[on_device],
            uniform=True if self.uniform else None,  # some members of equal ones are equal
        )

    def member(self, position: int, names: list[str]) -> dict[str, Any]:
        """Member ``position``'s slice of the state, on CPU, to resume it later."""
        return {
            "exp_avg": {n: t[position].detach().cpu().clone() for n, t in zip(names, self.exp_avg)},
            "exp_avg_sq": {n: t[position].detach().cpu().clone() for n, t in zip(names, self.exp_avg_sq)},
            "step": float(self.step[position]),
        }

    @torch.no_grad()
    def load_member_(self, position: int, names: list[str], saved: Mapping[str, Any]) -> None:
        """Put a :meth:`member` slice back at ``position``."""
        for name, m, v in zip(names, self.exp_avg, self.exp_avg_sq):
            m[position] = saved["exp_avg"][name]
            v[position] = saved["exp_avg_sq"][name]
        self.step[position] = saved["step"]
        self.uniform = None


@torch.no_grad()
def sgd_step_(
    params: list[Tensor],
    grads: list[Tensor],
    state: SGDState,
    *,
    lr: float,
    momentum: float,
    nesterov: bool,
    active: Tensor | None = None,
) -> None:
    """One SGD step in place: ``buf = momentum * buf + g``; ``p -= lr * (g + momentum * buf)``
    with Nesterov momentum, ``p -= lr * buf`` without (``torch.optim.SGD`` with dampening 0)."""
    with _restoring(params, state.tensors(), active):
        if momentum > 0:
            torch._foreach_mul_(state.momentum_buffers, momentum)
            torch._foreach_add_(state.momentum_buffers, grads)
            if nesterov:
                directions = torch._foreach_add(grads, state.momentum_buffers, alpha=momentum)
            else:
                directions = state.momentum_buffers
        else:
            directions = grads
        torch._foreach_add_(params, directions, alpha=-lr)


@torch.no_grad()
def adam_step_(
    params: list[Tensor],
    grads: list[Tensor],
    state: AdamState,
    *,
    lr: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    active: Tensor | None = None,
    fused: bool = True,
) -> None:
    """One Adam step in place, as ``torch.optim.Adam`` computes it, with a step count per member:

    ``m = lerp(m, g, 1 - b1)``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

    When every member takes the step and all have taken the same number of steps (the
    usual case), PyTorch's fused Adam kernel does it in one pass over the tensors, instead
    of the nine passes of the multi-tensor path below.
    """
    if state.uniform is None:  # once after a change of members, not every step
        state.uniform = len(state.step) == 1 or bool((state.step == state.step[0]).all())
    if fused and active is None and state.uniform:
        state.step.add_(1)
        count = [state.step[0]] * len(params)
        # The fused kernel reads memory densely: a transposed gradient (from a transposed
        # weight in the forward pass) must be made contiguous first.
        torch._fused_adam_(
            params,
            [g.contiguous() for g in grads],
            state.exp_avg,
            state.exp_avg_sq,
            [],
            count,
            amsgrad=False,
            lr=lr,
            beta1=beta_1,
            beta2=beta_2,
            weight_decay=0.0,
            eps=epsilon,
            maximize=False,
        )
        return
    if active is not None and not bool(active.all()):
        state.uniform = False
    with _restoring(params, state.tensors(), active):
        state.step.add_(1)
        torch._foreach_lerp_(state.exp_avg, grads, 1 - beta_1)
        torch._foreach_mul_(state.exp_avg_sq, beta_2)
        torch._foreach_addcmul_(state.exp_avg_sq, grads, grads, 1 - beta_2)
        # Bias corrections in float64, as torch.optim.Adam computes them in Python floats.
        steps = state.step.to(torch.float64)
        step_size = (lr / (1 - beta_1**steps)).to(params[0].dtype)
        bias_correction2_sqrt = (1 - beta_2**steps).sqrt().to(params[0].dtype)
        denominators = torch._foreach_sqrt(state.exp_avg_sq)
        torch._foreach_div_(denominators, [_per_member(bias_correction2_sqrt, p) for p in params])
        torch._foreach_add_(denominators, epsilon)
        updates = torch._foreach_div(state.exp_avg, denominators)
        torch._foreach_mul_(updates, [_per_member(step_size, p) for p in params])
        torch._foreach_sub_(params, updates)


def _per_member(values: Tensor, like: Tensor) -> Tensor:
    return values.reshape((-1,) + (1,) * (like.ndim - 1))


class _restoring:
    """Context manager: undo whatever the body does to the members not in ``active``."""

    def __init__(self, params: list[Tensor], state: list[Tensor], active: Tensor | None) -> None:
        self.tensors = [*params, *state]
        self.inactive = None if active is None or bool(active.all()) else ~active
        self.saved: list[Tensor] = []

    def __enter__(self) -> None:
        if self.inactive is not None:
            self.saved = [t[self.inactive].clone() for t in self.tensors]

    def __exit__(self, *exc_info: object) -> None:
        if self.inactive is not None and exc_info[0] is None:
            for tensor, saved in zip(self.tensors, self.saved):
                tensor[self.inactive] = saved
