"""The vectorized sweep: members equal solo fits, results table, resume after a kill."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from netreg import NetRegClassifier, NetRegRegressor
from netreg.tuning import SweepCallback, plan_sweep, run_sweep
from netreg.tuning.store import SweepStore

F64 = {"dtype": "float64", "device": "cpu"}


@pytest.mark.parametrize("early_stopping", [False, True])
def test_each_member_equals_the_estimator_fitted_alone_on_its_fold(digits, early_stopping):
    X, y = digits[0][:150], digits[1][:150]
    base = NetRegClassifier(
        (12,), max_iter=4, batch_size=32, tol=0.0, early_stopping=early_stopping, random_state=3, **F64
    )
    plan = plan_sweep(base, X, y, alphas=[0.0, 1.0, 30.0], cv=3)
    stored = {}

    class Keep(SweepCallback):
        def on_member_stored(self, record):
            stored[(record.alpha_index, record.fold)] = record

    result = run_sweep(plan, scoring="neg_log_loss", chunk_size=9, callback=Keep())
    assert len(stored) == 9 and not result.missing
    for (a, f), record in stored.items():
        train, _ = plan.folds[f]
        alone = NetRegClassifier(
            (12,),
            alpha=plan.alphas[a],
            max_iter=4,
            batch_size=32,
            tol=0.0,
            early_stopping=early_stopping,
            random_state=3,
            **F64,
        )
        # The estimator splits its own validation rows off what it is given; give it the fold.
        alone.fit(X[train], y[train])
        np.testing.assert_allclose(record.history[-1]["objective"], alone.loss_curve_[-1], rtol=1e-10)
        assert record.n_iter == alone.n_iter_


def test_members_weights_equal_solo_fits_when_stored(digits, tmp_path):
    X, y = digits[0][:120], digits[1][:120]
    base = NetRegClassifier((8,), max_iter=3, batch_size=40, tol=0.0, random_state=0, **F64)
    plan = plan_sweep(base, X, y, alphas=[0.1, 10.0], cv=2, require_seed=True)
    run_sweep(plan, scoring="accuracy", store=tmp_path / "s.sqlite", chunk_size=4)
    with SweepStore.read(tmp_path / "s.sqlite") as store:
        for a, f in plan.keys:
            train, _ = plan.folds[f]
            alone = NetRegClassifier(
                (8,), alpha=plan.alphas[a], max_iter=3, batch_size=40, tol=0.0, random_state=0, **F64
            )
            alone.fit(X[train], y[train])
            stored = store.weights(a, f)
            for name, value in alone.module_.state_dict().items():
                torch.testing.assert_close(stored[name], value, rtol=1e-10, atol=1e-12)


def test_cv_results_agree_with_the_per_fold_numbers(digits):
    X, y = digits[0][:200], digits[1][:200]
    plan = plan_sweep(NetRegClassifier((16,), max_iter=5, random_state=0), X, y, alphas=[0.01, 1.0, 100.0], cv=4)
    result = run_sweep(plan, scoring="accuracy", selection="min")
    table = result.cv_results
    per_fold = np.array([[m.metrics["val_score"] for m in result.members if m.alpha_index == a] for a in range(3)])
    np.testing.assert_allclose(table["mean_test_score"], per_fold.mean(1))
    np.testing.assert_allclose(table["std_test_score"], per_fold.std(1))
    np.testing.assert_allclose(table["split2_test_score"], per_fold[:, 2])
    assert result.best_index == int(np.flatnonzero(per_fold.mean(1) == per_fold.mean(1).max())[-1])
    assert result.alpha == result.alphas[result.best_index]
    norms = table["mean_norm[layers.0.weight]"]
    assert norms[0] > norms[1] > norms[2]  # the weights shrink as alpha grows
    # Ranked as GridSearchCV ranks: ties share the lower rank.
    expected_ranks = [1 + int((per_fold.mean(1) > mean).sum()) for mean in per_fold.mean(1)]
    assert list(table["rank_test_score"]) == expected_ranks and result.to_frame().shape[0] == 3


def test_regression_scorings(diabetes):
    X, y = diabetes
    plan = plan_sweep(NetRegRegressor((), solver="lbfgs", random_state=0, **F64), X, y, alphas=[0.1, 100.0], cv=3)
    mse = run_sweep(plan, scoring="neg_mean_squared_error").cv_results
    r2 = run_sweep(plan, scoring="r2").cv_results
    # R^2 = 1 - MSE / Var(y_val): check one fold against the definition.
    member = run_sweep(plan, scoring="r2").members[0]
    _, val = plan.folds[member.fold]
    implied = 1 + mse[f"split{member.fold}_test_score"][0] / y[val].var()
    assert implied == pytest.approx(r2[f"split{member.fold}_test_score"][0], rel=1e-9)


def test_a_diverging_member_does_not_stop_the_sweep_and_its_alpha_is_not_chosen(digits):
    X, y = digits[0][:100], digits[1][:100]
    base = NetRegClassifier((8,), solver="sgd", momentum=0.0, learning_rate_init=0.1, max_iter=5, random_state=0)
    plan = plan_sweep(base, X, y, alphas=[0.1, 1e13], cv=2)
    result = run_sweep(plan, scoring="accuracy")
    statuses = {(m.alpha_index, m.fold): m.status for m in result.members}
    assert statuses[(1, 0)] == statuses[(1, 1)] == "diverged"
    assert np.isnan(result.cv_results["mean_test_score"][1]) and result.best_index == 0


SCRIPT = textwrap.dedent(
    """
    import sys
    from sklearn.datasets import load_digits
    from netreg import NetRegClassifier
    from netreg.tuning import plan_sweep, run_sweep
    X, y = load_digits(return_X_y=True)
    base = NetRegClassifier((64,), max_iter=40, tol=0.0, n_iter_no_change=100, random_state=0)
    plan = plan_sweep(base, X[:400] / 16, y[:400], alphas=[0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], cv=3, require_seed=True)
    run_sweep(plan, scoring="accuracy", store=sys.argv[1], chunk_size=1)
    """
)


def _count(path):
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT COUNT(*) FROM members").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_sweep_killed_with_sigkill_resumes_and_trains_only_what_is_missing(tmp_path):
    store = tmp_path / "sweep.sqlite"
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(store)], env={**os.environ, "PYTHONHASHSEED": "0"})
    deadline = time.time() + 120
    while _count(store) < 3 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _count(store)
    assert 3 <= before < 18, before  # killed mid-way, with finished members on disk

    trained = []

    class Count(SweepCallback):
        def on_sweep_begin(self, info):
            trained.append(info["n_done"])

        def on_member_stored(self, record):
            trained.append((record.alpha_index, record.fold))

    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    base = NetRegClassifier((64,), max_iter=40, tol=0.0, n_iter_no_change=100, random_state=0)
    plan = plan_sweep(
        base, X[:400] / 16, y[:400], alphas=[0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], cv=3, require_seed=True
    )
    result = run_sweep(plan, scoring="accuracy", store=store, chunk_size=1, callback=Count())
    assert trained[0] == before and len(trained) - 1 == 18 - before
    with sqlite3.connect(store) as connection:
        keys = connection.execute("SELECT alpha_index, fold FROM members").fetchall()
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 18
    assert not result.missing and len(result.members) == 18


class _Stored(SweepCallback):
    def __init__(self):
        self.keys = []

    def on_member_stored(self, record):
        self.keys.append(record.key)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_float32_x_is_held_as_it_is_and_trains_and_resumes_as_its_float64_copy(digits, tmp_path, dtype):
    X, y = (digits[0][:300] / 16).astype(np.float32), digits[1][:300]
    base = NetRegClassifier((8,), max_iter=3, batch_size=40, tol=0.0, random_state=0, dtype=dtype, device="cpu")
    plan = plan_sweep(base, X, y, alphas=6, cv=3, require_seed=True)
    copied = plan_sweep(base, X.astype(np.float64), y, alphas=6, cv=3, require_seed=True)
    assert plan.X.dtype == np.float32 and np.shares_memory(plan.X, X)  # no float64 copy
    # The same grid (computed in float64), spec and fingerprint as the float64 copy's: its store is this sweep's.
    np.testing.assert_array_equal(plan.alphas, copied.alphas)
    assert plan.spec == copied.spec and plan.fingerprint == copied.fingerprint
    run_sweep(copied, scoring="neg_log_loss", store=tmp_path / "copy.sqlite", chunk_size=6, n_jobs=1)
    record = _Stored()
    run_sweep(plan, scoring="neg_log_loss", store=tmp_path / "copy.sqlite", callback=record, n_jobs=1)
    assert record.keys == []  # resumed: every member was found in the float64 copy's store
    # Trained fresh, each member equals the float64 copy's, bit for bit, and so does the choice.
    result = run_sweep(plan, scoring="neg_log_loss", store=tmp_path / "own.sqlite", chunk_size=6, n_jobs=1)
    with SweepStore.read(tmp_path / "own.sqlite") as own, SweepStore.read(tmp_path / "copy.sqlite") as other:
        for key in plan.keys:
            for name, value in own.weights(*key).items():
                assert torch.equal(other.weights(*key)[name], value)
        assert {m.key: m.metrics for m in own.members()} == {m.key: m.metrics for m in other.members()}
    assert result.alpha == run_sweep(copied, scoring="neg_log_loss", chunk_size=6, n_jobs=1).alpha
