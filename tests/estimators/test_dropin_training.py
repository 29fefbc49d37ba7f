"""Training as scikit-learn's MLPs train, checked against them from the same starting weights.

With ``alpha_scale="batch"`` (scikit-learn's objective for ``sgd`` and ``adam``), float64, the
same initial weights (set into both after a one-epoch warm-up fit, as
tests/estimators/test_estimators.py does) and ``shuffle=False`` (the same data order), netreg
and scikit-learn take the same steps: the weights, ``loss_curve_``, ``n_iter_``, ``t_``, the
step sizes of the schedules and the warnings agree to the last bits of float64.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from netreg import NetRegClassifier, NetRegRegressor, conventions
from netreg.nets import MLP

F64 = {"dtype": "float64", "device": "cpu"}
SAME = {"rtol": 1e-11, "atol": 1e-13}


def _data(kind, digits, diabetes):
    if kind == "regressor":
        return diabetes
    X, y = digits[0][:300], digits[1][:300]
    if kind == "binary":
        return X, np.where(y > 4, "high", "low")
    if kind == "multilabel":
        return X, np.column_stack([y % 2, y > 4, y == 0]).astype(int)
    return X, y


def _pair(kind, hidden=(6,), **params):
    """Our estimator (scikit-learn's objective, float64) and scikit-learn's, same settings."""
    params = {"shuffle": False, "random_state": 0, **params}
    if kind == "regressor":
        return NetRegRegressor(hidden, alpha_scale="batch", **F64, **params), MLPRegressor(
            hidden_layer_sizes=hidden, **params
        )
    return NetRegClassifier(hidden, alpha_scale="batch", **F64, **params), MLPClassifier(hidden, **params)


def _start_both(ours, theirs, X, y, sample_weight=None):
    """Fit both for one epoch to set them up, then give both the same weights and counters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.set_params(max_iter=1, warm_start=True).fit(X, y, sample_weight=sample_weight)
        theirs.set_params(max_iter=1, warm_start=True).fit(X, y, sample_weight=sample_weight)
    layers = [layer.shape for layer in theirs.coefs_]
    init = MLP(layers[0][0], tuple(shape[1] for shape in layers[:-1]), layers[-1][1]).double()
    ours.module_.load_state_dict(init.state_dict())
    theirs.coefs_ = [layer.weight.detach().numpy().T.copy() for layer in init.layers]
    theirs.intercepts_ = [layer.bias.detach().numpy().copy() for layer in init.layers]
    # Forget the warm-up: the curves, counts and best loss start now in both.
    ours.history_, ours.t_ = [], 0
    theirs.loss_curve_, theirs.t_, theirs.best_loss_, theirs._no_improvement_count = [], 0, np.inf, 0


def _assert_same_weights(ours, theirs):
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, **SAME)


def _fit_both(ours, theirs, X, y, **fit_params):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ours.fit(X, y, **fit_params)
        ours_warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        caught.clear()
        theirs.fit(X, y, **fit_params)
        theirs_warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    return len(ours_warned), len(theirs_warned)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regressor"])
def test_alpha_scale_batch_takes_scikit_learns_steps_for_an_epoch(digits, diabetes, solver, kind):
    # Batches of 64 leave a smaller last batch, whose penalty scikit-learn divides by its size.
    X, y = _data(kind, digits, diabetes)
    ours, theirs = _pair(kind, solver=solver, alpha=3.0, batch_size=64, learning_rate_init=0.01)
    _start_both(ours, theirs, X, y)
    _fit_both(ours, theirs, X, y)
    _assert_same_weights(ours, theirs)
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-12)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12) and ours.t_ == theirs.t_


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_alpha_scale_batch_with_sample_weights_takes_scikit_learns_steps(digits, diabetes, solver):
    X, y = _data("multiclass", digits, diabetes)
    weights = np.random.default_rng(0).integers(0, 4, len(y)).astype(float)
    ours, theirs = _pair("multiclass", solver=solver, alpha=3.0, batch_size=64, learning_rate_init=0.01)
    _start_both(ours, theirs, X, y, weights)
    _fit_both(ours, theirs, X, y, sample_weight=weights)
    _assert_same_weights(ours, theirs)


def test_netregs_own_alpha_is_scikit_learns_times_the_batch_over_m(digits):
    # The default: alpha / m at every step. With batches that divide m, that is scikit-learn's
    # objective at alpha * b / m (netreg.conventions.to_sklearn_alpha).
    X, y = digits[0][:256], digits[1][:256]
    ours = NetRegClassifier((6,), solver="sgd", alpha=8.0, batch_size=64, shuffle=False, **F64)
    _, theirs = _pair("multiclass", solver="sgd", batch_size=64)
    theirs.set_params(alpha=conventions.to_sklearn_alpha(8.0, solver="sgd", n_samples=256, batch_size=64))
    _start_both(ours, theirs, X, y)
    _fit_both(ours, theirs, X, y)
    _assert_same_weights(ours, theirs)
    assert theirs.alpha == 2.0


