"""Alpha by the evidence in a sweep: no folds, each alpha trained once, the chosen member is the
model; diagnostics (evidence, effective parameters, units off) recorded per member."""

from __future__ import annotations

import dataclasses
import re
import sqlite3

import numpy as np
import pytest
from sklearn.datasets import make_classification

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressorCV
from netreg.evidence import log_evidence
from netreg.exceptions import StoreError
from netreg.tuning import SweepCallback, plan_sweep, run_sweep, train_chunk
from netreg.tuning.diagnostics import SAMPLE_BIAS, fold_curvature_rows, fold_rows, member_diagnostics
from netreg.tuning.store import SweepStore

GRID = [0.01, 0.3, 3.0, 30.0]
SETTINGS = {"hidden_layer_sizes": (6,), "max_iter": 60, "random_state": 0, "dtype": "float64", "device": "cpu"}


@pytest.fixture(scope="module")
def small_digits(digits):
    return digits[0][:300], digits[1][:300]


def test_the_chosen_alpha_maximizes_the_evidence_of_the_solo_fits(small_digits):
    X, y = small_digits
    model = NetRegClassifierCV(alphas=GRID, selection="evidence", **SETTINGS).fit(X, y)
    # Independently: each alpha fitted alone on all rows, its evidence computed from its module.
    solo = [NetRegClassifier(alpha=a, **SETTINGS).fit(X, y) for a in GRID]
    evidence = [
        log_evidence(m.module_, X, y, task="multiclass", alpha=a, curvature="auto").log_evidence
        for m, a in zip(solo, GRID)
    ]
    np.testing.assert_allclose(model.cv_results_["mean_log_evidence"], evidence, rtol=1e-9)
    assert model.alpha_ == GRID[int(np.argmax(evidence))] and model.best_score_ == pytest.approx(max(evidence))
    # No refit: the chosen member is the model, equal to the solo fit at its alpha.
    chosen = solo[GRID.index(model.alpha_)]
    np.testing.assert_allclose(model.predict_proba(X), chosen.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert model.best_estimator_.n_iter_ == chosen.n_iter_ and model.best_estimator_.alpha == model.alpha_
    assert np.isnan(model.cv_results_["mean_test_score"]).all() and list(model.cv_results_["n_members"]) == [1] * 4


def test_the_effective_number_of_parameters_falls_and_units_switch_off_as_alpha_grows(small_digits):
    X, y = small_digits
    lbfgs = {**SETTINGS, "solver": "lbfgs", "max_iter": 500}  # converged, so alpha = 1000 really empties the layer
    result = NetRegClassifierCV(alphas=[0.01, 1.0, 1000.0], selection="evidence", **lbfgs).fit(X, y).sweep_
    n_params = 64 * 6 + 6 * 10
    assert n_params > result.gamma[0] > result.gamma[1] > result.gamma[2] > 0
    assert result.units_off.shape == (3, 1) and result.units_off[2, 0] == 6  # alpha = 1000 switches off all six


def test_an_evidence_sweep_resumes_from_its_store_to_the_same_model(small_digits, tmp_path):
    X, y = small_digits
    stored = []

    class Count(SweepCallback):
        def on_member_stored(self, record):
            stored.append(record.key)

    params = dict(alphas=GRID, selection="evidence", store=tmp_path / "s.sqlite", **SETTINGS)
    first = NetRegClassifierCV(**params).fit(X, y, callback=Count())
    second = NetRegClassifierCV(**params).fit(X, y, callback=Count())
    assert len(stored) == 4  # the rerun trained nothing: the chosen member's weights came from the store
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    with SweepStore.read(tmp_path / "s.sqlite") as store:
        assert all(np.isfinite(m.evidence["log_evidence"]) for m in store.members())


def test_a_regression_by_the_evidence_estimates_the_noise(diabetes):
    X, y = diabetes
    model = NetRegRegressorCV((), alphas=[0.1, 10.0, 1000.0], selection="evidence", solver="lbfgs", random_state=0)
    result = model.fit(X, y).sweep_
    noise = [m.evidence["noise_variance"] for m in result.members]
    assert all(0.3 < s2 < 1.0 for s2 in noise)  # standardized target, R^2 about 0.5
    assert model.alpha_ == 10.0


def test_a_cross_validated_sweep_computes_the_evidence_of_the_first_fold_only(small_digits):
    X, y = small_digits
    plan = plan_sweep(NetRegClassifier(**SETTINGS), X, y, alphas=[0.1, 10.0], cv=3)
    result = run_sweep(plan, scoring="accuracy")
    for member in result.members:
        assert set(member.evidence) >= {"units_off"}
        assert ("log_evidence" in member.evidence) == (member.fold == 0)
        assert member.evidence.get("curvature", "kfac") == "kfac"
    assert np.isfinite(result.log_evidence).all() and np.isfinite(result.gamma).all()


def test_a_plan_without_folds_must_be_chosen_by_the_evidence(small_digits):
    X, y = small_digits
    plan = plan_sweep(NetRegClassifier(**SETTINGS), X, y, alphas=[0.1, 10.0], cv=None)
    message = (
        "`selection` must be 'evidence' for a plan without folds (cv=None): it has no validation scores. "
        "Got selection='min'."
    )
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        run_sweep(plan, scoring="accuracy", selection="min")


def test_a_store_without_the_evidence_column_is_refused_as_damaged(tmp_path, small_digits):
    # netreg 0.1 wrote no evidence column; nothing of 0.1 is in users' hands, so no migration.
    X, y = small_digits
    plan = plan_sweep(NetRegClassifier(**SETTINGS), X, y, alphas=[0.1, 10.0], cv=2, require_seed=True)
    path = tmp_path / "old.sqlite"
    run_sweep(plan, scoring="accuracy", store=path, chunk_size=2)
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE members DROP COLUMN evidence")
    message = (
        f"The results store {str(path)!r} is damaged: its table 'members' has no column 'evidence'. Delete it to "
        "start over."
    )
    for use in (lambda: SweepStore.read(path), lambda: run_sweep(plan, scoring="accuracy", store=path)):
        with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
            use()


def test_a_plan_with_folds_is_not_chosen_by_the_evidence(small_digits):
    plan = plan_sweep(NetRegClassifier(**SETTINGS), *small_digits, alphas=[0.1, 10.0], cv=2)
    message = (
        "`selection` must be 'min' or '1se' for a plan with folds: the evidence chooses among members trained on "
        "all the rows. Got selection='evidence'. Plan the sweep with cv=None."
    )
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        run_sweep(plan, scoring="accuracy", selection="evidence")


def test_a_fold_s_consecutive_rows_are_read_in_place_for_the_same_evidence(diabetes):
    X, y = diabetes
    net = netreg.NetRegRegressor((5,), max_iter=20, random_state=0, dtype="float64", device="cpu")
    plan = plan_sweep(net, X, y, alphas=[0.1, 10.0], cv=3)
    rows = plan.train_rows[0]  # KFold's first fold trains on the rows after its own: one run
    assert np.shares_memory(fold_rows(plan.X, rows), plan.X)
    found = {}
    train_chunk(
        plan, plan.keys, on_member=lambda key, r, s: found.setdefault(key, (r, member_diagnostics(plan, key, r)))
    )
    for alpha_index in range(2):
        result, diagnostics = found[(alpha_index, 0)]
        # Independently: the evidence on a copy of the rows, as a sweep computed it before.
        expected = log_evidence(
            result.state_dict,
            plan.X[rows].copy(),
            plan.targets[rows],
            task=plan.task,
            alpha=float(plan.alphas[alpha_index]),
            sample_weight=plan.weights(0)[rows],
            activation=plan.template.activation,
            curvature=plan.curvature,
        )
        assert diagnostics == expected.to_dict() and np.isfinite(diagnostics["log_evidence"])


def test_a_fold_larger_than_the_sample_gets_the_full_rows_evidence_within_the_sample_s_bound():
    X, y = make_classification(n_samples=9000, n_features=10, n_informative=6, n_classes=3, random_state=0)
    net = NetRegClassifier((8,), max_iter=15, tol=0.0, random_state=0, dtype="float64", device="cpu")
    plan = plan_sweep(net, X, y, alphas=[0.01, 1.0, 30.0], cv=3)
    sample = fold_curvature_rows(plan, 0)
    rows = plan.train_rows[0]
    # S = (80 * 18 + 24 * 11) / (2 * SAMPLE_BIAS * 104) rows of the fold's 6000, the same for each of its alphas.
    assert len(sample) == 820 and np.array_equal(sample, fold_curvature_rows(plan, 0))
    assert len(np.unique(sample)) == 820 and 0 <= sample.min() and sample.max() < len(rows)
    found = {}
    train_chunk(
        plan, plan.keys[:3], on_member=lambda key, r, s: found.setdefault(key, (r, member_diagnostics(plan, key, r)))
    )
    for alpha_index in range(3):
        result, diagnostics = found[(alpha_index, 0)]
        full = log_evidence(
            result.state_dict,
            X[rows],
            plan.targets[rows],
            task=plan.task,
            alpha=float(plan.alphas[alpha_index]),
            activation=plan.template.activation,
            curvature=plan.curvature,
        )
        # The data term is exact; the log-determinant within the sample's bias budget, per weight.
        assert diagnostics["log_likelihood"] == pytest.approx(full.log_likelihood, rel=1e-12)
        n_params = full.n_params
        assert abs(diagnostics["log_det"] - full.log_det) <= SAMPLE_BIAS * n_params
        assert diagnostics["log_evidence"] == pytest.approx(full.log_evidence, abs=SAMPLE_BIAS * n_params)
        assert diagnostics["gamma"] == pytest.approx(full.gamma, rel=0.01)


def test_only_kronecker_factored_curvature_is_read_from_a_sample_of_the_rows():
    # The sample's size bounds KFAC's bias; the exact curvature's log det from as many rows is
    # low by far more, so a plan whose evidence takes the exact curvature reads every row.
    X, y = make_classification(n_samples=9000, n_features=10, n_informative=6, n_classes=3, random_state=0)
    plan = plan_sweep(NetRegClassifier((8,), random_state=0), X, y, alphas=[0.01, 1.0], cv=3)
    assert plan.curvature == "kfac" and len(fold_curvature_rows(plan, 0)) == 820
    assert fold_curvature_rows(dataclasses.replace(plan, curvature="exact"), 0) is None
    assert fold_curvature_rows(dataclasses.replace(plan, curvature="auto"), 0) is None  # 104 weights: exact
