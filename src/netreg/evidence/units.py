"""Hidden units switched off by the penalty: incoming weights driven to (near) zero.

Hidden unit o of layer l is *off* when the norm of its incoming weights (row o of ``W_l``,
bias excluded) satisfies

    ||W_l[o]|| <= max(rtol * max_o' ||W_l[o']||,  atol),    rtol = 1e-2, atol = 1e-3 by default.

Why these two tests: the pre-activation of unit o over the data varies as ``W_l[o] . a`` does,
with standard deviation ``||W_l[o]||`` for inputs of unit variance and weak correlation (the
standardized features netreg recommends). The relative test finds units the penalty shrank
while others of the layer survived: an off unit's pre-activation moves at most 1 % as much as
the layer's strongest unit's, so it acts on the next layer as a constant (a bias) of that
order. The relative test is blind to a whole layer driven to zero, which the absolute test
catches: ``1e-3`` is three orders of magnitude below the scale the weights start from (the
Glorot-uniform row norm ``sqrt(2 in / (in + out))``, 0.3 to 1.4 for usual shapes). L2 never
makes weights exactly zero, so a count depends on the thresholds; both are parameters.

Only hidden layers have units: the output layer's rows are the outputs.
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

    Parameters
    ----------
    weight : Tensor of shape (out, in) or (K, out, in)
        The incoming weights of a hidden layer, one row per unit.
    rtol, atol : float
        The relative and absolute thresholds of the module docstring.

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
    """Number of units switched off in each hidden layer of each member.

    Parameters
    ----------
    members : MLP, state dict, stacked state dict, or sequence of them
        See :func:`netreg.evidence.stacked_mlp.stack_members`.
    rtol, atol : float
        The relative and absolute thresholds of the module docstring.

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
