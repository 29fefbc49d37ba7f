"""Successive halving inside the population: survivors equal the full grid's members, losers are
stored with their rung, and a sweep killed between or inside rungs resumes to the same choice."""

from __future__ import annotations

import re
import sqlite3

import numpy as np
import pytest
import torch

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV
from netreg.tuning import plan_sweep, run_sweep
from netreg.tuning.halving import HALVING_REASON, halving_rungs, rung_survivors
from netreg.tuning.store import SweepStore

ALPHAS = [1e-3, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0]
SETTINGS = {"max_iter": 18, "tol": 0.0, "batch_size": 50, "random_state": 0, "dtype": "float64", "device": "cpu"}


@pytest.fixture(scope="module")
def data(digits):
    return digits[0][:240], digits[1][:240]


def _plan(data, search, **halving):
    return plan_sweep(
        NetRegClassifier((12,), **SETTINGS), *data, alphas=ALPHAS, cv=3, require_seed=True, search=search, **halving
    )


@pytest.fixture(scope="module")
def grid(data):
    return run_sweep(_plan(data, "grid"), scoring="neg_log_loss")


@pytest.fixture(scope="module")
def halving(data):
    return run_sweep(_plan(data, "halving", factor=3, min_epochs=2), scoring="neg_log_loss")


def test_the_rungs_follow_the_schedule():
    assert halving_rungs(10, 18, factor=3, min_epochs=2) == [2, 6]  # 10 alphas -> 4 at epoch 2 -> 2 at epoch 6
    assert halving_rungs(9, 18, factor=3, min_epochs=2) == [2]  # 9 -> 3, and 3 alphas train to the end
    assert halving_rungs(10, 18, factor=3) == [2, 6]  # exhaust: 1 + floor(log3 10) = 3 iterations, 18 // 9 = 2


@pytest.mark.parametrize(
    ("scores", "factor", "expected"),
    [
        # No spread at the best: ceil(3 / 2) = 2 go on, by the count alone.
        ({0: [-1.0, -1.0], 1: [-2.0, -2.0], 2: [-3.0, -3.0]}, 2, ([0, 1, 2], 2)),
        # Best mean -0.6, its folds' std 0.1, one SE 0.1 / sqrt(2) = 0.0707: -0.66 is within it,
        # -0.68 is not; ceil(4 / 4) = 1 alone would have kept the best only.
        ({0: [-0.5, -0.7], 1: [-0.66, -0.66], 2: [-0.68, -0.68], 3: [-2.0, -2.0]}, 4, ([0, 1, 2, 3], 2)),
        # Three folds: best mean -1.0, std sqrt(2/3) * 0.3 = 0.2449, SE 0.1414: -1.14 within, -1.15 not.
        (
            {0: [-0.7, -1.0, -1.3], 1: [-1.14] * 3, 2: [-1.15] * 3, 3: [-5.0] * 3, 4: [-6.0] * 3},
            5,
            ([0, 1, 2, 3, 4], 2),
        ),
        # Equal means: the larger alpha index ranks first.
        ({0: [-1.0, -1.0], 1: [-1.0, -1.0], 2: [-3.0, -3.0]}, 3, ([1, 0, 2], 2)),
        # A diverged fold ranks last and never goes on by noise, whatever its other folds.
        ({0: [np.nan, -0.1], 1: [-1.0, -1.2], 2: [-2.0, -2.0]}, 3, ([1, 2, 0], 1)),
        ({}, 3, ([], 0)),
    ],
)
def test_a_rung_keeps_the_best_share_and_every_alpha_within_one_standard_error(scores, factor, expected):
    assert rung_survivors(scores, factor) == expected


def test_an_alpha_tied_with_the_best_within_noise_survives_a_rung(data):
    # Three alphas a millionth apart train to the same losses up to the last digits; the count
    # alone (ceil(7 / 6) = 2) would stop the third of them at the rung of epoch 2.
    alphas = [1e-4, 1.000001e-4, 1.000002e-4, 30.0, 100.0, 300.0, 1000.0]
    net = NetRegClassifier((12,), **{**SETTINGS, "max_iter": 6})
    plan = plan_sweep(net, *data, alphas=alphas, cv=3, require_seed=True, search="halving", factor=6, min_epochs=2)
    assert plan.halving["rungs"] == [2]
    result = run_sweep(plan, scoring="accuracy")
    assert not np.isfinite(result.stopped_at[:3]).any()
    assert np.isfinite(result.stopped_at[3:]).all()


