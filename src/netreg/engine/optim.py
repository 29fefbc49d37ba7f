"""SGD and Adam steps over stacked population parameters, as functions of explicit state.

Every tensor has the population on dimension 0; both updates are elementwise, so member k
moves exactly as under ``torch.optim.SGD`` / ``Adam`` alone (PyTorch's order of operations).
A member that is not ``active`` must not move, and zeroing its gradient would not do (momentum
keeps moving it): the step runs on all members and restores the inactive ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from netreg import _compat

__all__ = ["SGDState", "AdamState", "sgd_step_", "adam_step_"]


@dataclass
class SGDState:
    """Momentum buffers, one per parameter (empty when ``momentum == 0``), and, under a
    step-size schedule (:mod:`netreg.engine.schedules`), each member's current step size
    and training rows seen, ``(K,)`` float64 on the CPU (``None`` for a constant one)."""

    momentum_buffers: list[Tensor] = field(default_factory=list)
    learning_rate: Tensor | None = None
    samples_seen: Tensor | None = None
    _step: Any = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def create(cls, params: list[Tensor], momentum: float, learning_rate: float | None = None) -> SGDState:
        """Zero buffers; with a ``learning_rate`` (a schedule), every member starts at it with 0 rows seen."""
        n_members = params[0].shape[0] if params else 0
        rates = None if learning_rate is None else torch.full((n_members,), float(learning_rate), dtype=torch.float64)
        seen = None if learning_rate is None else torch.zeros(n_members, dtype=torch.float64)
        return cls([torch.zeros_like(p) for p in params] if momentum > 0 else [], rates, seen)

    def tensors(self) -> list[Tensor]:
        return self.momentum_buffers

    def step_size(self, learning_rate: float, like: Tensor) -> float | Tensor:
        """What a step multiplies its direction by: ``learning_rate`` without a schedule, the
        members' common step size as a float, or their ``(K,)`` step sizes on ``like``'s device."""
        if self.learning_rate is None:
            return learning_rate
        if self._step is None:
            first = float(self.learning_rate[0])
            uniform = bool((self.learning_rate == first).all())
            self._step = first if uniform else self.learning_rate.to(like.device, like.dtype)
        return self._step

    def forget_step_size(self) -> None:
        """The step sizes changed: :meth:`step_size` computes them again."""
        self._step = None

    def take(self, positions: Tensor) -> SGDState:
        """The state of the members at ``positions`` (a CPU long tensor), in that order."""
        buffers = self.momentum_buffers
        if buffers:
            on_device = positions.to(buffers[0].device)
            buffers = [b[on_device] for b in buffers]
        if self.learning_rate is None:
            return SGDState(buffers) if buffers is not self.momentum_buffers else self
        return SGDState(buffers, self.learning_rate[positions], self.samples_seen[positions])

    def member(self, position: int, names: list[str]) -> dict[str, Any]:
        """Member ``position``'s slice of the state, on CPU, to resume it later."""
        saved: dict[str, Any] = {
            # strict=False: there are no buffers without momentum.
            "momentum_buffers": {
                n: b[position].detach().cpu().clone() for n, b in zip(names, self.momentum_buffers, strict=False)
            }
        }
        if self.learning_rate is not None:
            saved["learning_rate"] = float(self.learning_rate[position])
            saved["samples_seen"] = float(self.samples_seen[position])
        return saved

    @torch.no_grad()
    def load_member_(self, position: int, names: list[str], saved: Mapping[str, Any]) -> None:
        """Put a :meth:`member` slice back at ``position``; a slice may hold only some of the
        keys (``{"samples_seen": t}`` continues a schedule's count with fresh momentum)."""
        for name, buffer in zip(names, self.momentum_buffers, strict=False):  # no buffers without momentum
            if name in saved.get("momentum_buffers", {}):
                buffer[position] = saved["momentum_buffers"][name]
        if self.learning_rate is not None:
            for key in ("learning_rate", "samples_seen"):
                if key in saved:
                    getattr(self, key)[position] = float(saved[key])
            self.forget_step_size()


