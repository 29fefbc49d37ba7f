"""NetRegRegressor(transformer=...): the TransformedTargetRegressor convention, inside the estimator."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import PowerTransformer, StandardScaler

from netreg import NetRegRegressor, NetRegRegressorCV
from netreg.exceptions import ModelFormatError
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
