"""``NetRegRegressor``: a drop-in for scikit-learn's ``MLPRegressor``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin, clone
from sklearn.utils.metaestimators import available_if
from torch import nn

from netreg.estimators.base import BaseNetReg, is_stochastic
from netreg.estimators.params import REGRESSOR_PARAMS, constraints, store_parameters
from netreg.estimators.request import TrainingRequest
from netreg.estimators.target_scale import warn_below_constant, warn_target_scale
from netreg.exceptions import bad_data

__all__ = ["NetRegRegressor"]


class NetRegRegressor(RegressorMixin, BaseNetReg):
    r"""Multi-layer perceptron regressor with exact L2 / L1 / elastic-net regularization.

    A drop-in for ``sklearn.neural_network.MLPRegressor``, trained by netreg's engine. It
    minimizes half the squared error (or, with ``loss="poisson"``, half the Poisson deviance)
    plus the penalty, for every solver:

    .. math:: J(W) = \frac{1}{2m} \sum_i \lVert y_i - f(x_i) \rVert^2
              + \frac{\alpha}{2m} \sum_j \lVert W_j \rVert_F^2

    With one target the data term is scikit-learn's half mean squared error; with several
    it sums them over the targets (the function whose gradient scikit-learn follows), so
    ``hidden_layer_sizes=()`` is exactly ``Ridge(alpha=alpha)``.

    Parameters
    ----------
    hidden_layer_sizes, activation, module, module_kwargs, solver, alpha, alpha_scale, penalty, l1_ratio, \
