"""Choosing alpha: the whole grid of alphas and folds trained as one vectorized population.

The driver is :func:`run_sweep` (:mod:`~netreg.tuning.sweep`); ``docs/architecture.md`` (steps 3-8)
walks through the modules; the CV estimators that run it are :mod:`netreg.search`'s.
"""

from netreg.grid import default_alphas, resolve_alphas
from netreg.tuning.backends import Backend, LocalBackend, RayBackend, get_backend
from netreg.tuning.plan import SweepPlan, plan_sweep, train_chunk
from netreg.tuning.progress import ProgressBar, VerboseSweep
from netreg.tuning.records import MemberRecord
from netreg.tuning.rules import SELECTIONS, select_alpha
from netreg.tuning.scoring import SCORINGS
from netreg.tuning.store import SweepStore
from netreg.tuning.sweep import run_sweep
from netreg.tuning.sweep_hooks import SweepCallback
from netreg.tuning.sweep_result import SweepResult

__all__ = [
    "Backend",
    "LocalBackend",
    "RayBackend",
    "get_backend",
    "default_alphas",
    "resolve_alphas",
    "SELECTIONS",
    "select_alpha",
    "SCORINGS",
    "SweepStore",
    "SweepCallback",
    "ProgressBar",
    "VerboseSweep",
    "SweepPlan",
    "MemberRecord",
    "SweepResult",
    "plan_sweep",
    "run_sweep",
    "train_chunk",
]
