"""Alpha by the evidence in a sweep: no folds, each alpha trained once, the chosen member is the
model; diagnostics (evidence, effective parameters, units off) recorded per member."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_classification

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressorCV
from netreg.evidence import laplace, log_evidence
from netreg.exceptions import StoreError
from netreg.tuning import SweepCallback, plan_sweep, run_sweep, train_chunk
from netreg.tuning.diagnostics import (
    SAMPLE_BIAS,
    evidence_bytes,
    fold_curvature_rows,
    fold_rows,
    gets_evidence,
    member_diagnostics,
)
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


def test_a_fold_s_evidence_reads_its_rows_in_place_a_chunk_at_a_time(same_numbers, monkeypatch):
    # 60,000 float32 rows of 40 features: a fold trains on 40,000 (6.4 MB as a copy). Its evidence
    # reads them in place, a chunk at a time (here of 2**16 // 40 rows, 0.26 MB), and its
    # curvature a sample of 2,100 of them (0.67 MB in float64).
    monkeypatch.setattr(laplace, "_LOSS_CHUNK_ELEMENTS", 2**16)
    X, y = make_classification(n_samples=60_000, n_features=40, n_informative=10, n_classes=3, random_state=0)
    net = NetRegClassifier((8,), max_iter=1, random_state=0, dtype="float32", device="cpu")
    plan = plan_sweep(net, X.astype(np.float32), y, alphas=[0.1, 1.0], cv=3)
    assert plan.X.dtype == np.float32 and plan.curvature == "kfac"
    assert np.diff(plan.train_rows[0]).max() > 1  # the first fold's rows are not one run (no view)
    found = {}
    train_chunk(plan, [(0, 0), (1, 0)], on_member=lambda key, r, s: found.setdefault(key, r))
    member_diagnostics(plan, (0, 0), found[(0, 0)])  # imports and first-call caches, not measured
    with torch.profiler.profile(profile_memory=True) as profile:  # torch's allocations, one by one
        diagnostics = member_diagnostics(plan, (1, 0), found[(1, 0)])
    torch_largest = max(event.cpu_memory_usage for event in profile.events())
    tracemalloc.start()  # numpy's (and Python's), apart: the profiler's own records are Python objects
    try:
        assert member_diagnostics(plan, (1, 0), found[(1, 0)]) == diagnostics
        numpy_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    fold_bytes = len(plan.train_rows[0]) * 40 * 4
    # Before, the fold was copied (6.4 MB) and made float64 (12.8 MB) for each member.
    assert numpy_peak < fold_bytes / 4 and torch_largest < fold_bytes / 4
    expected = log_evidence(
        found[(1, 0)].state_dict,
        plan.X[plan.train_rows[0]],
        plan.targets[plan.train_rows[0]],
        task=plan.task,
        alpha=1.0,
        activation="relu",
        curvature="kfac",
        curvature_rows=fold_curvature_rows(plan, 0),
    )
    same_numbers(diagnostics, expected.to_dict())


def test_a_float32_sweep_reports_the_float64_evidence_to_float32_rounding_and_chooses_its_alpha():
    X, y = make_classification(n_samples=3000, n_features=10, n_informative=6, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    net = NetRegClassifier((40,), max_iter=15, tol=0.0, random_state=0, dtype="float32", device="cpu")
    plan = plan_sweep(net, X, y, alphas=GRID, cv=None)
    assert plan.X.dtype == np.float32  # held as it is, its members trained in float32
    found = {}
    train_chunk(
        plan, plan.keys, on_member=lambda key, r, s: found.setdefault(key, (r, member_diagnostics(plan, key, r)))
    )
    expected = []
    for alpha_index, alpha in enumerate(GRID):
        result, diagnostics = found[(alpha_index, 0)]
        # Independently: the evidence of the member on the float64 copy of the rows, in float64.
        full = log_evidence(
            result.state_dict,
            X.astype(np.float64),
            plan.targets,
            task=plan.task,
            alpha=alpha,
            activation="relu",
            curvature=plan.curvature,
        )
        # The curvature reads the same values in float64; the data loss's forward runs in float32.
        assert diagnostics["log_det"] == pytest.approx(full.log_det, rel=1e-12)
        assert diagnostics["gamma"] == pytest.approx(full.gamma, rel=1e-12)
        assert diagnostics["log_likelihood"] == pytest.approx(full.log_likelihood, rel=1e-6)
        assert diagnostics["log_evidence"] == pytest.approx(full.log_evidence, rel=1e-6)
        expected.append(full.log_evidence)
    assert run_sweep(plan, scoring="neg_log_loss", selection="evidence").alpha == GRID[int(np.argmax(expected))]


def test_a_sparse_x_gets_the_evidence_of_its_dense_rows(diabetes):
    X, y = diabetes
    net = netreg.NetRegRegressor((5,), max_iter=20, random_state=0, dtype="float64", device="cpu")
    dense, sparse = (plan_sweep(net, data, y, alphas=[0.1, 10.0], cv=3) for data in (X, sp.csr_matrix(X)))
    found = {}
    train_chunk(dense, [(1, 2)], on_member=lambda key, r, s: found.setdefault(key, r))
    assert member_diagnostics(sparse, (1, 2), found[(1, 2)]) == member_diagnostics(dense, (1, 2), found[(1, 2)])


def test_the_evidence_s_memory_counts_a_dense_copy_of_the_rows_only_for_a_sparse_x(diabetes, budget):
    X, y = diabetes  # 442 rows, 10 features
    net = netreg.NetRegRegressor((5,), max_iter=2, random_state=0, dtype="float64", device="cpu")
    dense, sparse = (plan_sweep(net, data, y, alphas=[0.1, 10.0], cv=2) for data in (X, sp.csr_matrix(X)))
    # The targets and weights (3 float64 a row) and 3 copies of the 10 x 10 input factor; sparse: 2 dense copies.
    assert evidence_bytes(dense, 221) == 8 * (3 * 442 + 3 * 100)
    assert evidence_bytes(sparse, 221) == 8 * (2 * 221 * 10 + 3 * 442 + 3 * 100)
    found = {}
    train_chunk(sparse, [(0, 0)], on_member=lambda key, r, s: found.setdefault(key, r))
    budget((evidence_bytes(sparse, 221) + 16) / 1024**3)  # 16 bytes either side: float rounding
    assert gets_evidence(sparse, (0, 0), found[(0, 0)])
    budget((evidence_bytes(sparse, 221) - 16) / 1024**3)
    assert not gets_evidence(sparse, (0, 0), found[(0, 0)]) and gets_evidence(dense, (0, 0), found[(0, 0)])
