"""What code written for scikit-learn's MLPs meets: parameters, errors, inputs and outputs.

Each property is checked against scikit-learn's MLP on the same call where one exists: the
same parameters and defaults, the same error messages word for word, the same warnings,
the same shapes and types out.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressor
from netreg.estimators import base

F64 = {"dtype": "float64", "device": "cpu"}
EXTRA = {
    "alpha_scale": "n_samples",
    "auto_alpha": "layerwise",
    "penalty": "l2",
    "l1_ratio": 0.5,
    "dropout": 0.0,
    "device": "auto",
    "dtype": "float32",
    "n_jobs": None,
    "module": None,
    "module_kwargs": None,
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _message(call):
    with pytest.raises(ValueError) as caught:
        call()
    # A set of options prints in an order that depends on the process's hash seed.
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m[1].split(", "))) + "}", str(caught.value))


@pytest.mark.parametrize(
    "ours, theirs, extra",
    [
        # class_weight: scikit-learn's linear classifiers' (LogisticRegression, SGDClassifier).
        (NetRegClassifier, MLPClassifier, {**EXTRA, "class_weight": None}),
        (NetRegRegressor, MLPRegressor, {**EXTRA, "transformer": None}),
    ],
)
def test_every_scikit_learn_parameter_with_its_default_and_only_netregs_own_besides(ours, theirs, extra):
    assert ours().get_params() == {**theirs().get_params(), **extra}


@pytest.mark.parametrize(
    "params",
    [
        {"learning_rate": "optimal"},
        {"power_t": -0.5},
        {"n_iter_no_change": 0},
        {"n_iter_no_change": 2.5},
        {"validation_fraction": 1.0},
        {"solver": "rmsprop"},
    ],
)
def test_new_parameters_are_checked_in_fit_with_scikit_learns_words(digits, params):
    X, y = digits[0][:40], digits[1][:40]
    theirs = _message(lambda: MLPClassifier(**params).fit(X, y))
    ours = _message(lambda: NetRegClassifier(**params).fit(X, y))
    assert ours == theirs.replace("MLPClassifier", "NetRegClassifier")
    theirs = _message(lambda: MLPRegressor(loss="huber").fit(X, y))
    assert _message(lambda: NetRegRegressor(loss="huber").fit(X, y)) == theirs.replace(
        "MLPRegressor", "NetRegRegressor"
    )


def test_partial_fit_refuses_classes_as_scikit_learn_does_word_for_word(digits):
    X, y = digits[0][:60], digits[1][:60] % 3
    ours, theirs = NetRegClassifier((4,)), MLPClassifier((4,))
    assert _message(lambda: ours.partial_fit(X, y)) == _message(lambda: theirs.partial_fit(X, y))
    assert _message(lambda: ours.partial_fit(X, y, classes=[0, 1])) == _message(
        lambda: theirs.partial_fit(X, y, classes=[0, 1])
    )  # y holds a class the first call was not told about
    assert not hasattr(ours, "classes_")  # refused before anything is set (scikit-learn keeps classes_=[0, 1])
    ours, theirs = NetRegClassifier((4,)), MLPClassifier((4,))
    for model in (ours, theirs):
        model.partial_fit(X, y, classes=[0, 1, 2, 3])  # classes y does not hold yet are fine
    assert _message(lambda: ours.partial_fit(X, y, classes=[0, 1, 2])) == _message(
        lambda: theirs.partial_fit(X, y, classes=[0, 1, 2])
    )
    assert _message(lambda: ours.partial_fit(X, y + 5)) == _message(lambda: theirs.partial_fit(X, y + 5))
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape == (60, 4)


def test_a_warm_start_on_other_classes_is_refused_as_scikit_learn_does(digits):
    X, y = digits[0][:60], digits[1][:60] % 3
    ours, theirs = NetRegClassifier((4,), warm_start=True).fit(X, y), MLPClassifier((4,), warm_start=True).fit(X, y)
    other = np.where(y == 2, 7, y)
    assert _message(lambda: ours.fit(X, other)) == _message(lambda: theirs.fit(X, other))


def test_early_stopping_splits_stratified_and_refuses_a_split_too_small(digits, diabetes, refused):
    X, y = digits[0][:200], digits[1][:200]
    request = NetRegClassifier(early_stopping=True, validation_fraction=0.25, random_state=0).training_request(X, y)
    train, validation = request.holdout(np.arange(200))
    assert len(validation) == 50 and len(np.intersect1d(train, validation)) == 0
    counts = np.bincount(y[validation], minlength=10)
    assert abs(counts - 0.25 * np.bincount(y, minlength=10)).max() <= 1  # each class in proportion
    fix = "Increase validation_fraction or the size of your dataset, or set early_stopping=False."
    with refused(
        "The validation set is too small: validation_fraction=0.1 of 60 training rows holds out 6 rows, fewer than the "
        f"10 classes (the split is stratified: each class needs a row on each side). {fix}"
    ):
        NetRegClassifier(early_stopping=True).fit(digits[0][:60], digits[1][:60])
    with refused(
        "The training set is too small: validation_fraction=0.9 of 20 training rows holds out 18 rows, leaving 2 to "
        f"train on, fewer than the 10 classes (the split is stratified: each class needs a row on each side). {fix}"
    ):
        NetRegClassifier(early_stopping=True, validation_fraction=0.9).fit(X[:20], np.arange(20) % 10)
    with refused(
        "A class has only 1 training row (class index 2): early stopping's stratified split needs at least 2 rows "
        "of each class, one on each side. Add rows of that class, or set early_stopping=False."
    ):
        NetRegClassifier(early_stopping=True, validation_fraction=0.5).fit(X[:21], np.r_[np.arange(20) % 2, 2])
    with refused(
        f"The validation set is too small: validation_fraction=0 of 442 training rows holds out 0 rows; early "
        f"stopping needs at least 2. {fix}"
    ):
        NetRegRegressor(early_stopping=True, validation_fraction=0.0).fit(*diabetes)
    NetRegRegressor(validation_fraction=0.0, max_iter=2).fit(*diabetes)  # only early stopping reads it


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sparse_x_trains_and_predicts_as_the_dense_x_it_holds(digits, solver, monkeypatch):
    X, y = digits[0][:300], digits[1][:300]
    dense = NetRegClassifier((8,), solver=solver, max_iter=5, random_state=0, **F64).fit(X, y)
    monkeypatch.setattr(base, "_PREDICT_CHUNK", 64)  # predictions made dense chunk by chunk
    for matrix in (sp.csr_matrix(X), sp.csc_array(X)):
        model = NetRegClassifier((8,), solver=solver, max_iter=5, random_state=0, **F64).fit(matrix, y)
        for a, b in zip(model.coefs_, dense.coefs_):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(model.predict_proba(matrix), dense.predict_proba(X))
    assert (
        NetRegClassifier().__sklearn_tags__().input_tags.sparse
        and NetRegRegressor().__sklearn_tags__().input_tags.sparse
    )


def test_a_pipeline_of_one_hot_columns_trains_on_sparse_rows_as_with_mlp_regressor():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"town": rng.choice([f"t{i}" for i in range(40)], 400), "size": rng.integers(1, 5, 400)})
    y = table["size"] + (table["town"].str[1:].astype(int) % 3) + rng.normal(0, 0.1, 400)
    encode = ColumnTransformer([("one_hot", OneHotEncoder(), ["town", "size"])])
    assert sp.issparse(encode.fit_transform(table))
    ours = make_pipeline(encode, NetRegRegressor((16,), solver="lbfgs", random_state=0)).fit(table, y)
    theirs = make_pipeline(encode, MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0)).fit(table, y)
    assert ours.score(table, y) > 0.95 and theirs.score(table, y) > 0.95


def test_the_cv_estimator_takes_sparse_x_and_finds_what_dense_x_gives(digits):
    X, y = digits[0][:200], digits[1][:200]
    settings = {"alphas": [0.01, 1.0], "cv": 2, "max_iter": 3, "random_state": 0, **F64}
    dense = NetRegClassifierCV((8,), **settings).fit(X, y)
    sparse = NetRegClassifierCV((8,), **settings).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.cv_results_["mean_test_score"], dense.cv_results_["mean_test_score"], rtol=1e-12)
    np.testing.assert_array_equal(sparse.predict(sp.csr_matrix(X)), dense.predict(X))


def test_multilabel_y_in_fit_partial_fit_predict_and_predict_proba_as_scikit_learn(digits):
    X, y = digits[0][:200], digits[1][:200]
    Y = np.column_stack([y % 2, y > 4, y == 0]).astype(int)
    ours, theirs = NetRegClassifier((8,), max_iter=5), MLPClassifier((8,), max_iter=5)
    for model in (ours, theirs):
        model.partial_fit(X[:100], Y[:100], classes=[0, 1, 2]).partial_fit(X[100:], Y[100:])
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    for method in ("predict", "predict_proba"):
        a, b = getattr(ours, method)(X), getattr(theirs, method)(X)
        assert a.shape == b.shape == (200, 3) and a.dtype.kind == b.dtype.kind
    assert set(np.unique(ours.predict(X))) <= {0, 1} and ((ours.predict_proba(X) > 0.5) == ours.predict(X)).all()
    with pytest.raises(netreg.DataError, match="partial_fit continues the first fit's kind of targets"):
        ours.partial_fit(X, y % 2)
    fitted = NetRegClassifier((8,), max_iter=5).fit(X, Y)
    assert fitted.out_activation_ == "logistic" and fitted.predict(X).shape == (200, 3)


def test_feature_names_are_kept_and_checked_with_scikit_learns_warnings(digits):
    frame = pd.DataFrame(digits[0][:50], columns=[f"pixel{i}" for i in range(64)])
    y = digits[1][:50]
    for ours, theirs in (
        (NetRegClassifier((4,), max_iter=2).fit(frame, y), MLPClassifier((4,), max_iter=2).fit(frame, y)),
        (NetRegClassifier((4,), max_iter=2).fit(frame.values, y), MLPClassifier((4,), max_iter=2).fit(frame.values, y)),
    ):
        other = frame.values if hasattr(ours, "feature_names_in_") else frame
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            ours.predict(other)
            theirs.predict(other)
        said = [str(w.message) for w in caught if "feature names" in str(w.message)]
        assert len(said) == 2 and said[0] == said[1].replace("MLPClassifier", "NetRegClassifier"), said
    fitted = NetRegClassifier((4,), max_iter=2).fit(frame, y)
    renamed = frame.rename(columns={"pixel0": "first"})
    assert _message(lambda: fitted.predict(renamed)) == _message(
        lambda: MLPClassifier((4,), max_iter=2).fit(frame, y).predict(renamed)
    )
    np.testing.assert_array_equal(fitted.feature_names_in_, frame.columns)


def test_verbose_prints_scikit_learns_lines_with_netregs_facts_after_them(digits, capsys):
    X, y = digits[0][:300], digits[1][:300]
    NetRegClassifier((8,), solver="sgd", learning_rate="invscaling", max_iter=3, random_state=0, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    pattern = r"Iteration (\d), loss = \d+\.\d{8} \(data loss \d+\.\d{8}, penalty \S+, learning rate \S+\)"
    assert [re.fullmatch(pattern, line)[1] for line in lines] == ["1", "2", "3"]
    NetRegClassifier((8,), early_stopping=True, tol=0.5, n_iter_no_change=1, random_state=0, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Iteration 1, loss = \d+\.\d{8} \(data loss \d+\.\d{8}, penalty \S+\)", lines[0])
    assert re.fullmatch(r"Validation score: \d\.\d{6}", lines[1])  # scikit-learn's line, as it prints it
    assert len(lines) == 3 * 2 + 1 and lines[-1] == (
        "The validation score did not improve by more than tol=0.5 for 2 consecutive epochs. Stopping."
    )
