"""Choosing alpha: the whole grid of alphas and folds trained as one vectorized population.

Layered one way: the grid (:mod:`netreg.grid`, below the estimators, which use it for ``alpha="auto"``), folds
(:mod:`~netreg.tuning.splits`), selection rules (:mod:`~netreg.tuning.rules`) and scorings
(:mod:`~netreg.tuning.scoring`); member records (:mod:`~netreg.tuning.records`) and the
results (:mod:`~netreg.tuning.sweep_result`); the plan and chunk training
(:mod:`~netreg.tuning.plan`, :mod:`~netreg.tuning.chunking`); backends
(:mod:`~netreg.tuning.backends`); the results store (:mod:`~netreg.tuning.store`); the
driver (:mod:`~netreg.tuning.sweep`). The cross-validated estimators that run it are
:mod:`netreg.search`'s, above the report.
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
