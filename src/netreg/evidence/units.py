"""Hidden units switched off by the penalty: incoming weights driven to (near) zero.

The rule is :func:`units_off_mask`'s; why its two thresholds: ``docs/architecture.md``,
"Measurements and history".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from netreg._checks import check_float
from netreg.evidence.stacked_mlp import stack_weights

__all__ = ["UNITS_OFF_RTOL", "UNITS_OFF_ATOL", "units_off_mask", "units_off"]

UNITS_OFF_RTOL = 1e-2
UNITS_OFF_ATOL = 1e-3


def units_off_mask(weight: Tensor, *, rtol: float = UNITS_OFF_RTOL, atol: float = UNITS_OFF_ATOL) -> Tensor:
    """Which rows of a (stacked) weight matrix are off: ``(..., out, in)`` -> boolean ``(..., out)``.

    Unit o is off when ``||W[o]|| <= max(rtol * max_o' ||W[o']||, atol)`` (bias excluded).

    Parameters
    ----------
    weight : Tensor of shape (out, in) or (K, out, in)
        The incoming weights of a hidden layer, one row per unit.
    rtol, atol : float
        The relative and absolute thresholds.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[3.0, 4.0], [0.03, 0.0], [0.0, 0.06], [0.0, 0.0]])
    >>> units_off_mask(W)  # norms 5, 0.03, 0.06, 0: the threshold is 0.05
    tensor([False,  True, False,  True])
    """
    rtol = check_float(rtol, "rtol", low=0.0)
    atol = check_float(atol, "atol", low=0.0)
    norms = torch.linalg.vector_norm(weight.to(torch.float64), dim=-1)
    threshold = (rtol * norms.amax(-1, keepdim=True)).clamp_min(atol)
    return norms <= threshold


def units_off(members: Any, *, rtol: float = UNITS_OFF_RTOL, atol: float = UNITS_OFF_ATOL) -> np.ndarray:
    """Number of units switched off (:func:`units_off_mask`) in each hidden layer of each member.

    Parameters
    ----------
    members : MLP, state dict, stacked state dict, or sequence of them
        See :func:`netreg.evidence.stacked_mlp.stack_members`.
    rtol, atol : float
        As in :func:`units_off_mask`.

    Returns
    -------
    ndarray of int, shape (K, n_hidden_layers)

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> net = MLP(2, (4, 3), 1)
    >>> with torch.no_grad():
    ...     net.layers[0].weight[1:] = 0.0
    ...     net.layers[1].weight[:] = 1e-4
    >>> units_off(net).tolist()
    [[3, 3]]
    """
    weights, _ = stack_weights(members)
    hidden = weights[:-1]
    if not hidden:
        return np.zeros((weights[0].shape[0], 0), dtype=np.int64)
    counts = torch.stack([units_off_mask(w, rtol=rtol, atol=atol).sum(-1) for w in hidden], dim=-1)
    return counts.cpu().numpy().astype(np.int64)
