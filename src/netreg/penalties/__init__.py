r"""Weight penalties: pure functions over tensors, and thin classes around them.

For weight matrices :math:`W_j`, strengths :math:`\alpha_j` and :math:`m` training
examples, the penalties added to the mean data loss are

.. math::

    \text{L2} &= \sum_j \frac{\alpha_j}{2m} \lVert W_j \rVert_F^2 \\
    \text{L1} &= \sum_j \frac{\alpha_j}{m} \lVert W_j \rVert_1 \\
    \text{elastic net} &= \sum_j \frac{\alpha_j}{m}
        \Big( r \lVert W_j \rVert_1 + \frac{1 - r}{2} \lVert W_j \rVert_F^2 \Big)

with :math:`r` the ``l1_ratio``. ``m`` is the size of the training set (or the sum of the
sample weights), also in minibatch training, so the objective does not depend on the
batch size.

Each penalty comes in two forms that give the same gradient:

* its value, a differentiable tensor to add to a loss (``l2_penalty``), and
* a fused in-place update of existing gradients that builds no autograd graph
  (``l2_penalty_grad_``: ``grad += alpha / m * W``; for L1 the subgradient
  ``alpha / m * sign(W)``, with ``sign(0) = 0``).

Strengths may be per-population-member: an ``alpha`` tensor of shape ``(K,)`` treats
the first dimension of every weight as the member axis and returns ``K`` values.

A training loop over K stacked members computes the scales :math:`\alpha_{kj} / m_k`
once (:func:`penalty_scales`) and passes the same scale tensors to the fused gradient
(:func:`add_scaled_grad_`, every step) and to the value it records
(:func:`scaled_value`, every epoch): this is how netreg's engine meets the penalty.
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