def test_survivors_equal_the_same_members_of_the_full_grid(grid, halving):
    full = {m.key: m for m in grid.members}
    survivors = [m for m in halving.members if m.status != "stopped"]
    assert survivors and len(survivors) < len(halving.members)
    for member in survivors:
        twin = full[member.key]
        assert member.n_iter == twin.n_iter and member.status == twin.status
        for name, value in member.metrics.items():
            assert value == pytest.approx(twin.metrics[name], rel=1e-12, abs=1e-12), name
        for ours, theirs in zip(member.history, twin.history):
            assert ours["objective"] == pytest.approx(theirs["objective"], rel=1e-12)


def test_survivors_get_the_evidence_of_the_full_grid_and_stopped_members_none(grid, halving):
    full = {m.key: m for m in grid.members}
    first_fold = [m for m in halving.members if m.fold == 0]
    assert {m.status == "stopped" for m in first_fold} == {True, False}
    for member in first_fold:
        if member.status == "stopped":  # read epochs before its minimum: no evidence, units still counted
            assert set(member.evidence) == {"units_off"}
        else:
            assert member.evidence["log_evidence"] == pytest.approx(full[member.key].evidence["log_evidence"])


def test_losers_are_the_worst_at_each_rung_and_stopped_there_with_their_partial_curves(grid, halving):
    by_alpha = {}
    for member in halving.members:
        by_alpha.setdefault(member.alpha_index, []).append(member)
    stopped = {a for a, members in by_alpha.items() if members[0].status == "stopped"}

    def losers(epoch, alive):
        # Ranked by mean validation log-loss over the 3 folds (as the full grid's members had it
        # at that epoch); the best ceil(n / 3) go on, and every alpha whose mean is within one
        # standard error (ddof 0, over sqrt(3)) of the best one's.
        losses = {a: [m.history[epoch - 1]["val_loss"] for m in grid.members if m.alpha_index == a] for a in alive}
        ranked = sorted(alive, key=lambda a: (np.mean(losses[a]), -a))
        best = ranked[0]
        noise = np.std(losses[best]) / np.sqrt(3)
        keep = max(-(-len(alive) // 3), sum(np.mean(losses[a]) <= np.mean(losses[best]) + noise for a in alive))
        return ranked, keep

    ranked, keep = losers(2, list(by_alpha))
    assert {a for a in stopped if by_alpha[a][0].n_iter == 2} == set(ranked[keep:])
    for a in ranked[keep:]:
        for m in by_alpha[a]:
            assert len(m.history) == 2 and m.history[-1]["stop_reason"].startswith("successive halving: alpha ")
    assert by_alpha[ranked[keep]][0].history[-1]["stop_reason"] == HALVING_REASON.format(
        alpha=ALPHAS[ranked[keep]], rank=keep + 1, n=10, rung=0, epoch=2
    )
    ranked_six, keep_six = losers(6, ranked[:keep])
    assert {a for a in stopped if by_alpha[a][0].n_iter == 6} == set(ranked_six[keep_six:])
    assert len(stopped) == 10 - keep_six
    # cv_results shows them, with their rung, and never ranks or chooses them.
    epochs = halving.cv_results["stopped_at_epoch"]
    assert {a for a in range(len(ALPHAS)) if np.isfinite(epochs[a])} == stopped
    assert halving.best_index not in stopped and np.isfinite(halving.stopped_at).sum() == len(stopped)


def test_halving_chooses_among_the_survivors_as_the_grid_would(grid, halving):
    survivors = [a for a in range(len(ALPHAS)) if not np.isfinite(halving.stopped_at[a])]
    best = max(survivors, key=lambda a: (grid.cv_results["mean_test_score"][a], a))
    assert halving.best_index == best
    np.testing.assert_allclose(
        halving.cv_results["mean_test_score"][survivors], grid.cv_results["mean_test_score"][survivors]
    )


@pytest.mark.parametrize("kept", ["none", "first rung", "two rungs"])
def test_a_sweep_killed_between_or_inside_rungs_resumes_to_the_same_choice(data, halving, tmp_path, kept):
    path = tmp_path / "s.sqlite"
    plan = _plan(data, "halving", factor=3, min_epochs=2)
    run_sweep(plan, scoring="neg_log_loss", store=path)
    # Members are written as they stop: keep those a kill at that moment would have left.
    last_epoch = {"none": 0, "first rung": 2, "two rungs": 6}[kept]
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM members WHERE NOT (status = 'stopped' AND n_iter <= ?)", (last_epoch,))
    before = len(SweepStore.read(path).members())
    resumed = run_sweep(plan, scoring="neg_log_loss", store=path)
    assert resumed.best_index == halving.best_index and len(resumed.members) == len(halving.members)
    np.testing.assert_array_equal(resumed.stopped_at, halving.stopped_at)
    np.testing.assert_allclose(resumed.cv_results["mean_test_score"], halving.cv_results["mean_test_score"], rtol=1e-12)
    # Three folds of each alpha stopped by then (test_losers_... checks which alphas those are).
    assert before == 3 * sum(np.nan_to_num(halving.stopped_at, nan=np.inf) <= last_epoch)
    assert (before > 0) == (kept != "none")


def test_the_cv_estimator_runs_halving_and_refits_the_chosen_alpha(data, halving):
    model = NetRegClassifierCV((12,), alphas=ALPHAS, cv=3, search="halving", min_epochs=2, **SETTINGS).fit(*data)
    assert model.alpha_ == ALPHAS[halving.best_index]
    refit = NetRegClassifier((12,), alpha=model.alpha_, **SETTINGS).fit(*data)
    np.testing.assert_allclose(model.predict_proba(data[0]), refit.predict_proba(data[0]), rtol=1e-9)
    assert np.isfinite(model.cv_results_["stopped_at_epoch"]).sum() > 0


def test_halving_needs_folds(data):
    message = (
        "`search` must be 'grid' without folds (cv=None): halving ranks alphas by validation. Got search='halving'."
    )
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        plan_sweep(NetRegClassifier((12,), **SETTINGS), *data, alphas=ALPHAS, cv=None, search="halving")


def test_stored_weights_of_a_stopped_member_are_its_weights_at_the_rung(data, grid, tmp_path):
    path = tmp_path / "s.sqlite"
    result = run_sweep(_plan(data, "halving", factor=3, min_epochs=2), scoring="neg_log_loss", store=path)
    loser = next(m for m in result.members if m.status == "stopped" and m.n_iter == 2)
    alone = NetRegClassifier((12,), **{**SETTINGS, "max_iter": 2}, alpha=ALPHAS[loser.alpha_index])
    train, _ = _plan(data, "grid").folds[loser.fold]
    alone.fit(data[0][train], data[1][train])
    with SweepStore.read(path) as store:
        weights = store.weights(*loser.key)
    for name, value in alone.module_.state_dict().items():
        torch.testing.assert_close(weights[name], value, rtol=1e-10, atol=1e-12)


class _Handed(Exception):
    """What :class:`_Dealt` raises once it has the chunks: the sweep ends there."""


class _Dealt:
    """A backend that shares rungs over ``n`` workers and records the chunks it is handed."""

    shares_rungs = True

    def __init__(self, n):
        self.n, self.chunks = n, []

    def workers(self, plan, n_chunks=None):
        return self.n

    def run(self, plan, chunks, keep, callbacks=()):
        self.chunks = [list(chunk) for chunk in chunks]
        raise _Handed


@pytest.mark.parametrize("n_workers", [2, 4])
def test_every_alphas_folds_are_spread_over_the_workers_so_that_any_survivors_keep_them_busy(data, n_workers):
    backend = _Dealt(n_workers)
    with pytest.raises(_Handed):
        run_sweep(_plan(data, "halving", factor=3, min_epochs=2), scoring="neg_log_loss", backend=backend)
    chunks = backend.chunks
    assert len(chunks) == n_workers and sorted(k for c in chunks for k in c) == sorted(_plan(data, "grid").keys)
    # Whichever alphas survive a rung, the workers' shares of their members differ by at most one.
    for n_survivors in range(1, len(ALPHAS) + 1):
        for first in range(len(ALPHAS) - n_survivors + 1):
            alive = set(range(first, first + n_survivors))
            shares = [sum(a in alive for a, _ in chunk) for chunk in chunks]
            assert max(shares) - min(shares) <= 1, (alive, shares)


def test_survivors_weights_are_the_full_grids_bit_for_bit_in_float64(data, tmp_path):
    # Dealt over the workers alpha by alpha, a survivor trains beside other members than in the
    # grid's chunks of one fold: in float64 its weights are still the grid's member's, bit for bit.
    # (In float32 the grid's own members vary by rounding with the chunk size: ~1e-8.)
    stores = {search: tmp_path / f"{search}.sqlite" for search in ("grid", "halving")}
    halving = run_sweep(_plan(data, "halving", factor=3, min_epochs=2), scoring="neg_log_loss", store=stores["halving"])
    run_sweep(_plan(data, "grid"), scoring="neg_log_loss", store=stores["grid"])
    survivors = [m.key for m in halving.members if m.status != "stopped"]
    assert survivors
    with SweepStore.read(stores["grid"]) as grid, SweepStore.read(stores["halving"]) as ours:
        for key in survivors:
            theirs = grid.weights(*key)
            for name, value in ours.weights(*key).items():
                assert torch.equal(value, theirs[name]), (key, name)
