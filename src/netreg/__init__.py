"""netreg: exact, fast and visible regularization for neural networks.

The table of contents of the package; every public name is listed here once.

Estimators (:mod:`netreg.estimators`)
    ``NetRegClassifier``, ``NetRegRegressor``: drop-ins for scikit-learn's MLPs.
Choosing alpha (:mod:`netreg.tuning`)
    ``NetRegClassifierCV``, ``NetRegRegressorCV``: the whole alpha grid and all folds
    trained as one population, resumable through a results store.
Penalties (:mod:`netreg.penalties`)
    ``L2``, ``L1``, ``ElasticNet``, their functional forms and fused gradients, the
    per-member scales (``penalty_scales``, ``scaled_value``, ``add_scaled_grad_``), ``get``.
Selection (:mod:`netreg.selection`)
    ``penalized_parameters``: which weights a penalty acts on, with their strengths.
Conventions (:mod:`netreg.conventions`)
    Conversions between netreg's ``alpha`` and Keras, PyTorch and scikit-learn knobs.
Objective (:mod:`netreg.objective`)
    ``objective``: J(W) of any model on a data set.
Networks (:mod:`netreg.nets`)
    ``MLP``.
Engine (:mod:`netreg.engine`)
    ``train_population``, ``TrainConfig``, ``Callback``, the ``Population`` handle callbacks
    get, and the result types.
History (:mod:`netreg.history`)
    ``History``.
Callbacks (:mod:`netreg.callbacks`)
    ``TensorBoardCallback``, ``MLflowCallback``: per-epoch curves, sweeps and the chosen
    model in a tracker (optional extras); the table of the callbacks ``fit`` takes.
Displays (:mod:`netreg.display`)
    ``ValidationCurveDisplay``, ``WeightNormDisplay``, ``LearningCurveDisplay``,
    ``AlphaPathDisplay``: the report's figures in a notebook, in scikit-learn's convention.
Report (:mod:`netreg.report`)
    ``report_run``, ``write_report``: the figures and the HTML page of a sweep.
Tables (:mod:`netreg.tables`)
    ``read_table``, ``TablePreprocessor`` (scikit-learn transformers with a JSON round
    trip), ``fingerprint``.
JSON fields (:mod:`netreg.json_fields`)
    ``check_fields``: the layout of a JSON file netreg reads back, declared once.
Run folders (:mod:`netreg.io`)
    ``RunFolder``.
Models (:mod:`netreg.io.models`)
    ``save_model``, ``load_model``: safetensors and JSON, no pickle.
Errors (:mod:`netreg.exceptions`)
    ``NetRegError`` and its subclasses; ``NetRegWarning`` and ``DataWarning``.
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
