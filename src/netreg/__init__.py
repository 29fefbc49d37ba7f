"""netreg: exact, fast and visible regularization for neural networks.

The public names, each listed once in ``__all__``. Where they live: the estimators in
:mod:`netreg.estimators`, the alpha sweeps (``NetRegClassifierCV``, ``NetRegRegressorCV``) in
:mod:`netreg.tuning`, the penalties in :mod:`netreg.penalties`, the training engine in
:mod:`netreg.engine`, the notebook figures in :mod:`netreg.display`, the report in
:mod:`netreg.report`, tables in :mod:`netreg.tables`, saved models in :mod:`netreg.io.models`,
the errors in :mod:`netreg.exceptions`; ``docs/architecture.md`` maps the rest.
"""

from netreg import conventions
from netreg._version import __version__
from netreg.display import AlphaPathDisplay, LearningCurveDisplay, ValidationCurveDisplay, WeightNormDisplay
from netreg.engine import (
    Callback,
    MemberResult,
    Population,
    PopulationResult,
    TrainConfig,
    member_module,
    train_population,
)
from netreg.estimators import NetRegClassifier, NetRegRegressor
from netreg.exceptions import (
    DataError,
    DataWarning,
    DivergenceError,
    InvalidParameterError,
    NetRegError,
    NetRegWarning,
    NotFittedError,
)
from netreg.history import History
from netreg.nets import MLP
from netreg.objective import objective
from netreg.penalties import (
    L1,
    L2,
    ElasticNet,
    Penalty,
    add_scaled_grad_,
    elastic_net_penalty,
    elastic_net_penalty_grad_,
    l1_penalty,
    l1_penalty_grad_,
    l2_penalty,
    l2_penalty_grad_,
    penalty_scales,
    scaled_value,
)
from netreg.search.cv_estimators import NetRegClassifierCV, NetRegRegressorCV
from netreg.selection import PenalizedParameter, penalized_parameters

__all__ = [
    "NetRegClassifier",
    "NetRegRegressor",
    "NetRegClassifierCV",
    "NetRegRegressorCV",
    "ValidationCurveDisplay",
    "WeightNormDisplay",
    "LearningCurveDisplay",
    "AlphaPathDisplay",
    "L2",
    "L1",
    "ElasticNet",
    "Penalty",
    "l2_penalty",
    "l1_penalty",
    "elastic_net_penalty",
    "l2_penalty_grad_",
    "l1_penalty_grad_",
    "elastic_net_penalty_grad_",
    "penalty_scales",
    "scaled_value",
    "add_scaled_grad_",
    "PenalizedParameter",
    "penalized_parameters",
    "conventions",
    "MLP",
    "objective",
    "TrainConfig",
    "Callback",
    "Population",
    "MemberResult",
    "PopulationResult",
    "train_population",
    "member_module",
    "History",
    "NetRegError",
    "InvalidParameterError",
    "DataError",
    "DivergenceError",
    "NotFittedError",
    "NetRegWarning",
    "DataWarning",
    "__version__",
]
