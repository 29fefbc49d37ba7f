"""Alpha by the evidence: MacKay's Laplace marginal likelihood, effective parameters, units off.

Each member, trained on all the rows at its own alpha, is read as the MAP of a Bayesian network
with a Gaussian prior of precision alpha on its penalized weights; its log evidence (Laplace, GGN
curvature) ranks the alphas. The modules: ``docs/architecture.md``'s table of layers.
"""

from netreg.evidence.curvature import (
    EXACT_MAX_PARAMS,
    Curvature,
    effective_parameters,
    ggn_curvature,
    log_det,
)
from netreg.evidence.fixed_point import FixedPoint, fixed_point
from netreg.evidence.ggn import ggn_matrix, kfac_factors, loss_hessian_factor
from netreg.evidence.laplace import EvidenceResult, laplace_log_evidence, log_evidence, population_evidence
from netreg.evidence.online import AlphaSchedule, EvidenceAlpha, alpha_schedule
from netreg.evidence.select import AlphaSelection, evidence_gap, select_alpha
from netreg.evidence.stacked_mlp import StackedMLP, stack_members
from netreg.evidence.units import UNITS_OFF_ATOL, UNITS_OFF_RTOL, units_off, units_off_mask

__all__ = [
    "log_evidence",
    "population_evidence",
    "EvidenceResult",
    "laplace_log_evidence",
    "select_alpha",
    "AlphaSelection",
    "evidence_gap",
    "fixed_point",
    "FixedPoint",
    "EvidenceAlpha",
    "AlphaSchedule",
    "alpha_schedule",
    "ggn_curvature",
    "Curvature",
    "log_det",
    "effective_parameters",
    "loss_hessian_factor",
    "ggn_matrix",
    "kfac_factors",
    "EXACT_MAX_PARAMS",
    "units_off",
    "units_off_mask",
    "UNITS_OFF_RTOL",
    "UNITS_OFF_ATOL",
    "stack_members",
    "StackedMLP",
]
