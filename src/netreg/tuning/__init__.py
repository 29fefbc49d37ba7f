"""Choosing alpha: the whole grid of alphas and folds trained as one vectorized population.

Grid (:mod:`~netreg.tuning.grid`), folds (:mod:`~netreg.tuning.splits`), the selection
rule (:mod:`~netreg.tuning.rules`), the results store (:mod:`~netreg.tuning.store`), the
sweep itself (:mod:`~netreg.tuning.sweep`), backends (:mod:`~netreg.tuning.backends`) and
the cross-validated estimators (:mod:`~netreg.tuning.estimators`).
"""

from netreg.tuning.backends import LocalBackend, get_backend
from netreg.tuning.grid import default_alphas, resolve_alphas
from netreg.tuning.ray_backend import RayBackend
from netreg.tuning.rules import SELECTIONS, select_alpha
from netreg.tuning.store import StoreError, SweepStore
from netreg.tuning.sweep import SCORINGS, SweepCallback, SweepPlan, SweepResult, plan_sweep, run_sweep, train_chunk

__all__ = [
    "LocalBackend",
    "RayBackend",
    "get_backend",
    "default_alphas",
    "resolve_alphas",
    "SELECTIONS",
    "select_alpha",
    "StoreError",
    "SweepStore",
    "SCORINGS",
    "SweepCallback",
    "SweepPlan",
    "SweepResult",
    "plan_sweep",
    "run_sweep",
    "train_chunk",
]
