r"""scikit-learn estimators: ``NetRegClassifier`` and ``NetRegRegressor``.

Drop-in replacements for ``MLPClassifier`` and ``MLPRegressor`` (same parameter names and
meanings, same fitted attributes), trained by netreg's engine, with the regularization
done exactly: for every solver they minimize

.. math:: J(W) = \frac{1}{m} \sum_i \ell_i + \frac{\alpha}{2m} \sum_j \lVert W_j \rVert_F^2

with m the number of training examples (the sum of the sample weights). scikit-learn's MLP
divides the penalty by the *batch* size for ``sgd`` and ``adam``, so its ``alpha`` means a
different strength for every batch size; netreg's does not (see
:func:`netreg.conventions.to_sklearn_alpha`), unless told ``alpha_scale="batch"``, which
minimizes scikit-learn's exact objective (for code and results carried over from it).
Every other parameter of ``MLPClassifier`` and ``MLPRegressor`` has the same name, default
and meaning; ``docs/differences.md`` lists what differs on purpose.

They train netreg's MLP, or any ``torch.nn.Module`` given as ``module=`` (with
``module_kwargs``), on inputs of any shape.

Modules: :mod:`~netreg.estimators.params` (the parameters, declared once),
:mod:`~netreg.estimators.network` (the network a fit trains: the MLP or the user's module),
:mod:`~netreg.estimators.request` (what a fit trains, handed to the engine and to sweeps),
:mod:`~netreg.estimators.fitted` (the fitted state, set in one place),
:mod:`~netreg.estimators.auto_alpha` (``alpha="auto"``: alpha learned from the evidence in the fit),
:mod:`~netreg.estimators.base`, :mod:`~netreg.estimators.classifier`,
:mod:`~netreg.estimators.regressor`.
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
