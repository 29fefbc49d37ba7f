"""class_weight, as scikit-learn defines it (compute_sample_weight), multiplied into sample_weight;
in a sweep computed from each fold's training rows, as GridSearchCV computes it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV
from netreg.io import load_model, save_model
from netreg.tuning import plan_sweep, train_chunk

NET = {"hidden_layer_sizes": (8,), "random_state": 0, "dtype": "float64", "device": "cpu", "max_iter": 8, "tol": 0.0}


@pytest.fixture(scope="module")
def data(digits):
    # Three classes of unequal sizes (digits 0-5 -> 0, 6-8 -> 1, 9 -> 2).
    X, y = digits[0][:240] / 16, digits[1][:240]
    return X, np.digitize(y, [6, 9])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short fits, on purpose
        yield


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("class_weight", ["balanced", {0: 0.5, 1: 2.0, 2: 5.0}, {2: 3.0}])
def test_class_weight_is_compute_sample_weight_multiplied_into_sample_weight(data, class_weight, weighted):
    X, y = data
    given = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    expected = compute_sample_weight(class_weight, y)
    if weighted:
        # "balanced" counts the classes by their rows' weights, as LogisticRegression does.
        classes = np.unique(y)
        counted = compute_class_weight(class_weight, classes=classes, y=y, sample_weight=given)
        expected = given * (counted[np.searchsorted(classes, y)] if class_weight == "balanced" else expected)
    model = NetRegClassifier(class_weight=class_weight, **NET)
    np.testing.assert_allclose(model.training_request(X, y, given).sample_weight, expected, rtol=1e-14)
    ours = model.fit(X, y, sample_weight=given)
    by_hand = NetRegClassifier(**NET).fit(X, y, sample_weight=expected)
    for a, b in zip(ours.coefs_ + ours.intercepts_, by_hand.coefs_ + by_hand.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert ours.loss_curve_ == pytest.approx(by_hand.loss_curve_, rel=1e-12)


def test_multilabel_takes_balanced_as_compute_sample_weight_and_refuses_a_dict(data, refused):
    X, y = data
    Y = np.c_[y == 0, y == 2, np.arange(len(y)) % 3 == 0].astype(int)
    request = NetRegClassifier(class_weight="balanced", **NET).training_request(X, Y)
    np.testing.assert_allclose(request.sample_weight, compute_sample_weight("balanced", Y), rtol=1e-15)
    with refused(
        "`class_weight` must be None or 'balanced' with a multilabel y (each label's two classes balanced, as "
        "compute_sample_weight balances multi-output targets). Got class_weight={0: 1.0, 1: 3.0}.",
        netreg.InvalidParameterError,
    ):
        NetRegClassifier(class_weight={0: 1.0, 1: 3.0}, **NET).fit(X, Y)


def test_refusals(data, refused):
    X, y = data
    with refused(
        "`class_weight` must be a dict whose keys are classes of y ([0, 1, 2]). Got class_weight={0: 1.0, 7: 2.0}. "
        "Remove [7].",
        netreg.InvalidParameterError,
    ):
        NetRegClassifier(class_weight={0: 1.0, 7: 2.0}, **NET).fit(X, y)
    with refused(
        "The 'class_weight' parameter of NetRegClassifier must be None, an instance of 'dict' or a str among "
        "{'balanced'}. Got 'even' instead.",
        netreg.InvalidParameterError,
    ):
        NetRegClassifier(class_weight="even").fit(X, y)
    # scikit-learn's words (SGDClassifier.partial_fit); a dict is a fixed weighting and streams.
    with refused(
        "class_weight 'balanced' is not supported for partial_fit. In order to use 'balanced' weights, use "
        "compute_class_weight('balanced', classes=classes, y=y). In place of y you can use a large enough sample of "
        "the full training set target to properly estimate the class frequency distributions. Pass the resulting "
        "weights as the class_weight parameter.",
        netreg.InvalidParameterError,
    ):
        NetRegClassifier(class_weight="balanced", **NET).partial_fit(X, y, classes=[0, 1, 2])
    weights = {0: 0.5, 1: 2.0, 2: 5.0}
    streamed = NetRegClassifier(class_weight=weights, shuffle=False, **NET).partial_fit(X, y, classes=[0, 1, 2])
    by_hand = NetRegClassifier(shuffle=False, **NET).partial_fit(
        X, y, sample_weight=compute_sample_weight(weights, y), classes=[0, 1, 2]
    )
    np.testing.assert_allclose(streamed.coefs_[0], by_hand.coefs_[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 0.5, 2: 4.0}, {"a": 2.0, "c": 0.5}])
def test_a_saved_model_keeps_class_weight_and_clone_get_params_see_it(data, tmp_path, class_weight):
    X, y = data
    if "a" in class_weight:
        y = np.array(["a", "b", "c"])[y]
    model = NetRegClassifier(class_weight=class_weight, **NET).fit(X, y)
    assert model.get_params()["class_weight"] == class_weight
    assert clone(model).class_weight == class_weight
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model").estimator
    assert loaded.class_weight == class_weight
    assert all(type(key) is type(given) for key, given in zip(loaded.class_weight, class_weight))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # The loaded model refits as the saved one was fitted.
    np.testing.assert_allclose(clone(loaded).fit(X, y).coefs_[0], model.coefs_[0], rtol=1e-12)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_each_fold_computes_its_class_weights_from_its_training_rows(data, early_stopping):
    X, y = data
    params = dict(NET, class_weight="balanced", early_stopping=early_stopping, batch_size=50)
    cv = StratifiedKFold(3)
    # A member of the sweep is the estimator fitted alone on its fold, weights computed from those rows.
    plan = plan_sweep(NetRegClassifier(**params), X, y, alphas=[0.01, 1.0], cv=cv)
    found = {}
    train_chunk(plan, plan.keys, on_member=lambda key, result, _: found.setdefault(key, result))
    train, test = list(cv.split(X, y))[1]
    alone = NetRegClassifier(**dict(params, alpha=1.0)).fit(X[train], y[train])
    assert found[(1, 1)].history[-1]["train_loss"] == pytest.approx(alone.history_[-1]["train_loss"], rel=1e-9)
    by_hand = NetRegClassifier(**dict(params, alpha=1.0, class_weight=None))
    by_hand.fit(X[train], y[train], sample_weight=compute_sample_weight("balanced", y[train]))
    assert alone.loss_curve_ == pytest.approx(by_hand.loss_curve_, rel=1e-12)
    # ... and the sweep's scores are GridSearchCV's, whose clones recompute class_weight in each fold.
    grid = [0.01, 1.0, 30.0]
    ours = NetRegClassifierCV(alphas=grid, cv=cv, scoring="accuracy", **params).fit(X, y)
    theirs = GridSearchCV(NetRegClassifier(**params), {"alpha": grid}, cv=cv, scoring="accuracy").fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "split2_test_score", "mean_test_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], rtol=1e-9, err_msg=key)
    assert ours.best_estimator_.class_weight == "balanced"


def test_halving_refuses_a_class_weight(data, refused):
    X, y = data
    with refused(
        "`search` must be 'grid' with a class_weight: halving trains every fold in one population, which has one "
        "weight per row, but each fold weighs its classes by its own rows. Got search='halving'.",
        netreg.InvalidParameterError,
    ):
        NetRegClassifierCV(alphas=[0.1, 1.0, 10.0], cv=2, search="halving", class_weight="balanced", **NET).fit(X, y)


def test_early_stoppings_split_carries_the_class_weights_and_a_given_validation_set_does_not(data):
    # scikit-learn's MLP weighs its validation score by the split rows' sample weights, and
    # HistGradientBoostingClassifier multiplies the class weights in before it splits; an X_val
    # given to fit is weighed by sample_weight_val alone, as HistGradientBoostingClassifier does.
    X, y = data
    model = NetRegClassifier(class_weight="balanced", early_stopping=True, validation_fraction=0.25, **NET)
    request = model.training_request(X, y)
    _, validation = request.holdout(np.arange(len(y)))
    model.fit(X, y)
    weights = request.sample_weight[validation]
    assert len(set(np.round(weights, 12))) == 3  # three classes, three weights
    by_hand = accuracy_score(y[validation], model.predict(X[validation]), sample_weight=weights)
    assert model.best_validation_score_ == pytest.approx(by_hand, abs=1e-12)
    given = NetRegClassifier(class_weight="balanced", **NET).fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    assert given.validation_scores_[-1] == pytest.approx(accuracy_score(y[200:], given.predict(X[200:])), abs=1e-12)
