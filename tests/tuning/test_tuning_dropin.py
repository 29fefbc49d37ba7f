"""The sweeps with scikit-learn's training options: schedules, its objective, the Poisson loss."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score

from netreg import NetRegClassifier, NetRegRegressor, NetRegRegressorCV
from netreg.exceptions import InvalidParameterError
from netreg.tuning import plan_sweep, run_sweep
from netreg.tuning.sweep_hooks import SweepCallback

F64 = {"dtype": "float64", "device": "cpu"}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _counts(diabetes):
    X = diabetes[0]
    return X, np.random.default_rng(0).poisson(np.exp(0.5 * X[:, 2] + 0.3 * X[:, 8] + 1.0)).astype(float)


def test_each_member_trains_with_its_own_schedule_as_the_estimator_alone(digits):
    # Members of different folds see different rows: their step sizes and stalls are their own.
    X, y = digits[0][:150], digits[1][:150]
    settings = {"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.1, "alpha_scale": "batch"}
    common = {"max_iter": 30, "batch_size": 32, "tol": 0.01, "n_iter_no_change": 1, "random_state": 3, **F64}
    plan = plan_sweep(NetRegClassifier((8,), **settings, **common), X, y, alphas=[0.1, 3.0], cv=3)
    stored = {}

    class Keep(SweepCallback):
        def on_member_stored(self, record):
            stored[(record.alpha_index, record.fold)] = record

    run_sweep(plan, scoring="neg_log_loss", callback=Keep())
    assert len(stored) == 6
    for (a, f), record in stored.items():
        train, _ = plan.folds[f]
        alone = NetRegClassifier((8,), alpha=plan.alphas[a], **settings, **common).fit(X[train], y[train])
        assert record.n_iter == alone.n_iter_
        assert record.history[-1]["learning_rate"] == alone.history_[-1]["learning_rate"]
        np.testing.assert_allclose(record.history[-1]["objective"], alone.loss_curve_[-1], rtol=1e-10)


def test_a_sweeps_spec_names_the_drop_in_parameters_only_away_from_their_defaults(digits):
    X, y = digits[0][:60], digits[1][:60]
    plain = plan_sweep(NetRegClassifier((4,)), X, y, alphas=[0.1, 1.0], cv=2).spec["params"]
    # the stores made before them resume
    assert not {"learning_rate", "power_t", "alpha_scale", "class_weight"} & set(plain)
    scheduled = plan_sweep(NetRegClassifier((4,), learning_rate="invscaling"), X, y, alphas=[0.1, 1.0], cv=2)
    assert scheduled.spec["params"]["learning_rate"] == "invscaling"
    weighted = plan_sweep(NetRegClassifier((4,), class_weight={1: 2.0}), X, y, alphas=[0.1, 1.0], cv=2)
    assert weighted.spec["params"]["class_weight"] == {"1": 2.0}


def test_a_poisson_regressor_sweeps_scores_its_means_and_refits(diabetes):
    X, y = _counts(diabetes)
    search = NetRegRegressorCV((8,), loss="poisson", solver="lbfgs", alphas=[0.1, 10.0], cv=3, random_state=0)
    search.fit(X, y)
    assert search.best_estimator_.out_activation_ == "exp"
    assert "mean_log_evidence" not in search.cv_results_  # the evidence reads other likelihoods: not computed
    # The native r2 is that of the predicted means, as the scorer would compute it.
    plan = plan_sweep(
        NetRegRegressor((8,), loss="poisson", solver="lbfgs", random_state=0, **F64), X, y, alphas=[1.0, 2.0], cv=2
    )
    native = run_sweep(plan, scoring="r2")
    scored = run_sweep(plan, scoring=lambda estimator, X, y: r2_score(y, estimator.predict(X)))
    np.testing.assert_allclose(native.cv_results["mean_test_score"], scored.cv_results["mean_test_score"], rtol=1e-9)


def test_what_the_sweep_cannot_read_with_the_poisson_loss_or_the_batch_scale_is_refused(diabetes, digits):
    X, y = _counts(diabetes)
    message = (
        "`scoring` must be 'r2' or another scorer with loss='poisson' ('neg_mean_squared_error' is read from the "
        "squared-error loss). Got scoring='neg_mean_squared_error'. Use 'neg_mean_poisson_deviance', or "
        "make_scorer(mean_squared_error, greater_is_better=False)."
    )
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}$"):
        NetRegRegressorCV((4,), loss="poisson", scoring="neg_mean_squared_error", alphas=[0.1, 1.0], cv=2).fit(X, y)
    message = (
        "`selection` must be 'min' or '1se' with the Poisson loss (the evidence reads a Gaussian or Bernoulli "
        "likelihood). Got selection='evidence'."
    )
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}$"):
        NetRegRegressorCV((4,), loss="poisson", selection="evidence", alphas=[0.1, 1.0]).fit(X, y)
    message = (
        "`selection` must be 'min' or '1se' with alpha_scale='batch' (the evidence reads the penalty alpha / (2 m) "
        "of the whole training set). Got selection='evidence'."
    )
    plan = plan_sweep(
        NetRegClassifier((4,), alpha_scale="batch"), digits[0][:60], digits[1][:60], alphas=[0.1, 1.0], cv=None
    )
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}$"):
        run_sweep(plan, scoring="accuracy", selection="evidence")
