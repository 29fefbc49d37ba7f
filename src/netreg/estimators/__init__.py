"""scikit-learn estimators: ``NetRegClassifier`` and ``NetRegRegressor``, drop-ins for ``MLPClassifier`` and ``MLPRegressor``.

Their objective and parameters are told in their docstrings; ``docs/differences.md`` lists
what differs from scikit-learn on purpose. Modules: ``params`` (the parameters, declared once),
``network`` (the MLP or the user's module), ``request`` (what a fit trains, for the engine and
the sweeps), ``fitted`` (the fitted state, set in one place), ``auto_alpha`` (``alpha="auto"``),
``base``, ``classifier``, ``regressor``.
"""

from netreg.estimators.classifier import NetRegClassifier
from netreg.estimators.fitted import FittedState, fitted_state, set_fitted_state
from netreg.estimators.params import validate_parameters
from netreg.estimators.regressor import NetRegRegressor
from netreg.estimators.request import TrainingRequest

__all__ = [
    "NetRegClassifier",
    "NetRegRegressor",
    "TrainingRequest",
    "FittedState",
    "fitted_state",
    "set_fitted_state",
    "validate_parameters",
]
