"""The CV estimators speak GridSearchCV's language: scorers, cv_results_ keys, best_*, groups,
refit, verbose — each checked against GridSearchCV over the same estimator and folds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, PredefinedSplit, StratifiedKFold

from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressor, NetRegRegressorCV

GRID = [0.01, 1.0, 30.0]
NET = {
    "hidden_layer_sizes": (8,),
    "max_iter": 6,
    "batch_size": 40,
    "tol": 0.0,
    "random_state": 0,
    "dtype": "float64",
    "device": "cpu",
}


@pytest.fixture(scope="module")
def data(digits):
    return digits[0][:180], digits[1][:180]


def _both(data, scoring, cv=None, **extra):
    cv = cv or StratifiedKFold(3)
    ours = NetRegClassifierCV(alphas=GRID, cv=cv, scoring=scoring, **NET, **extra).fit(*data)
    theirs = GridSearchCV(NetRegClassifier(**NET), {"alpha": GRID}, cv=cv, scoring=scoring, **extra).fit(*data)
    return ours, theirs


@pytest.mark.parametrize("scoring", ["f1_macro", "balanced_accuracy", "neg_log_loss", "accuracy"])
def test_any_scorer_gives_gridsearchcvs_scores(data, scoring):
    # Every member equals the estimator fitted alone on its fold, so the scores agree to rounding.
    ours, theirs = _both(data, scoring)
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "split2_test_score", "rank_test_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], rtol=1e-9, atol=1e-12, err_msg=key)
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    # Among alphas tied on the best mean score, GridSearchCV takes the first; netreg takes the
    # largest, the simpler model (docs/differences.md).
    tied = np.flatnonzero(np.isclose(theirs.cv_results_["mean_test_score"], theirs.best_score_, rtol=1e-12))
    assert theirs.best_index_ == tied[0] and ours.best_index_ == tied[-1]
    assert ours.n_splits_ == theirs.n_splits_ == 3


def test_a_callable_scorer_and_train_scores(data):
    def macro_f1(estimator, X, y):
        return f1_score(y, estimator.predict(X), average="macro")

    ours, theirs = _both(data, macro_f1, return_train_score=True)
    for key in ("mean_test_score", "mean_train_score", "split1_train_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], rtol=1e-9, err_msg=key)
    assert ours.scoring_ == "custom:test_a_callable_scorer_and_train_scores.<locals>.macro_f1"


def test_cv_results_has_every_key_gridsearchcv_code_reads(data):
    ours, theirs = _both(data, "accuracy", return_train_score=True)
    missing = set(theirs.cv_results_) - set(ours.cv_results_)
    # Scoring time is not measured apart: the scores come with training (docs/differences.md).
    assert missing == {"mean_score_time", "std_score_time"}
    frame = pd.DataFrame(ours.cv_results_)
    assert list(frame["param_alpha"]) == GRID and list(frame["params"]) == [{"alpha": a} for a in GRID]
    assert (frame["mean_fit_time"] > 0).all()
    without = NetRegClassifierCV(alphas=GRID, cv=3, scoring="accuracy", **NET).fit(*data)
    assert "mean_train_score" not in without.cv_results_ and "split0_train_score" not in without.cv_results_


def test_groups_reach_a_group_aware_splitter(data):
    groups = np.arange(len(data[1])) % 6
    ours = NetRegClassifierCV(alphas=GRID, cv=GroupKFold(3), scoring="accuracy", **NET).fit(*data, groups=groups)
    theirs = GridSearchCV(NetRegClassifier(**NET), {"alpha": GRID}, cv=GroupKFold(3), scoring="accuracy")
    theirs.fit(*data, groups=groups)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], rtol=1e-9)


def test_refit_false_chooses_without_a_model(data):
    model = NetRegClassifierCV(alphas=GRID, cv=3, refit=False, **NET).fit(*data)
    assert model.best_params_ == {"alpha": model.alpha_} and not hasattr(model, "best_estimator_")
    theirs = GridSearchCV(NetRegClassifier(**NET), {"alpha": GRID}, cv=3, refit=False).fit(*data)
    for name in ("predict", "predict_proba", "predict_log_proba"):
        causes = []
        for search in (model, theirs):
            kind = type(search).__name__
            with pytest.raises(AttributeError, match=f"^This '{kind}' has no attribute '{name}'$") as raised:
                getattr(search, name)(data[0])
            causes.append(str(raised.value.__cause__).replace(kind, "<search>"))  # why, as scikit-learn chains it
        assert (
            causes[0]
            == causes[1]
            == (
                f"This <search> instance was initialized with `refit=False`. {name} is available only after refitting on "
                "the best parameters. You can refit an estimator manually using the `best_params_` attribute"
            )
        )


def test_verbose_prints_the_search_as_gridsearchcv_does(data, capsys):
    NetRegClassifierCV(alphas=GRID, cv=3, verbose=2, **NET).fit(*data)
    out = capsys.readouterr().out
    assert "Fitting 3 folds for each of 3 candidates, totalling 9 fits" in out
    assert len(re.findall(r"^\[CV [123]/3\] END alpha=", out, flags=re.M)) == 9


def test_a_regression_scorer_sees_predictions_in_the_targets_units(diabetes):
    from sklearn.preprocessing import StandardScaler

    X, y = diabetes
    y = y * 50 + 150  # a target in the hundreds, standardized inside by the transformer
    net = dict(hidden_layer_sizes=(), solver="lbfgs", random_state=0, dtype="float64", device="cpu")
    ours = NetRegRegressorCV(
        alphas=GRID, cv=KFold(3), scoring="neg_mean_absolute_error", transformer=StandardScaler(), **net
    )
    ours.fit(X, y)
    theirs = GridSearchCV(
        NetRegRegressor(transformer=StandardScaler(), **net),
        {"alpha": GRID},
        cv=KFold(3),
        scoring="neg_mean_absolute_error",
    ).fit(X, y)
    # The CV estimator standardizes the target once, on all rows; GridSearchCV's clones do it on
    # each fold's training rows: the scores differ by that, a few parts in a hundred thousand.
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], rtol=1e-4)
    assert -40 < ours.best_score_ < -20  # MAE in the target's units (its standard deviation is 50)


@pytest.mark.parametrize("selection", ["min", "1se"])
def test_one_predefined_split_is_accepted_as_gridsearchcv_accepts_it(data, selection):
    # A fixed validation set: the last 60 rows score, the others train (PredefinedSplit's -1).
    test_fold = np.where(np.arange(len(data[1])) >= 120, 0, -1)
    ours, theirs = _both(data, "accuracy", cv=PredefinedSplit(test_fold), return_train_score=True)
    if selection == "1se":
        ours = NetRegClassifierCV(
            alphas=GRID,
            cv=PredefinedSplit(test_fold),
            scoring="accuracy",
            selection="1se",
            return_train_score=True,
            **NET,
        ).fit(*data)
    assert ours.n_splits_ == theirs.n_splits_ == 1
    split_keys = {key for key in theirs.cv_results_ if key.startswith("split")}
    assert split_keys == {"split0_test_score", "split0_train_score"}
    assert split_keys <= set(ours.cv_results_) and not any(k.startswith("split1") for k in ours.cv_results_)
    np.testing.assert_array_equal(ours.cv_results_["std_test_score"], 0.0)
    np.testing.assert_array_equal(theirs.cv_results_["std_test_score"], 0.0)
    for key in ("split0_test_score", "mean_test_score", "rank_test_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], rtol=1e-9, err_msg=key)
    # One split has no standard error: the 1-SE rule keeps the best mean, as "min" does.
    best = np.flatnonzero(ours.cv_results_["mean_test_score"] == ours.cv_results_["mean_test_score"].max())
    assert ours.best_index_ == best[-1]


def test_verbose_1_prints_the_search_line_and_not_the_refits_epochs(data, capsys):
    ours = NetRegClassifierCV(alphas=GRID, cv=3, verbose=1, **NET).fit(*data)
    out = capsys.readouterr().out
    GridSearchCV(NetRegClassifier(**NET), {"alpha": GRID}, cv=3, verbose=1).fit(*data)
    theirs = capsys.readouterr().out
    assert out.splitlines() == ["Fitting 3 folds for each of 3 candidates, totalling 9 fits"]
    assert theirs.splitlines() == out.splitlines()
    assert ours.best_estimator_.verbose == 1