@pytest.mark.parametrize(
    "schedule, extra",
    [
        ("constant", {}),
        ("invscaling", {"power_t": 0.3}),
        ("adaptive", {"tol": 0.05, "n_iter_no_change": 2}),  # stalls often: the rate falls below 1e-6, it stops
    ],
)
def test_learning_rate_schedules_follow_scikit_learn_epoch_for_epoch(digits, diabetes, schedule, extra):
    X, y = _data("multiclass", digits, diabetes)
    ours, theirs = _pair(
        "multiclass", solver="sgd", alpha=1.0, batch_size=64, learning_rate_init=0.05, learning_rate=schedule, **extra
    )
    _start_both(ours, theirs, X, y)
    warned = _fit_both(ours.set_params(max_iter=40), theirs.set_params(max_iter=40), X, y)
    _assert_same_weights(ours, theirs)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_ and warned[0] == warned[1]
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-12)
    if schedule == "constant":
        assert "learning_rate" not in ours.history_[-1]
    else:
        assert ours._optimizer_state["learning_rate"] == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)
    if schedule == "adaptive":
        assert ours.n_iter_ < 40 and ours.status_ == "converged" and ours._optimizer_state["learning_rate"] <= 1e-6


@pytest.mark.parametrize("kind", ["multiclass", "regressor"])
def test_training_stops_at_scikit_learns_epoch_and_warns_when_it_does(digits, diabetes, kind):
    X, y = _data(kind, digits, diabetes)
    ours, theirs = _pair(kind, solver="adam", alpha=1.0, batch_size=64, learning_rate_init=0.01, tol=1e-3)
    _start_both(ours, theirs, X, y)
    warned = _fit_both(
        ours.set_params(max_iter=500, n_iter_no_change=3), theirs.set_params(max_iter=500, n_iter_no_change=3), X, y
    )
    assert ours.n_iter_ == theirs.n_iter_ < 500 and warned == (0, 0) and ours.status_ == "converged"
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-12)
    # Out of epochs before converging: both warn, once.
    _start_both(ours, theirs, X, y)
    assert _fit_both(ours.set_params(max_iter=4), theirs.set_params(max_iter=4), X, y) == (1, 1)
    # Never stop on stalling: every epoch is trained, and both warn.
    _start_both(ours, theirs, X, y)
    never = {"max_iter": 30, "tol": 10.0, "n_iter_no_change": np.inf}
    assert _fit_both(ours.set_params(**never), theirs.set_params(**never), X, y) == (1, 1)
    assert ours.n_iter_ == theirs.n_iter_ == 30


def test_warm_starts_and_partial_fit_continue_as_scikit_learns(digits, diabetes):
    X, y = _data("multiclass", digits, diabetes)
    settings = {"solver": "sgd", "alpha": 1.0, "batch_size": 64, "learning_rate": "invscaling", "power_t": 0.3}
    ours, theirs = _pair("multiclass", learning_rate_init=0.05, **settings)
    _start_both(ours, theirs, X, y)
    for _ in range(2):  # each warm start runs out of epochs: each warns, in both
        assert _fit_both(ours.set_params(max_iter=3), theirs.set_params(max_iter=3), X, y) == (1, 1)
    _assert_same_weights(ours, theirs)
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-12) and len(ours.loss_curve_) == 6
    assert ours.n_iter_ == theirs.n_iter_ == 3 and ours.t_ == theirs.t_ == 6 * len(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # partial_fit never warns
        for start in (0, 100, 200):
            ours.partial_fit(X[start : start + 100], y[start : start + 100])
            theirs.partial_fit(X[start : start + 100], y[start : start + 100])
    _assert_same_weights(ours, theirs)
    assert ours.n_iter_ == theirs.n_iter_ == 1 and ours.t_ == theirs.t_ == 6 * len(y) + 300
    assert ours._optimizer_state["learning_rate"] == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)


def test_poisson_loss_minimizes_scikit_learns_objective(diabetes):
    X = diabetes[0]
    y = np.random.default_rng(0).poisson(np.exp(0.5 * X[:, 2] + 0.3 * X[:, 8] + 1.0)).astype(float)
    for solver in ("lbfgs", "sgd"):
        ours, theirs = _pair(
            "regressor", solver=solver, loss="poisson", alpha=1.0, batch_size=64, learning_rate_init=0.01
        )
        _start_both(ours, theirs, X, y)
        _fit_both(ours.set_params(max_iter=20), theirs.set_params(max_iter=20), X, y)
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-7)
    assert ours.out_activation_ == theirs.out_activation_ == "exp" and (ours.predict(X) > 0).all()


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regressor", "poisson"])
def test_fitted_attributes_mean_what_scikit_learns_mean(digits, diabetes, kind):
    X, y = _data("regressor" if kind == "poisson" else kind, digits, diabetes)
    extra = {"loss": "poisson"} if kind == "poisson" else {}
    y = np.abs(y) if kind == "poisson" else y
    ours, theirs = _pair("regressor" if kind == "poisson" else kind, hidden=(5, 4), max_iter=3, **extra)
    _fit_both(ours, theirs, X, y)
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_iter_", "t_", "n_features_in_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) and ours.best_loss_ == min(ours.loss_curve_)
    assert ours.validation_scores_ is theirs.validation_scores_ is None
    assert ours.best_validation_score_ is theirs.best_validation_score_ is None
    if kind != "regressor" and kind != "poisson":
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
        assert ours.predict(X).shape == theirs.predict(X).shape and ours.predict(X).dtype == theirs.predict(X).dtype
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        validated = [e.set_params(early_stopping=True, max_iter=5, warm_start=False).fit(X, y) for e in (ours, theirs)]
    for model in validated:
        assert model.best_loss_ is None and len(model.validation_scores_) == model.n_iter_ == 5
        assert model.best_validation_score_ == max(model.validation_scores_)
