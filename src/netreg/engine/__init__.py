"""The one training engine: a population of K networks trained at once (K = 1 for one fit).

Members share an architecture (any ``torch.nn.Module``) and differ in ``alpha`` (and
optionally in seed and in their training and held-out rows). Their parameters are stacked
along a leading axis and run forward together; SGD and Adam move each member as
``torch.optim`` would move it alone; full-batch L-BFGS trains single members. Each member stops
on its own (:mod:`~netreg.engine.stopping`) or when a callback stops it through the
:class:`Population` handle. A functional core with a thin loop: :func:`train_population`
(``entry``) validates the :class:`TrainConfig` and the inputs (``inputs``) and runs the
``Trainer`` (``loop``, ``full_batch``) over one :class:`~netreg.engine.state.PopulationState`;
``docs/architecture.md`` walks through the modules.
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
