"""The alpha grid: default range from the data, validation of user grids."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge

import netreg
from expected_messages import not_a_nonnegative_float
from netreg.grid import default_alphas, resolve_alphas


def test_default_grid_spans_negligible_to_dominant_for_a_linear_model(diabetes):
    # A ridge fit at the small end has (nearly) least squares' fitted values, measured
    # within 0.04 %; at the large end they have lost more than half their norm.
    X, y = diabetes
    grid = default_alphas(X, 8)
    assert len(grid) == 8 and np.all(np.diff(np.log10(grid)) > 0)
    fitted = {alpha: Ridge(alpha=alpha).fit(X, y).predict(X) - y.mean() for alpha in (0.0, grid[0], grid[-1])}
    assert np.linalg.norm(fitted[grid[0]] - fitted[0.0]) < 0.01 * np.linalg.norm(fitted[0.0])
    assert np.linalg.norm(fitted[grid[-1]]) < 0.5 * np.linalg.norm(fitted[0.0])


def test_user_grid_is_sorted_and_may_include_zero():
    np.testing.assert_array_equal(resolve_alphas([10, 0, 0.5], np.zeros((2, 2))), [0.0, 0.5, 10.0])


@pytest.mark.parametrize(
    "alphas, message",
    [
        ([], "`alphas` must be at least 2 distinct values to choose from. Got alphas=[]."),
        ([1.0], "`alphas` must be at least 2 distinct values to choose from. Got alphas=[1.0]."),
        ([1.0, 1.0], "`alphas` must be at least 2 distinct values to choose from. Got alphas=[1.0, 1.0]."),
        ([1.0, 2.0, 1.0], "`alphas` must be distinct values. Got alphas=[1.0, 2.0, 1.0]."),
        ([0.1, -1.0], not_a_nonnegative_float("alphas[1]", "-1.0")),
        ([0.1, float("nan")], not_a_nonnegative_float("alphas[1]", "nan")),
        (1, "`alphas` must be an int >= 2. Got alphas=1."),
        ("0.1,1", "`alphas` must be an int (grid size) or a sequence of at least 2 floats >= 0. Got alphas='0.1,1'."),
    ],
)
def test_bad_grids_are_refused_with_the_full_message(alphas, message):
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        resolve_alphas(alphas, np.ones((3, 2)))


def test_a_grid_larger_than_the_limit_is_refused_before_it_is_made(refused):
    # 10**8 alphas: the grid alone would be 800 MB and its plan billions of members.
    fix = "Each alpha is trained once per fold; use a coarser grid, such as alphas=16."
    with refused(
        f"`alphas` must be a grid of at most 10000 alphas. Got alphas=100000000. {fix}", netreg.InvalidParameterError
    ):
        resolve_alphas(100_000_000, np.zeros((3, 2)))
    with refused(
        f"`alphas` must be a grid of at most 10000 alphas. Got a sequence of 10001 alphas. {fix}",
        netreg.InvalidParameterError,
    ):
        resolve_alphas(np.arange(10_001.0), np.zeros((3, 2)))
    assert len(resolve_alphas(10_000, np.eye(3))) == 10_000


def _overflow(largest):
    return (
        "X is too large in scale to set the grid of alphas from: its centered X'X overflows float64 (the largest "
        f"|value| in X is {largest:.3g}); expected features whose squared sums are finite. Standardize X "
        "(sklearn.preprocessing.StandardScaler) before fitting."
    )


@pytest.mark.parametrize("factor", [1e200, 1e307])
def test_data_whose_scale_overflows_are_named_as_the_problem_not_the_grid(diabetes, refused, factor):
    # Before: "`alphas[0]` must be a finite float >= 0. Got alphas[0]=nan." of alphas=4, an
    # int the user passed; the grid built from the overflowing data was NaN. (At 1e307 the
    # centering itself overflows and the SVD would not converge.)
    X, y = diabetes
    X = X[:60] * factor
    with refused(_overflow(float(np.abs(X).max()))):
        netreg.NetRegRegressorCV(alphas=4, max_iter=2, random_state=0).fit(X, y[:60])
    # alpha="auto" learns alpha in one fit and builds no grid: the data make its first epoch
    # overflow, which the engine names, with the fix.
    with refused(
        "Training diverged at epoch 1 (alpha=1.0, solver='adam', learning_rate=0.001): the objective became nan. "
        "The weights of the last sound epoch are kept. Lower the learning rate or standardize the inputs (large "
        "feature values make the loss overflow).",
        netreg.DivergenceError,
    ):
        netreg.NetRegRegressor(alpha="auto", max_iter=2, random_state=0).fit(X, y[:60])
    # A sparse X is named the same way (ARPACK failed on it before any scale was known).
    with refused(_overflow(float(np.abs(X).max()))):
        default_alphas(sp.csr_matrix(X), 4)
    # The largest values whose X'X is finite still make a grid (of finite alphas).
    assert np.isfinite(default_alphas(X[:, :1] / factor * 1e150, 4)).all()


def test_the_default_grid_stops_below_the_kill_point_where_every_network_is_constant():
    # The kill point ||R'X||_2 is derived for a linear hidden layer; with ReLU units the
    # networks above it predict a constant, those at the default grid's top do not.
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    from netreg.grid import KILL_FRACTION, kill_point

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    onehot = np.eye(3)[y]
    net = {"hidden_layer_sizes": (16,), "learning_rate_init": 0.01, "max_iter": 200, "random_state": 0}

    def spread(alpha):
        model = netreg.NetRegClassifier(alpha=alpha, **net).fit(X, y)
        return float(np.std(model.predict_proba(X), axis=0).max())

    grid = default_alphas(X, 16, targets=onehot)
    assert grid[-1] == pytest.approx(KILL_FRACTION * kill_point(X, onehot), rel=1e-12)
    assert grid[0] == default_alphas(X, 16)[0] and grid[-1] < default_alphas(X, 16)[-1]
    assert spread(2 * kill_point(X, onehot)) < 1e-3 < 1e-2 < spread(grid[-1])
    search = netreg.NetRegClassifierCV(alphas=4, cv=2, max_iter=1, random_state=0, **{"hidden_layer_sizes": (4,)})
    np.testing.assert_allclose(search.fit(X, y).alphas_, default_alphas(X, 4, targets=onehot), rtol=1e-12)
    # Without hidden layers (ridge, logistic regression) no penalty switches the model off: no bound.
    linear = netreg.NetRegClassifierCV((), alphas=4, cv=2, max_iter=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(linear.alphas_, default_alphas(X, 4), rtol=1e-12)


@pytest.mark.parametrize("depth", [3, 4])
@pytest.mark.parametrize(("scales", "coefficients"), [([1.0, 1.0], [1.0, -0.5]), ([10.0, 0.1], [0.01, 90.0])])
def test_a_deeper_networks_kill_point_is_where_no_rank_one_direction_pays(depth, scales, coefficients):
    # Squared error, linear layers, two features (of equal spread, or a feature of small
    # variance that carries most of y: the steepest direction, R'X's, is then not the one
    # that pays longest), one output: along M = s v' (v = (cos t, sin t)) the loss is exactly
    # quadratic in s, and the penalty of the cheapest factorization is alpha L / (2m) s^(2/L).
    # The kill point is the alpha at which their sum stops falling below zero for every
    # direction and s: found here by bisection over a grid of them, on the loss itself.
    from netreg.grid import kill_point

    rng = np.random.default_rng(depth)
    X = rng.normal(size=(200, 2)) * scales
    y = X @ coefficients + 0.1 * rng.normal(size=200)
    R, Xc, m = y - y.mean(), X - X.mean(0), len(X)
    angles = np.linspace(0, np.pi, 721)
    directions = np.stack([np.cos(angles), np.sin(angles)])  # (2, 721), both signs through s's
    s = np.concatenate([-np.logspace(-4, 4, 801)[::-1], np.logspace(-4, 4, 801)])[:, None]
    fits = Xc @ directions  # (m, 721)
    # Half mean squared error less its value at s = 0, for every (s, direction).
    fall = (s**2 * (fits**2).sum(0) - 2 * s * (R @ fits)) / (2 * m)

    def pays(alpha):
        return bool((fall + alpha * depth / (2 * m) * np.abs(s) ** (2 / depth) < 0).any())

    low, high = 0.0, 100 * kill_point(X, y)
    for _ in range(60):
        low, high = (low, (low + high) / 2) if not pays((low + high) / 2) else ((low + high) / 2, high)
    assert kill_point(X, y, depth=depth) == pytest.approx(low, rel=0.02)


def test_the_kill_point_reads_each_tasks_curvature_and_a_sparse_x_as_a_dense_one():
    from netreg.grid import kill_point

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)) * [1.0, 2.0, 0.5, 1.0, 3.0]
    labels = (X[:, 0] + X[:, 1] > 0).astype(float)
    onehot = np.eye(3)[(X[:, 2] > 0).astype(int) + (X[:, 3] > 1)]
    for targets, task in (
        (labels, "binary"),
        (onehot, "multiclass"),
        (onehot, "multilabel"),
        (np.exp(X[:, 0]), "poisson"),
    ):
        dense = kill_point(X, targets, depth=3, task=task)
        assert kill_point(sp.csr_matrix(X), targets, depth=3, task=task) == pytest.approx(dense, rel=1e-9)
        assert 0 < dense < math.inf
    # The curvature at the best constant: p(1 - p) for a sigmoid is 1/4 at p = 1/2, a quarter of
    # squared error's 1, and with it the threshold scales as c^-(1 - q): 4^(1/3) at depth 3.
    half = np.r_[np.ones(150), np.zeros(150)]
    ratio = kill_point(X, half, depth=3, task="binary") / kill_point(X, half, depth=3, task="regression")
    assert ratio == pytest.approx(4 ** (1 / 3), rel=1e-9)
    assert kill_point(X, np.ones(300), depth=3, task="binary") == 0.0  # one class: nothing to learn


def test_a_deeper_relu_network_is_alive_at_the_default_grids_top_and_constant_at_twice_its_kill_point():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    from netreg.grid import KILL_FRACTION, kill_point

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    onehot = np.eye(3)[y]
    net = {"hidden_layer_sizes": (16, 16), "learning_rate_init": 0.01, "max_iter": 200, "random_state": 0}

    def spread(alpha):
        model = netreg.NetRegClassifier(alpha=alpha, **net).fit(X, y)
        return float(np.std(model.predict_proba(X), axis=0).max())

    kill = kill_point(X, onehot, depth=3, task="multiclass")
    assert kill < 0.7 * kill_point(X, onehot)  # the one-hidden-layer bound would leave dead networks in the grid
    assert spread(2 * kill) < 1e-3 < 1e-2 < spread(KILL_FRACTION * kill)
    search = netreg.NetRegClassifierCV(alphas=4, cv=2, max_iter=1, random_state=0, hidden_layer_sizes=(4, 4))
    expected = default_alphas(X, 4, targets=onehot, depth=3, task="multiclass")
    np.testing.assert_allclose(search.fit(X, y).alphas_, expected, rtol=1e-12)
    assert expected[-1] == pytest.approx(KILL_FRACTION * kill, rel=1e-12)


@pytest.mark.parametrize("hidden", [(4,), (4, 4)])
def test_a_poisson_regressors_default_grid_is_bounded_by_its_kill_point(hidden):
    from netreg.grid import KILL_FRACTION, kill_point

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    search = netreg.NetRegRegressorCV(hidden, loss="poisson", alphas=4, cv=2, max_iter=2, random_state=0).fit(X, y)
    kill = kill_point(X, y, depth=len(hidden) + 1, task="poisson")
    expected = default_alphas(X, 4, targets=y, depth=len(hidden) + 1, task="poisson")
    np.testing.assert_allclose(search.alphas_, expected, rtol=1e-12)
    assert expected[-1] == pytest.approx(min(KILL_FRACTION * kill, default_alphas(X, 4)[-1]), rel=1e-12)


def test_a_deeper_kill_point_is_the_same_far_from_zero_and_reads_rrx_top_pair_above_the_covariances_limit():
    from netreg.grid import DEEP_MAX_FEATURES, kill_point

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = X[:, 0] - X[:, 1] + rng.normal(size=300)
    # The covariance of features far from zero is their centered rows' (no precision lost).
    assert kill_point(X + 1e8, y, depth=3) == pytest.approx(kill_point(X, y, depth=3), rel=1e-6)  # X + 1e8 rounds
    # Above DEEP_MAX_FEATURES features: the threshold along R'X's top pair, by hand.
    wide = rng.normal(size=(200, DEEP_MAX_FEATURES + 1))
    target = wide[:, :3].sum(1)
    R, m, q = target - target.mean(), 200, 2 / 3
    a = wide.T @ R / m
    v = a / np.linalg.norm(a)
    g, c = a @ v, np.mean((wide @ v - wide.mean(0) @ v) ** 2)
    by_hand = g / (2 - q) * (2 * g * (1 - q) / (c * (2 - q))) ** (1 - q) * 2 * m / 3
    assert kill_point(wide, target, depth=3) == pytest.approx(by_hand, rel=1e-9)


def test_a_task_the_kill_point_does_not_know_is_refused_at_any_depth(refused):
    from netreg.grid import kill_point

    message = "`task` must be one of 'regression', 'poisson', 'multiclass', 'binary', 'multilabel'. Got task='bogus'."
    for depth in (2, 3):
        with refused(message, netreg.InvalidParameterError):
            kill_point(np.eye(3), np.arange(3.0), depth=depth, task="bogus")