@dataclass
class AdamState:
    """First and second moments per parameter, and each member's step count ``(K,)``.

    ``uniform``: whether all members have taken as many steps (``None``: not known), so that a
    step need not read the counts back from the device.
    """

    exp_avg: list[Tensor]
    exp_avg_sq: list[Tensor]
    step: Tensor
    uniform: bool | None = field(default=None, compare=False)

    @classmethod
    def create(cls, params: list[Tensor]) -> AdamState:
        n_members = params[0].shape[0]
        zeros = [torch.zeros_like(p) for p in params]
        # float32 whatever the parameters' dtype: PyTorch's fused Adam kernels read it so.
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
            "exp_avg": {n: t[position].detach().cpu().clone() for n, t in zip(names, self.exp_avg, strict=True)},
            "exp_avg_sq": {n: t[position].detach().cpu().clone() for n, t in zip(names, self.exp_avg_sq, strict=True)},
            "step": float(self.step[position]),
        }

    @torch.no_grad()
    def load_member_(self, position: int, names: list[str], saved: Mapping[str, Any]) -> None:
        """Put a :meth:`member` slice back at ``position``."""
        for name, m, v in zip(names, self.exp_avg, self.exp_avg_sq, strict=True):
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
    lr: float | Tensor,
    momentum: float,
    nesterov: bool,
    active: Tensor | None = None,
) -> None:
    """One SGD step in place: ``buf = momentum * buf + g``; ``p -= lr * (g + momentum * buf)``
    with Nesterov momentum, ``p -= lr * buf`` without (``torch.optim.SGD`` with dampening 0).

    ``lr`` is a float, or a ``(K,)`` tensor of the members' own step sizes (a schedule)."""
    with _restoring(params, state.tensors(), active):
        if momentum > 0:
            _compat.foreach_mul_(state.momentum_buffers, momentum)
            _compat.foreach_add_(state.momentum_buffers, grads)
            if nesterov:
                directions = _compat.foreach_add(grads, state.momentum_buffers, alpha=momentum)
            else:
                directions = state.momentum_buffers
        else:
            directions = grads
        if isinstance(lr, Tensor):
            _compat.foreach_sub_(params, _compat.foreach_mul(directions, [_per_member(lr, p) for p in params]))
        else:
            _compat.foreach_add_(params, directions, alpha=-lr)


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
    epsilon_form: str = "torch",
) -> None:
    """One Adam step in place, as ``torch.optim.Adam`` computes it, with a step count per member:

    ``m = lerp(m, g, 1 - b1)``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

    ``epsilon_form="sklearn"`` adds ``eps`` before the bias correction of ``sqrt(v)``, as
    scikit-learn's MLP does (Kingma and Ba's "efficient" form):
    ``p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``, which is the form above
    with ``eps / sqrt(1 - b2^t)`` for ``eps``.

    When every member takes the step and all have taken as many steps, PyTorch's fused Adam
    kernel (:data:`netreg._compat.fused_adam_`) does it in one pass instead of nine.
    """
    if state.uniform is None:  # once after a change of members, not every step
        state.uniform = len(state.step) == 1 or bool((state.step == state.step[0]).all())
    if fused and _compat.fused_adam_ is not None and active is None and state.uniform:
        state.step.add_(1)
        count = [state.step[0]] * len(params)
        if epsilon_form == "sklearn":
            epsilon = epsilon / math.sqrt(1.0 - beta_2 ** float(state.step[0]))
        # The fused kernel reads memory densely: a transposed gradient must be made contiguous.
        _compat.fused_adam_(
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
        _compat.foreach_lerp_(state.exp_avg, grads, 1 - beta_1)
        _compat.foreach_mul_(state.exp_avg_sq, beta_2)
        _compat.foreach_addcmul_(state.exp_avg_sq, grads, grads, value=1 - beta_2)
        # Bias corrections in float64, as torch.optim.Adam computes them in Python floats.
        steps = state.step.to(torch.float64)
        step_size = (lr / (1 - beta_1**steps)).to(params[0].dtype)
        bias_correction2_sqrt = (1 - beta_2**steps).sqrt().to(params[0].dtype)
        denominators = _compat.foreach_sqrt(state.exp_avg_sq)
        if epsilon_form == "sklearn":
            _compat.foreach_add_(denominators, epsilon)
        _compat.foreach_div_(denominators, [_per_member(bias_correction2_sqrt, p) for p in params])
        if epsilon_form != "sklearn":
            _compat.foreach_add_(denominators, epsilon)
        updates = _compat.foreach_div(state.exp_avg, denominators)
        _compat.foreach_mul_(updates, [_per_member(step_size, p) for p in params])
        _compat.foreach_sub_(params, updates)


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
            for tensor, saved in zip(self.tensors, self.saved, strict=True):
                tensor[self.inactive] = saved
