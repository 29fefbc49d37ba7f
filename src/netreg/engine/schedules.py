"""SGD's step-size schedules, per member: scikit-learn's ``learning_rate`` options, as pure functions.

A population keeps one step size per member (a ``(K,)`` float64 tensor on the CPU), changed
only at the end of an epoch: ``"constant"``; ``"invscaling"``, ``learning_rate / (t + 1) **
power_t`` with t the rows seen (scikit-learn's ``t_``); ``"adaptive"``, divided by 5 when the
member stalls instead of stopping (it stops when it stalls at a step of at most 1e-6).
Momentum under a changing step size: :func:`set_rates_`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from netreg import _compat
from netreg.engine.optim import SGDState

__all__ = ["SCHEDULES", "MIN_RATE", "invscaling_rates", "adaptive_rates", "set_rates_", "end_epoch_"]

SCHEDULES = ("constant", "invscaling", "adaptive")

#: scikit-learn's threshold: an adaptive member that stalls at this step size or below stops.
MIN_RATE = 1e-6


def invscaling_rates(learning_rate: float, samples_seen: Tensor, power_t: float) -> Tensor:
    """``learning_rate / (t + 1) ** power_t`` per member, t its training rows seen so far.

    Examples
    --------
    >>> invscaling_rates(0.1, torch.tensor([0.0, 3.0], dtype=torch.float64), 0.5).tolist()
    [0.1, 0.05]
    """
    return learning_rate / (samples_seen + 1.0) ** power_t


def adaptive_rates(rates: Tensor, stalled: Tensor) -> tuple[Tensor, Tensor]:
    """The step sizes after an epoch of the ``"adaptive"`` schedule, and which members stop.

    A stalled member (``stalled``, ``(K,)`` bool) whose step size is above :data:`MIN_RATE`
    goes on at a fifth of it; one at :data:`MIN_RATE` or below stops.

    Examples
    --------
    >>> rates = torch.tensor([0.01, 0.01, 1e-6], dtype=torch.float64)
    >>> new, stop = adaptive_rates(rates, torch.tensor([False, True, True]))
    >>> new.tolist(), stop.tolist()
    ([0.01, 0.002, 1e-06], [False, False, True])
    """
    stop = stalled & (rates <= MIN_RATE)
    return torch.where(stalled & ~stop, rates / 5.0, rates), stop


@torch.no_grad()
def set_rates_(state: SGDState, rates: Tensor) -> None:
    """Give the members the step sizes ``rates`` (``(K,)`` float64, CPU), rescaling their momentum
    buffers by ``old / new`` so that each keeps its velocity in the units of the weights,
    as scikit-learn's SGD keeps it.

    scikit-learn's velocity is ``v = momentum * v - lr * g``; :func:`netreg.engine.optim.sgd_step_`
    keeps ``b = momentum * b + g``: ``v = -lr * b`` holds under every schedule with the rescaling.

    Examples
    --------
    >>> state = SGDState([torch.ones(2, 3)], learning_rate=torch.tensor([0.1, 0.1], dtype=torch.float64))
    >>> set_rates_(state, torch.tensor([0.1, 0.05], dtype=torch.float64))
    >>> state.momentum_buffers[0][:, 0].tolist(), state.step_size(0.1, torch.ones(1))
    ([1.0, 2.0], tensor([0.1000, 0.0500]))
    """
    ratio = state.learning_rate / rates
    changed = ratio != 1.0
    if state.momentum_buffers and bool(changed.any()):
        buffers = state.momentum_buffers
        factor = ratio.to(buffers[0].device, buffers[0].dtype)
        _compat.foreach_mul_(buffers, [factor.reshape((-1,) + (1,) * (b.ndim - 1)) for b in buffers])
    state.learning_rate = rates.clone()
    state.forget_step_size()


def end_epoch_(
    state: SGDState, n_rows: Tensor, stalled: Tensor, *, schedule: str, learning_rate: float, power_t: float
) -> Tensor:
    """Count the epoch's rows, apply ``schedule`` to every member, and return the stalled
    members that stop (all of them, except those the ``"adaptive"`` schedule keeps going).

    ``n_rows`` is ``(K,)``: each member's training rows in the epoch; ``stalled`` ``(K,)``
    bool (CPU): the members whose stopping counter reached ``n_iter_no_change``.

    Examples
    --------
    >>> state = SGDState([], learning_rate=torch.full((2,), 0.1, dtype=torch.float64),
    ...                  samples_seen=torch.zeros(2, dtype=torch.float64))
    >>> stop = end_epoch_(state, torch.tensor([3.0, 8.0]), torch.tensor([False, True]),
    ...                   schedule="invscaling", learning_rate=0.1, power_t=0.5)
    >>> stop.tolist(), state.learning_rate.tolist()
    ([False, True], [0.05, 0.03333333333333333])
    """
    if schedule == "constant" or state.learning_rate is None:
        return stalled
    state.samples_seen = state.samples_seen + n_rows.to(torch.float64)
    if schedule == "invscaling":
        set_rates_(state, invscaling_rates(learning_rate, state.samples_seen, power_t))
        return stalled
    rates, stop = adaptive_rates(state.learning_rate, stalled)
    set_rates_(state, rates)
    return stop