dropout, batch_size, learning_rate, learning_rate_init, power_t, momentum, nesterovs_momentum, beta_1, beta_2, \
epsilon, max_iter, tol, n_iter_no_change, early_stopping, validation_fraction, max_fun, shuffle, random_state, \
device, dtype, n_jobs, verbose, warm_start
        As in :class:`NetRegClassifier`; early stopping watches the validation R^2.
    loss : {"squared_error", "poisson"}, default="squared_error"
        The data loss, as ``MLPRegressor``'s: half the squared error, or half the Poisson
        deviance ``y log(y / mu) - y + mu`` of the mean ``mu = exp(output)`` (a log link:
        ``out_activation_`` is ``"exp"`` and ``predict`` returns ``mu``), for counts or
        rates ``y >= 0``. Keyword-only here (``MLPRegressor`` takes it first by position).
    transformer : transformer or None, default=None
        A transformer of the targets, as scikit-learn's ``TransformedTargetRegressor``
        takes it: fitted on ``y`` by ``fit`` (on the first call of ``partial_fit``), the
        network trained on ``transformer_.transform(y)``, and predictions mapped back with
        ``inverse_transform``, so they come in the target's units. ``StandardScaler()``
        puts a target near the unit scale the defaults are made for
        (:mod:`netreg.estimators.target_scale`; the command line's default). The loss, the
        history and the penalty are those of the transformed targets.

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_, \
best_validation_score_, n_iter_, t_, history_, status_, module_, n_layers_, n_outputs_, \
n_features_in_, input_shape_, feature_names_in_, alpha_, alpha_history_, log_evidence_
        As in :class:`NetRegClassifier` (validation scores are R^2; with ``alpha="auto"`` and a
        ``transformer``, the evidence is that of the transformed targets, on which the
        network trains).
    noise_variance_ : float
        With ``alpha="auto"`` only: the noise variance :math:`s^2` learned with alpha
        (MacKay's :math:`2E / (mq - \gamma)`, of the transformed targets); alpha is the prior
        precision times :math:`s^2` (:mod:`netreg.evidence.fixed_point`).
    out_activation_ : str
        ``"identity"``, or ``"exp"`` with ``loss="poisson"``.
    transformer_ : transformer
        The fitted ``transformer``, when one was given.

    See Also
    --------
    NetRegClassifier : The same for classification.
    sklearn.neural_network.MLPRegressor : The scikit-learn estimator this replaces.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from netreg import NetRegRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> linear = NetRegRegressor((), alpha=0.1, solver="lbfgs", dtype="float64", random_state=0).fit(X, y)
    >>> ridge = Ridge(alpha=0.1).fit(X, y)  # the same objective, solved exactly
    >>> bool(np.allclose(linear.coefs_[0].ravel(), ridge.coef_, rtol=1e-3, atol=0.1))
    True

    A target in the hundreds, standardized for training, predicted in its own units:

    >>> from sklearn.preprocessing import StandardScaler
    >>> model = NetRegRegressor((16,), solver="lbfgs", transformer=StandardScaler(), random_state=0)
    >>> bool(model.fit(X, y).predict(X).mean() > 100)
    True
    """

    _parameter_constraints: dict = constraints(REGRESSOR_PARAMS)

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        module: Callable[..., nn.Module] | None = None,
        module_kwargs: dict[str, Any] | None = None,
        solver: str = "adam",
        alpha: float | str | dict[str, float] = 0.0001,
        auto_alpha: str = "layerwise",
        alpha_scale: str = "n_samples",
        penalty: str = "l2",
        l1_ratio: float = 0.5,
        dropout: float = 0.0,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        max_iter: int = 200,
        tol: float = 1e-4,
        n_iter_no_change: int | float = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        max_fun: int = 15000,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        device: str = "auto",
        dtype: str = "float32",
        n_jobs: int | None = None,
        verbose: bool | int = False,
        warm_start: bool = False,
        loss: str = "squared_error",
        transformer: Any = None,
    ) -> None:
        store_parameters(self, locals())

    _y_kind: dict[str, Any] = {"y_numeric": True}

    def _targets(self, y: np.ndarray, *, reset: bool, classes: Any) -> tuple[np.ndarray, str, None, int, Any]:
        """Targets as an ``(n, q)`` float array (transformed, with a ``transformer``), the task,
        no classes, ``y.ndim`` of the first fit and the fitted transformer."""
        targets = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if reset:
            transformer = None if self.transformer is None else clone(self.transformer).fit(targets)
            warn_target_scale(self, targets)
        else:
            transformer = getattr(self, "transformer_", None)
        y_ndim = y.ndim if reset else self._y_ndim
        return (
            _transformed(targets, transformer),
            "poisson" if self.loss == "poisson" else "regression",
            None,
            y_ndim,
            transformer,
        )

    def _validation_targets(self, y_val: np.ndarray, request: Any) -> np.ndarray:
        """``y_val`` as the fit's targets: as many columns as ``y``, through the same transformer."""
        targets = np.asarray(y_val, dtype=np.float64).reshape(len(y_val), -1)
        if targets.shape[1] != request.targets.shape[1]:
            raise bad_data(f"y_val has {targets.shape[1]} target columns", f"{request.targets.shape[1]}, as y has")
        return _transformed(targets, request.target_transformer)

    def _check_fit(self, request: TrainingRequest) -> None:
        """Warn of a model that predicts its training rows worse than their mean (:mod:`netreg.estimators.target_scale`)."""
        # The rows as validated for training: predict would check them again (and their feature names).
        predictions = self._in_units(self._forward(request.X))
        warn_below_constant(self, request.y, predictions, request.sample_weight)

    @available_if(is_stochastic)
    def partial_fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state.

        ``X_val``, ``y_val`` and ``sample_weight_val`` are refused: a validation set is
        :meth:`fit`'s.

        Returns
        -------
        self
        """
        return self._partial_fit(X, y, sample_weight, validation=(X_val, y_val, sample_weight_val))

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs), in the target's units
        (with ``loss="poisson"``, the means ``exp(output)``)."""
        return self._in_units(self._raw_output(X))

    def _in_units(self, raw: Any) -> np.ndarray:
        output = raw.numpy()
        if self.out_activation_ == "exp":
            output = np.exp(output)
        if getattr(self, "transformer_", None) is not None:
            output = np.asarray(self.transformer_.inverse_transform(output), dtype=np.float64)
        return output.ravel() if self._y_ndim == 1 else output


def _transformed(targets: np.ndarray, transformer: Any) -> np.ndarray:
    """``targets`` through a fitted ``transformer`` (as they are without one), ``(n, q)``."""
    if transformer is None:
        return targets
    return np.asarray(transformer.transform(targets), dtype=np.float64).reshape(len(targets), -1)
