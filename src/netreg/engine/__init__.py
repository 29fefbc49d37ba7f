"""The one training engine: a population of K networks trained at once (K = 1 for one fit).

Members share an architecture (any ``torch.nn.Module``) and differ in ``alpha`` (and optionally
in seed and rows); their parameters are stacked along a leading axis and each moves as it would
alone. :func:`train_population` is the entry; ``docs/architecture.md`` (step 6) walks through
the modules.
"""

from netreg.engine.config import TrainConfig, resolve_device
from netreg.engine.entry import train_population
from netreg.engine.hooks import Callback
from netreg.engine.population import Population
from netreg.engine.results import MemberResult, PopulationResult, member_module

__all__ = [
    "TrainConfig",
    "Callback",
    "Population",
    "MemberResult",
    "PopulationResult",
    "train_population",
    "resolve_device",
    "member_module",
]
