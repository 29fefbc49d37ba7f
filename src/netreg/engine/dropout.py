"""Each member's own dropout masks in any module, through ``torch.func.vmap``.

Under ``vmap(..., randomness="different")`` every draw comes from PyTorch's global generator,
so a member's masks would depend on its population. Instead a probe finds the module's dropout
calls (:func:`dropout_plan`), each member's masks are drawn from its own generator
(:func:`netreg.nets.dropout_masks`), and :class:`MaskedDropout` replaces the i-th call by a
product with the i-th mask: each draw is the one plain PyTorch makes on the CPU. Handled: the
``nn.Dropout*`` modules, their functional forms and ``torch.dropout`` /
``torch.feature_dropout``; alpha dropout is refused; other random draws still use the global
generator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from netreg._compat import torch_dropout_functions
from netreg.exceptions import InvalidParameterError
from netreg.nets import dropout_masks

__all__ = ["DropoutCall", "dropout_plan", "draw_masks", "MaskedDropout", "ALPHA_DROPOUT_MSG", "CHANGED_CALLS_MSG"]

#: Why alpha dropout is refused in populations.
ALPHA_DROPOUT_MSG = (
    "The module uses alpha dropout ({name}), whose masks netreg cannot draw per member; "
    "expected nn.Dropout (or Dropout1d/2d/3d). Replace it, or set its p to 0."
)

#: Why a forward whose dropout calls differ from its first pass's is stopped.
CHANGED_CALLS_MSG = (
    "The module's dropout calls changed between forward passes on inputs of the same shape; "
    "netreg draws each member's masks from the calls of a first pass. Expected the same "
    "dropout calls, in the same order, at every training step."
)

# function -> (feature dropout?, in place?, names of its arguments, unbatched ndim to unsqueeze)
# torch's undocumented dropout functions, those this torch has (netreg._compat).
_TORCH = torch_dropout_functions()
_TORCH_CALLS = {
    "dropout": (False, False, ("input", "p", "train"), None),
    "dropout_": (False, True, ("input", "p", "train"), None),
    "feature_dropout": (True, False, ("input", "p", "train"), None),
    "feature_dropout_": (True, True, ("input", "p", "train"), None),
}
_CALLS: dict[Callable[..., Any], tuple[bool, bool, tuple[str, ...], int | None]] = {
    F.dropout: (False, False, ("input", "p", "training", "inplace"), None),
    F.dropout1d: (True, False, ("input", "p", "training", "inplace"), 2),
    F.dropout2d: (True, False, ("input", "p", "training", "inplace"), None),
    F.dropout3d: (True, False, ("input", "p", "training", "inplace"), 4),
    **{_TORCH[name]: call for name, call in _TORCH_CALLS.items() if name in _TORCH},
}
_DEFAULTS = {"p": 0.5, "training": True, "train": True, "inplace": False}
_ALPHA = {
    F.alpha_dropout: "alpha_dropout",
    F.feature_alpha_dropout: "feature_alpha_dropout",
    **{function: name for name, function in _TORCH.items() if "alpha" in name},
}


@dataclass(frozen=True)
class DropoutCall:
    """One dropout call of the module's forward, as the probe saw it.

    Attributes
    ----------
    function : callable
        The function called (``torch.nn.functional.dropout``, ...).
    p : float
        Its probability; a call with ``p = 0`` or outside training draws nothing.
    shape, stride : tuple of int
        Shape and strides of the mask of one member (``None`` for a call that draws nothing).
    """

    function: Callable[..., Any]
    p: float
    shape: tuple[int, ...] | None
    stride: tuple[int, ...] | None

    @property
    def draws(self) -> bool:
        """Whether the call draws a mask (``0 < p < 1`` in training)."""
        return self.shape is not None


def _arguments(function: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    names = _CALLS[function][2]
    bound = {name: _DEFAULTS.get(name) for name in names}
    bound.update(zip(names, args, strict=False))  # the positional arguments name the first parameters
    bound.update(kwargs)
    return bound


def _as_batched(function: Callable[..., Any], x: Tensor) -> tuple[Tensor, bool]:
    """The tensor the function's kernel sees (``dropout1d``/``3d`` add a batch axis to an unbatched input)."""
    unbatched_ndim = _CALLS[function][3]
    if unbatched_ndim is not None and x.dim() == unbatched_ndim:
        return x.unsqueeze(0), True
    return x, False


