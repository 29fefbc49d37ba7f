"""NetRegRegressor(transformer=...): the TransformedTargetRegressor convention, inside the estimator."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.preprocessing import PowerTransformer, StandardScaler

from netreg import NetRegRegressor, NetRegRegressorCV
from netreg.exceptions import DataWarning, ModelFormatError
from netreg.io.models import load_model, save_model

SETTINGS = {"hidden_layer_sizes": (8,), "max_iter": 30, "random_state": 0, "dtype": "float64", "device": "cpu"}


@pytest.fixture(scope="module")
def raw_diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y  # the target as it comes, in the hundreds


def test_the_transformer_inside_equals_scikit_learns_transformed_target_regressor(raw_diabetes):
    X, y = raw_diabetes
    ours = NetRegRegressor(transformer=StandardScaler(), **SETTINGS).fit(X, y)
    theirs = TransformedTargetRegressor(regressor=NetRegRegressor(**SETTINGS), transformer=StandardScaler()).fit(X, y)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X, y) == theirs.score(X, y)
    np.testing.assert_allclose(ours.transformer_.mean_, [y.mean()])
    assert 100 < ours.predict(X).mean() < 200  # in the target's units


def test_a_standardized_target_fits_where_the_raw_one_does_not(raw_diabetes):
    X, y = raw_diabetes
    raw = NetRegRegressor(**{**SETTINGS, "max_iter": 100}).fit(X, y)
    scaled = NetRegRegressor(transformer=StandardScaler(), **{**SETTINGS, "max_iter": 100}).fit(X, y)
    assert raw.score(X, y) < 0 < 0.4 < scaled.score(X, y)


def test_partial_fit_fits_the_transformer_on_the_first_call_only(raw_diabetes):
    X, y = raw_diabetes
    model = NetRegRegressor(transformer=StandardScaler(), **SETTINGS)
    model.partial_fit(X[:200], y[:200])
    mean = model.transformer_.mean_.copy()
    model.partial_fit(X[200:], y[200:])
    np.testing.assert_array_equal(model.transformer_.mean_, mean)
    np.testing.assert_allclose(mean, [y[:200].mean()])


def test_the_cv_regressor_sweeps_the_transformed_target(raw_diabetes):
    X, y = raw_diabetes
    grid = {"alphas": [0.1, 10.0, 1000.0], "cv": 3}
    ours = NetRegRegressorCV(transformer=StandardScaler(), **grid, **SETTINGS).fit(X, y)
    theirs = TransformedTargetRegressor(regressor=NetRegRegressorCV(**grid, **SETTINGS), transformer=StandardScaler())
    theirs.fit(X, y)
    np.testing.assert_array_equal(ours.cv_results_["mean_test_score"], theirs.regressor_.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.best_estimator_.transformer_.mean_ == pytest.approx(y.mean())


def test_a_saved_model_keeps_its_transformer(raw_diabetes, tmp_path):
    X, y = raw_diabetes
    model = NetRegRegressor(transformer=StandardScaler(), **SETTINGS).fit(X, y)
    loaded = load_model(save_model(model, tmp_path / "model")).estimator
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert isinstance(loaded.transformer, StandardScaler)
    np.testing.assert_array_equal(loaded.transformer_.scale_, model.transformer_.scale_)


def test_a_transformer_json_cannot_hold_is_refused_at_save(raw_diabetes, tmp_path):
    X, y = raw_diabetes
    model = NetRegRegressor(transformer=PowerTransformer(), **SETTINGS).fit(X, y)
    message = (
        "A model whose targets were transformed by PowerTransformer cannot be saved without pickle; expected "
        "transformer=None or StandardScaler(). Use pickle or joblib for other transformers."
    )
    with pytest.raises(ModelFormatError, match=f"^{re.escape(message)}$"):
        save_model(model, tmp_path / "model")
    assert not (tmp_path / "model").exists()


# ---------------------------------------------------------------------------------------
# A target trained in its own units, far from unit scale: a DataWarning that names the fix.

FIX = "Pass `transformer=StandardScaler()` to train on the standardized target and predict in its units."


def _data_warnings(action, category=DataWarning):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [str(w.message) for w in caught if issubclass(w.category, category) and w.category is not ConvergenceWarning]


@pytest.mark.parametrize("scale", [1e2, 1e5])
@pytest.mark.parametrize("cls", [NetRegRegressor, NetRegRegressorCV])
def test_a_target_far_from_unit_scale_is_warned_of_before_training(raw_diabetes, cls, scale):
    X, y = raw_diabetes
    target = (y - y.mean()) / y.std() * scale  # standardized, then scaled: house prices are 1e5
    settings = {**SETTINGS, "max_iter": 2} | ({"alphas": [0.1, 1.0], "cv": 2} if cls is NetRegRegressorCV else {})
    rms = np.sqrt(np.mean(target**2))
    expected = (
        f"NetRegRegressor: the target is far from unit scale (root mean square {rms:.3g}), out of reach of "
        f"solver='adam' at learning_rate_init=0.001: trained as it is, the network stays near a constant prediction. "
        f"{FIX}"
    )
    assert set(_data_warnings(lambda: cls(**settings).fit(X, target))) == {expected}


def test_a_fit_below_a_constant_prediction_on_its_training_rows_is_warned_of(raw_diabetes):
    # diabetes' target (root mean square 171) with L-BFGS, which the scale does not stop, cut short.
    X, y = raw_diabetes
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])  # its training rows are not checked again
    model = NetRegRegressor(**{**SETTINGS, "solver": "lbfgs", "max_iter": 1})
    notes = _data_warnings(lambda: model.fit(X, y), category=UserWarning)
    score = r2_score(y, model.predict(X))
    assert score < 0 and notes == [
        "NetRegRegressor: the fitted model predicts its own training rows worse than their mean does "
        f"(R^2 = {score:.3g}): its target is far from unit scale (root mean square {np.sqrt(np.mean(y**2)):.3g}). "
        f"{FIX} Or train longer (`max_iter`), or with another learning rate."
    ]


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_no_warning_on_a_standardized_target_or_with_a_transformer(raw_diabetes, solver):
    X, y = raw_diabetes
    settings = {**SETTINGS, "solver": solver, "max_iter": 1}  # cut short: below the constant, but at unit scale
    assert _data_warnings(lambda: NetRegRegressor(**settings).fit(X, (y - y.mean()) / y.std())) == []
    assert _data_warnings(lambda: NetRegRegressor(transformer=StandardScaler(), **settings).fit(X, y * 1e3)) == []
    assert _data_warnings(lambda: NetRegRegressor(loss="poisson", **settings).fit(X, y)) == []
