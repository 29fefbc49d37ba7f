"""fit(X_val=, y_val=, sample_weight_val=): a validation set of the user's own, as
HistGradientBoostingClassifier.fit takes it; its scores checked by scoring the model by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressor
from netreg.estimators.fitted import fitted_state
from netreg.io import load_model, save_model

NET = {"hidden_layer_sizes": (16,), "random_state": 0, "dtype": "float64", "device": "cpu", "batch_size": 50}


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits[0][:400] / 16, digits[1][:400]
    return X[:300], y[:300], X[300:], y[300:]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short fits, on purpose
        yield


def test_early_stopping_stops_on_the_given_rows_and_keeps_the_best_epoch(data):
    X, y, X_val, y_val = data
    model = NetRegClassifier(early_stopping=True, n_iter_no_change=3, max_iter=60, **NET)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    scores = model.validation_scores_
    assert model.status_ == "early_stopped" and len(scores) == model.n_iter_ < 60
    # The model keeps the best epoch's weights: its score on the given rows is that epoch's.
    assert model.best_validation_score_ == max(scores)
    assert model.score(X_val, y_val) == pytest.approx(max(scores), abs=1e-12)
    assert model.best_loss_ is None and model.t_ == model.n_iter_ * len(y)  # trained on X's rows only


def test_without_early_stopping_the_given_rows_are_scored_every_epoch(data, diabetes):
    X, y, X_val, y_val = data
    weights = np.linspace(0.5, 2.0, len(y_val))
    model = NetRegClassifier(max_iter=5, **NET).fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=weights)
    assert model.n_iter_ == len(model.validation_scores_) == 5 and model.status_ == "max_iter"
    assert model.best_loss_ == min(model.loss_curve_)  # training watched its loss, as without X_val
    # The last epoch's score is the final model's, weighted by sample_weight_val (scikit-learn's MLP weighs its
    # validation score by the rows' sample weights).
    by_hand = accuracy_score(y_val, model.predict(X_val), sample_weight=weights)
    assert model.validation_scores_[-1] == pytest.approx(by_hand, abs=1e-12)
    assert model.best_validation_score_ == max(model.validation_scores_)
    # Regression: R^2 of the given rows, each epoch; with lbfgs, each iteration.
    Xr, yr = diabetes[0] / diabetes[0].std(0), diabetes[1] / 100
    regressor = NetRegRegressor((), solver="lbfgs", max_iter=7, random_state=0, dtype="float64", device="cpu")
    regressor.fit(Xr[:300], yr[:300], X_val=Xr[300:], y_val=yr[300:])
    assert len(regressor.validation_scores_) == regressor.n_iter_
    assert regressor.validation_scores_[-1] == pytest.approx(r2_score(yr[300:], regressor.predict(Xr[300:])), abs=1e-9)


def test_the_given_rows_are_the_split_netreg_would_draw_the_same_fit(data):
    X, y, _, _ = data
    params = dict(early_stopping=True, n_iter_no_change=3, max_iter=40, **NET)
    own = NetRegClassifier(**params).fit(X, y)
    train, validation = NetRegClassifier(**params).training_request(X, y).holdout(np.arange(len(y)))
    given = NetRegClassifier(**params).fit(X[train], y[train], X_val=X[validation], y_val=y[validation])
    assert given.validation_scores_ == pytest.approx(own.validation_scores_, abs=1e-12)
    assert given.loss_curve_ == pytest.approx(own.loss_curve_, rel=1e-9)
    for ours, theirs in zip(given.coefs_, own.coefs_):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_sparse_inputs_and_a_saved_model_keep_the_validation_scores(data, tmp_path):
    X, y, X_val, y_val = data
    dense = NetRegClassifier(max_iter=3, **NET).fit(X, y, X_val=X_val, y_val=y_val)
    sparse = NetRegClassifier(max_iter=3, **NET).fit(sp.csr_matrix(X), y, X_val=sp.csr_matrix(X_val), y_val=y_val)
    assert sparse.validation_scores_ == pytest.approx(dense.validation_scores_, abs=1e-12)
    save_model(dense, tmp_path / "model")
    loaded = load_model(tmp_path / "model").estimator
    assert loaded.validation_scores_ == dense.validation_scores_ and loaded.best_loss_ == dense.best_loss_
    assert fitted_state(loaded).validated is False


@pytest.mark.parametrize(
    "kwargs, message, error",
    [
        ({"X_val": "X"}, "X_val is provided, but y_val was not provided.", netreg.InvalidParameterError),
        ({"y_val": "y"}, "y_val is provided, but X_val was not provided.", netreg.InvalidParameterError),
        (
            {"sample_weight_val": "w"},
            "sample_weight_val is provided, but X_val and y_val were not provided.",
            netreg.InvalidParameterError,
        ),
        ({"X_val": "X3", "y_val": "y"}, "X_val has 3 features; expected 64 features, as X has.", netreg.DataError),
        (
            {"X_val": "X", "y_val": "y_unseen"},
            "y_val has classes that y does not have: [10, 11]; expected classes among those of y, "
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]. The network has no output for a class it did not train on.",
            netreg.DataError,
        ),
        (
            {"X_val": "X", "y_val": "y_multilabel"},
            "y_val is 'multilabel-indicator'; expected class labels, as y is.",
            netreg.DataError,
        ),
    ],
)
def test_a_validation_set_that_does_not_match_is_refused(data, refused, kwargs, message, error):
    X, y, X_val, y_val = data
    values = {
        "X": X_val,
        "y": y_val,
        "w": np.ones(len(y_val)),
        "X3": X_val[:, :3],
        "y_unseen": np.where(np.arange(len(y_val)) < 2, 10 + np.arange(len(y_val)), y_val),
        "y_multilabel": np.eye(2, dtype=int)[np.arange(len(y_val)) % 2],
    }
    with refused(message, error):
        NetRegClassifier(max_iter=2, **NET).fit(X, y, **{key: values[name] for key, name in kwargs.items()})


def test_regressor_refusals_and_partial_fit(diabetes, refused):
    X, y = diabetes
    with refused("y_val has 2 target columns; expected 1, as y has."):
        NetRegRegressor((), max_iter=2).fit(X[:300], y[:300], X_val=X[300:], y_val=np.c_[y[300:], y[300:]])
    message = (
        "partial_fit does not support X_val, y_val or sample_weight_val: one epoch on a stream has no validation set "
        "to record or stop on. Pass them to fit."
    )
    with refused(message, netreg.InvalidParameterError):
        NetRegRegressor(()).partial_fit(X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    with refused(message, netreg.InvalidParameterError):
        NetRegClassifier(()).partial_fit(X[:300], y[:300] > 150, classes=[False, True], y_val=y[300:] > 150)


def test_the_cv_estimators_take_no_validation_set(data):
    # Their folds are the validation sets; GridSearchCV would hand the same X_val to every fold.
    X, y, X_val, y_val = data
    with pytest.raises(TypeError, match="unexpected keyword argument 'X_val'"):
        NetRegClassifierCV(cv=2).fit(X, y, X_val=X_val, y_val=y_val)


def test_a_warm_start_without_a_validation_set_records_none_and_frames_are_checked_by_name(data):
    import pandas as pd

    X, y, X_val, y_val = data
    model = NetRegClassifier(max_iter=2, warm_start=True, **NET).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(model.validation_scores_) == 2
    model.fit(X, y)  # the last fit scored no validation set, as scikit-learn's MLP without early stopping
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    names = [f"pixel {i}" for i in range(X.shape[1])]
    frame, frame_val = pd.DataFrame(X, columns=names), pd.DataFrame(X_val, columns=names)
    fitted = NetRegClassifier(max_iter=2, **NET).fit(frame, y, X_val=frame_val, y_val=y_val)
    assert fitted.validation_scores_[-1] == pytest.approx(fitted.score(frame_val, y_val), abs=1e-12)
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        NetRegClassifier(max_iter=2, **NET).fit(frame, y, X_val=frame_val[names[::-1]], y_val=y_val)