def _mask_layout(function: Callable[..., Any], x: Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    feature = _CALLS[function][0]
    batched, _ = _as_batched(function, x)
    if feature:
        if batched.dim() < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = (batched.size(0), batched.size(1)) + (1,) * (batched.dim() - 2)
        return shape, torch.empty(shape, device="meta").stride()
    return tuple(batched.shape), torch.empty_like(batched, device="meta").stride()


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[DropoutCall] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        if func in _ALPHA:
            p = kwargs.get("p", args[1] if len(args) > 1 else 0.5)
            training = kwargs.get("training", kwargs.get("train", args[2] if len(args) > 2 else False))
            if training and p > 0:
                raise InvalidParameterError(ALPHA_DROPOUT_MSG.format(name=_ALPHA[func]))
            return func(*args, **kwargs)
        if func not in _CALLS:
            return func(*args, **kwargs)
        bound = _arguments(func, args, kwargs)
        x, p = bound["input"], float(bound["p"])
        training = bound.get("training", bound.get("train"))
        draws = training and 0.0 < p < 1.0 and x.numel() > 0
        shape, stride = _mask_layout(func, x) if draws else (None, None)
        self.calls.append(DropoutCall(func, p, shape, stride))
        return x


def dropout_plan(
    template: nn.Module, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor
) -> tuple[DropoutCall, ...]:
    """The dropout calls of ``template``'s forward on one member's input ``x``, in order.

    Runs the forward once without gradients, every dropout call replaced by the identity.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2), nn.Dropout(0.0))
    >>> plan = dropout_plan(net, dict(net.named_parameters()), {}, torch.ones(5, 3))
    >>> [(call.p, call.shape) for call in plan]
    [(0.5, (5, 4)), (0.0, None)]
    """
    recorder = _Recorder()
    with torch.no_grad(), recorder:
        functional_call(template, (dict(params), {name: b.clone() for name, b in buffers.items()}), (x,))
    return tuple(recorder.calls)


def draw_masks(plan: Sequence[DropoutCall], generators: Sequence[torch.Generator], like: Tensor) -> list[Tensor]:
    """Each drawing call's masks for the members: ``(len(generators), *call.shape)`` each.

    A member draws its masks in the order its forward calls dropout, as it would alone.
    """
    return [dropout_masks(c.shape, c.p, generators, like=like, stride=c.stride) for c in plan if c.draws]


class MaskedDropout(TorchFunctionMode):
    """Within a member's forward (inside ``vmap``), the i-th dropout call multiplies by ``masks[i]``.

    ``plan`` is the forward's :func:`dropout_plan`; ``masks`` are the member's masks of
    its drawing calls (the ``vmap`` slice of :func:`draw_masks`).
    """

    def __init__(self, plan: Sequence[DropoutCall], masks: Sequence[Tensor]) -> None:
        super().__init__()
        self.plan = plan
        self.masks = masks
        self.position = 0
        self.drawn = 0

    def __exit__(self, *exc_info: Any) -> None:
        super().__exit__(*exc_info)
        if exc_info[0] is None and self.position != len(self.plan):
            raise RuntimeError(CHANGED_CALLS_MSG)

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        if func not in _CALLS:
            return func(*args, **kwargs)
        bound = _arguments(func, args, kwargs)
        x = bound["input"]
        if self.position >= len(self.plan) or self.plan[self.position].function is not func:
            raise RuntimeError(CHANGED_CALLS_MSG)
        call = self.plan[self.position]
        self.position += 1
        if not call.draws:
            if bound.get("training", bound.get("train")) and float(bound["p"]) >= 1.0:
                return x.mul_(x.new_zeros(())) if _CALLS[func][1] or bound.get("inplace") else x * x.new_zeros(())
            return x
        mask = self.masks[self.drawn]
        self.drawn += 1
        if _as_batched(func, x)[1]:
            mask = mask.squeeze(0)
        if _CALLS[func][1] or bound.get("inplace"):
            return x.mul_(mask)
        return x * mask
