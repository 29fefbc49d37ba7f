"""NetRegClassifierCV / NetRegRegressorCV: choose alpha, refit, predict; errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone

import netreg
from expected_messages import not_a_nonnegative_float
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressorCV
from netreg.exceptions import StoreError

SMALL = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0)


def test_classifier_cv_chooses_refits_and_predicts(digits):
    X, y = digits[0][:300], digits[1][:300]
    model = NetRegClassifierCV(alphas=[0.001, 0.1, 10.0, 1000.0], cv=3, **SMALL).fit(X, y)
    frame = pd.DataFrame(model.cv_results_)
    assert list(frame["alpha"]) == [0.001, 0.1, 10.0, 1000.0] and model.scoring_ == "neg_log_loss"
    assert model.alpha_ == frame["alpha"][frame["mean_test_score"].idxmax()]
    assert model.best_score_ == frame["mean_test_score"].max()
    refit = NetRegClassifier(alpha=model.alpha_, **SMALL).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), refit.predict_proba(X))
    assert model.score(X, y) == refit.score(X, y) and list(model.classes_) == list(range(10))


def test_one_standard_error_rule_never_picks_a_smaller_alpha_than_min(digits):
    X, y = digits[0][:300], digits[1][:300]
    grid = [0.001, 0.01, 0.1, 1.0, 10.0]
    best = NetRegClassifierCV(alphas=grid, cv=3, selection="min", **SMALL).fit(X, y)
    simple = NetRegClassifierCV(alphas=grid, cv=3, selection="1se", **SMALL).fit(X, y)
    assert simple.alpha_ >= best.alpha_
    threshold = simple.sweep_.threshold
    assert simple.cv_results_["mean_test_score"][simple.best_index_] >= threshold


def test_regressor_cv_with_default_grid_and_r2(diabetes):
    X, y = diabetes
    model = NetRegRegressorCV((), alphas=6, cv=3, solver="lbfgs", random_state=0).fit(X, y)
    assert len(model.alphas_) == 6 and model.scoring_ == "r2"
    assert model.best_estimator_.alpha == model.alpha_
    assert model.score(X, y) > 0.4


def test_store_resumes_without_retraining(digits, tmp_path):
    X, y = digits[0][:200], digits[1][:200]
    stored = []

    from netreg.tuning import SweepCallback

    class Count(SweepCallback):
        def on_member_stored(self, record):
            stored.append(record)

    params = dict(alphas=[0.01, 1.0], cv=2, store=tmp_path / "s.sqlite", **SMALL)
    first = NetRegClassifierCV(**params).fit(X, y, callback=Count())
    assert len(stored) == 4
    second = NetRegClassifierCV(**params).fit(X, y, callback=Count())
    assert len(stored) == 4  # nothing trained again
    np.testing.assert_array_equal(first.cv_results_["mean_test_score"], second.cv_results_["mean_test_score"])
    with pytest.raises(StoreError, match="belongs to a different sweep"):
        NetRegClassifierCV(**{**params, "alphas": [0.01, 2.0]}).fit(X, y)
    with pytest.raises(StoreError, match="belongs to a different data set"):
        NetRegClassifierCV(**params).fit(X[:150], y[:150])


@pytest.mark.parametrize(
    "params, error, message",
    [
        (
            {"alphas": [0.1]},
            netreg.InvalidParameterError,
            "`alphas` must be at least 2 distinct values to choose from. Got alphas=[0.1].",
        ),
        (
            {"alphas": []},
            netreg.InvalidParameterError,
            "`alphas` must be at least 2 distinct values to choose from. Got alphas=[].",
        ),
        (
            {"alphas": [0.1, -2.0]},
            netreg.InvalidParameterError,
            not_a_nonnegative_float("alphas[1]", "-2.0"),
        ),
        (
            {"cv": 40},
            netreg.DataError,
            "cv=40 stratified folds, but class 4 has 39 row(s); expected a row of every class in every fold. Use cv <= 39, or collect more rows of that class.",
        ),
        (
            {"store": "x.sqlite", "random_state": None},
            netreg.InvalidParameterError,
            "`random_state` must be an int for a sweep with a results store, so that a rerun trains the same "
            "members and can resume. Got random_state=None.",
        ),
        (
            {"selection": "best"},
            netreg.InvalidParameterError,
            "The 'selection' parameter of NetRegClassifierCV must be a str among {'1se', 'min'}. Got 'best' instead.",
        ),
    ],
)
def test_bad_sweeps_are_refused_with_the_full_message(digits, params, error, message):
    X, y = digits[0][:400], digits[1][:400]
    if params.get("selection") == "best":
        with pytest.raises(error) as caught:
            NetRegClassifierCV(**{**SMALL, **params}).fit(X, y)
        assert str(caught.value).startswith("The 'selection' parameter of NetRegClassifierCV must be a str among {")
        return
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        NetRegClassifierCV(**{**SMALL, **params}).fit(X, y)


def test_unwritable_store_is_refused(digits, tmp_path):
    X, y = digits[0][:100], digits[1][:100]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="^Cannot write the results store"):
        NetRegClassifierCV(alphas=[0.1, 1.0], cv=2, store=blocker / "s.sqlite", **SMALL).fit(X, y)


def test_clone_and_unfitted_predict():
    model = NetRegClassifierCV(alphas=[0.1, 1.0], cv=3, **SMALL)
    assert clone(model).get_params()["alphas"] == [0.1, 1.0]
    with pytest.raises(netreg.NotFittedError):
        model.predict(np.zeros((1, 64)))


CALLBACK = (
    "`callback` must be a SweepCallback, a list of SweepCallbacks or None. Got callback={}. Subclass "
    "netreg.tuning.SweepCallback and override the hooks you need (on_sweep_begin, on_member_stored, on_sweep_end, "
    "on_epoch_end, ...)."
)


@pytest.mark.parametrize(
    "callback", [42, print, [42], "bar", netreg.Callback()], ids=["int", "function", "list", "str", "engine-callback"]
)
def test_a_callback_that_is_not_a_sweep_callback_is_refused_before_any_work(tmp_path, refused, callback):
    # Before: AttributeError: 'int' object has no attribute 'on_sweep_begin', after the data
    # were checked and the store made.
    from netreg.exceptions import InvalidParameterError
    from netreg.tuning import run_sweep

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    search = NetRegClassifierCV(alphas=[0.0, 1.0], cv=2, store=tmp_path / "sweep.sqlite", **SMALL)
    with refused(CALLBACK.format(repr(callback)), InvalidParameterError):
        search.fit(X, y, callback=callback)
    plan = netreg.tuning.plan_sweep(NetRegClassifier(**SMALL), X, y, alphas=[0.0, 1.0], cv=2)
    with refused(CALLBACK.format(repr(callback)), InvalidParameterError):
        run_sweep(plan, scoring="accuracy", store=str(tmp_path / "sweep.sqlite"), callback=callback)
    assert list(tmp_path.iterdir()) == []


def _sparse_problem(rows, features, density, seed=0):
    X = sp.random(rows, features, density=density, random_state=seed, format="csr")
    X = (X + sp.eye(rows, features, format="csr")).tocsr()  # every row has a value
    totals = np.asarray(X.sum(1)).ravel()
    return X, (totals > np.median(totals)).astype(int)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_jobs", [1, 2])  # in this process, and in forked workers
def test_a_sweep_on_sparse_x_matches_the_sweep_on_its_dense_form(n_jobs):
    X, y = _sparse_problem(200, 30, 0.1)
    params = dict(hidden_layer_sizes=(8,), cv=2, max_iter=20, random_state=0, n_jobs=n_jobs, chunk_size=2)
    for alphas in ([0.01, 1.0], 3):  # a given grid, and the default grid scaled to X
        ours = NetRegClassifierCV(alphas=alphas, **params).fit(X, y)
        dense = NetRegClassifierCV(alphas=alphas, **params).fit(X.toarray(), y)
        np.testing.assert_allclose(ours.alphas_, dense.alphas_, rtol=1e-10)
        np.testing.assert_allclose(ours.cv_results_["mean_test_score"], dense.cv_results_["mean_test_score"], rtol=1e-6)
        np.testing.assert_allclose(ours.predict_proba(X), dense.predict_proba(X), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_sweep_on_a_wide_sparse_x_makes_only_budgeted_blocks_dense(monkeypatch, budget):
    # A CV fit of a 100,000 x 1,000,000 CSR called toarray() on all of it: 373 GiB.
    X, y = _sparse_problem(60, 1_000_000, 1e-5)
    densified = []
    original = sp.csr_matrix.toarray

    def recording(self, *args, **kwargs):
        densified.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", recording)
    budget(0.25)
    search = NetRegClassifierCV(
        hidden_layer_sizes=(), alphas=[0.1, 1.0], cv=2, max_iter=2, batch_size=5, random_state=0, n_jobs=1
    ).fit(X, y)
    assert search.predict(X).shape == (60,) and len(search.cv_results_["mean_test_score"]) == 2
    # Batches of 5 rows; evaluation and prediction in blocks of 0.25 GiB: 22 rows of a million
    # float32 values in 3 copies (one member at a time), 16 float64 rows in 2 copies.
    assert densified and max(densified) <= 22
