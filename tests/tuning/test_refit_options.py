"""``refit="folds"`` (the chosen alpha's fold models, averaged) and ``refit=False`` (as
``GridSearchCV``'s), against hand-made references."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressorCV
from netreg.estimators.folds import FoldsAverage
from netreg.io.models import load_model, save_model
from netreg.tuning import SweepStore

GRID = [0.01, 1.0, 30.0]
# A small network on float64, as in test_search_api, trained longer: its predictions vary.
NET = dict(hidden_layer_sizes=(8,), max_iter=15, batch_size=40, tol=0.0, random_state=0, dtype="float64", device="cpu")


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:180], y[:180]


def _forward(state, X):
    """The MLP's output by a plain torch forward: relu hidden layer, linear output."""
    x = torch.as_tensor(X, dtype=torch.float64)
    hidden = torch.relu(x @ state["layers.0.weight"].T + state["layers.0.bias"])
    return (hidden @ state["layers.1.weight"].T + state["layers.1.bias"]).numpy()


def test_the_folds_average_is_the_stored_fold_members_averaged_by_hand(data, tmp_path):
    X, y = data
    store = tmp_path / "sweep.sqlite"
    model = NetRegClassifierCV(alphas=GRID, cv=StratifiedKFold(3), refit="folds", store=store, **NET).fit(X, y)
    with SweepStore.read(store) as opened:
        states = [opened.weights(model.best_index_, fold) for fold in range(3)]
    proba = np.mean([torch.softmax(torch.as_tensor(_forward(s, X)), 1).numpy() for s in states], axis=0)
    np.testing.assert_allclose(model.predict_proba(X), proba, rtol=1e-10)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(1)])
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba), rtol=1e-10)
    assert isinstance(model.best_estimator_, FoldsAverage) and len(model.best_estimator_.estimators_) == 3
    # Without a store, the sweep keeps the same members' weights (a temporary store).
    unstored = NetRegClassifierCV(alphas=GRID, cv=StratifiedKFold(3), refit="folds", **NET).fit(X, y)
    np.testing.assert_allclose(unstored.predict_proba(X), proba, rtol=1e-10)


def test_a_regressors_folds_average_is_the_mean_prediction_in_the_targets_units(diabetes, tmp_path):
    from sklearn.preprocessing import StandardScaler

    X, y = diabetes
    y = y * 50 + 150
    store = tmp_path / "sweep.sqlite"
    model = NetRegRegressorCV(
        alphas=GRID, cv=KFold(3), refit="folds", store=store, transformer=StandardScaler(), **NET
    ).fit(X, y)
    with SweepStore.read(store) as opened:
        outputs = [_forward(opened.weights(model.best_index_, fold), X)[:, 0] for fold in range(3)]
    expected = np.mean(outputs, axis=0) * y.std() + y.mean()
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-9)
    assert not hasattr(model.best_estimator_, "predict_proba")


def test_refit_false_has_the_attributes_of_gridsearchcvs(data):
    X, y = data
    ours = NetRegClassifierCV(alphas=GRID, cv=StratifiedKFold(3), refit=False, **NET).fit(X, y)
    theirs = GridSearchCV(
        NetRegClassifier(**NET), {"alpha": GRID}, cv=StratifiedKFold(3), scoring="neg_log_loss", refit=False
    ).fit(X, y)
    names = ["best_params_", "best_score_", "best_index_", "cv_results_", "n_splits_", "best_estimator_"]
    names += ["predict", "predict_proba", "predict_log_proba", "classes_", "refit_time_"]
    assert {n: hasattr(ours, n) for n in names} == {n: hasattr(theirs, n) for n in names}
    assert ours.best_params_ == theirs.best_params_ and ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    for name, search in (("NetRegClassifierCV", ours), ("GridSearchCV", theirs)):
        with pytest.raises(AttributeError, match=f"^{re.escape(f'This {name!r} has no attribute')} 'predict'$"):
            search.predict(X)
        for attribute, use in (("score", lambda s: s.score(X, y)), ("classes_", lambda s: s.classes_)):
            with pytest.raises(AttributeError) as raised:
                use(search)
            assert str(raised.value) == (
                f"This {name} instance was initialized with `refit=False`. {attribute} is available only after "
                "refitting on the best parameters. You can refit an estimator manually using the `best_params_` "
                "attribute"
            )


def test_a_regressor_with_refit_false_is_refused_what_gridsearchcv_refuses(diabetes):
    X, y = diabetes
    ours = NetRegRegressorCV(alphas=GRID, cv=KFold(3), refit=False, **NET).fit(X, y)
    theirs = GridSearchCV(
        NetRegRegressorCV(alphas=GRID, **NET)._base_estimator(),
        {"alpha": GRID},
        cv=KFold(3),
        scoring="neg_mean_squared_error",
        refit=False,
    ).fit(X, y)
    names = ["best_params_", "best_estimator_", "predict", "score", "n_features_in_", "classes_"]
    assert {n: hasattr(ours, n) for n in names} == {n: hasattr(theirs, n) for n in names}
    assert ours.best_params_ == theirs.best_params_
    for name, search in (("NetRegRegressorCV", ours), ("GridSearchCV", theirs)):
        with pytest.raises(
            AttributeError, match=re.escape(f"This {name} instance was initialized with `refit=False`. score")
        ):
            search.score(X, y)


def test_a_refit_search_scores_and_names_classes_with_its_model(data):
    X, y = data
    for refit in (True, "folds"):
        model = NetRegClassifierCV(alphas=GRID, cv=StratifiedKFold(3), refit=refit, **NET).fit(X, y)
        np.testing.assert_array_equal(model.classes_, np.unique(y))
        assert model.score(X, y) == np.mean(model.predict(X) == y)


def test_a_folds_model_is_saved_and_loaded_as_one_model(data, tmp_path):
    X, y = data
    model = NetRegClassifierCV(alphas=GRID, cv=StratifiedKFold(3), refit="folds", **NET).fit(X, y)
    folder = save_model(model, tmp_path / "model")
    loaded = load_model(folder)
    assert loaded.meta["members"] == 3 and isinstance(loaded.estimator, FoldsAverage)
    np.testing.assert_array_equal(loaded.estimator.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.estimator.predict(X), model.predict(X))


def test_halvings_folds_average_is_its_survivors_stored_fold_members_averaged(data, tmp_path):
    # Without a store, halving keeps its survivors' weights in memory (no temporary store):
    # the same model as the stored fold members of the chosen alpha averaged.
    X, y = data
    grid, store = [1e-3, 0.01, 0.1, 1.0, 10.0, 30.0, 100.0], tmp_path / "sweep.sqlite"
    settings = dict(cv=StratifiedKFold(3), refit="folds", search="halving", factor=3, min_epochs=3, **NET)
    stored = NetRegClassifierCV(alphas=grid, store=store, **settings).fit(X, y)
    with SweepStore.read(store) as opened:
        assert any(m.status == "stopped" for m in opened.members())
        states = [opened.weights(stored.best_index_, fold) for fold in range(3)]
    proba = np.mean([torch.softmax(torch.as_tensor(_forward(s, X)), 1).numpy() for s in states], axis=0)
    unstored = NetRegClassifierCV(alphas=grid, **settings).fit(X, y)
    assert unstored.alpha_ == stored.alpha_
    np.testing.assert_allclose(unstored.predict_proba(X), proba, rtol=1e-10)
    np.testing.assert_allclose(stored.predict_proba(X), proba, rtol=1e-10)
