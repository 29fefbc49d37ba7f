r"""Weight penalties: pure functions over tensors, and thin classes around them.

Each penalty (L2, L1, elastic net; formulas in :func:`l2_penalty`, :func:`l1_penalty`,
:func:`elastic_net_penalty`, with m the training set's size or weight sum, also in minibatch
training) has a differentiable value and a fused in-place gradient (``l2_penalty_grad_``) that
builds no autograd graph. A ``(K,)`` alpha makes dimension 0 of every weight the member axis.
The engine computes the scales ``alpha_kj / m_k`` once (:func:`penalty_scales`) and uses them
for the gradient (:func:`add_scaled_grad_`) and the recorded value (:func:`scaled_value`).
"""

from netreg.penalties._classes import L1, L1_RATIO, L2, PENALTIES, ElasticNet, Penalty, get
from netreg.penalties._functional import (
    AlphaLike,
    elastic_net_penalty,
    elastic_net_penalty_grad_,
    l1_penalty,
    l1_penalty_grad_,
    l2_penalty,
    l2_penalty_grad_,
)
from netreg.penalties._scaled import add_scaled_grad_, penalty_scales, scaled_value

__all__ = [
    "l2_penalty",
    "l1_penalty",
    "elastic_net_penalty",
    "l2_penalty_grad_",
    "l1_penalty_grad_",
    "elastic_net_penalty_grad_",
    "penalty_scales",
    "scaled_value",
    "add_scaled_grad_",
    "Penalty",
    "L2",
    "L1",
    "ElasticNet",
    "PENALTIES",
    "L1_RATIO",
    "AlphaLike",
    "get",
]
