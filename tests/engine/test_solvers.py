"""The solvers: L-BFGS against exact solutions of linear models, and the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from netreg import conventions
from netreg.engine import TrainConfig, train_population
from netreg.engine.solvers import LBFGS, SGD, SOLVERS, Adam, get_solver
from netreg.nets import MLP

F64 = {"dtype": "float64", "device": "cpu"}


@pytest.mark.parametrize("alpha", [0.1, 10.0, 300.0])
def test_no_hidden_layer_lbfgs_equals_ridge(diabetes, alpha):
    X, y = diabetes
    Y = np.column_stack([y, np.sin(y)])  # two targets: Ridge(alpha) for any number of targets
    # Ridge is solved exactly (Cholesky); L-BFGS stops at a largest gradient entry of 1e-8. The
    # objective's curvature is at least lambda_min(X'X/m) + alpha/m (0.0086 + alpha/442 on
    # diabetes, whose features are nearly collinear), so a gradient of 1e-8 leaves each weight
    # within 1e-8 / that curvature of the minimum (1.1e-6 at alpha = 0.1, where runs on two CPUs
    # ended 3.5e-7 and under 1e-7 away).
    config = TrainConfig(solver="lbfgs", tol=1e-8, ftol=1e-15, max_iter=5000, **F64)
    result = train_population(MLP(10, (), 2), X, Y, task="regression", alphas=[alpha], config=config).members[0]
    ridge = Ridge(alpha=conventions.to_ridge_alpha(alpha)).fit(X, Y)
    curvature = np.linalg.eigvalsh(X.T @ X / len(X)).min() + alpha / len(X)
    atol = max(1e-7, 1e-8 / curvature)
    np.testing.assert_allclose(result.state_dict["layers.0.weight"].numpy(), ridge.coef_, rtol=1e-6, atol=atol)
    np.testing.assert_allclose(result.state_dict["layers.0.bias"].numpy(), ridge.intercept_, rtol=1e-6, atol=atol)
    assert result.status == "converged"


@pytest.mark.parametrize("alpha", [0.5, 20.0])
def test_no_hidden_layer_lbfgs_equals_binary_logistic_regression(alpha):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    # Both are L-BFGS runs stopped near a gradient of 1e-10. With weak regularization the
    # objective is flat along some directions (the classes are nearly separable), so the
    # two solutions agree to ~1e-6, not to machine precision: compare to 1e-5.
    config = TrainConfig(solver="lbfgs", tol=1e-10, ftol=1e-15, max_iter=5000, **F64)
    result = train_population(MLP(30, (), 1), X, y, task="binary", alphas=[alpha], config=config).members[0]
    logistic = LogisticRegression(C=conventions.to_logistic_C(alpha), tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(result.state_dict["layers.0.weight"].numpy(), logistic.coef_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.state_dict["layers.0.bias"].numpy(), logistic.intercept_, rtol=1e-5, atol=1e-5)


def test_no_hidden_layer_lbfgs_equals_multinomial_logistic_regression(digits):
    X, y = digits[0][:500], digits[1][:500]
    alpha = 2.0
    config = TrainConfig(solver="lbfgs", tol=1e-10, ftol=1e-15, max_iter=5000, **F64)
    result = train_population(MLP(64, (), 10), X, y, task="multiclass", alphas=[alpha], config=config).members[0]
    logistic = LogisticRegression(C=conventions.to_logistic_C(alpha), tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(result.state_dict["layers.0.weight"].numpy(), logistic.coef_, rtol=1e-4, atol=1e-6)
    # Softmax intercepts are defined up to a common shift (they are not penalized): compare centred.
    ours = result.state_dict["layers.0.bias"].numpy()
    np.testing.assert_allclose(
        ours - ours.mean(), logistic.intercept_ - logistic.intercept_.mean(), rtol=1e-4, atol=1e-6
    )


def test_the_registry_names_every_solver_trainconfig_accepts():
    assert list(SOLVERS) == ["adam", "sgd", "lbfgs"]
    for name, cls in SOLVERS.items():
        solver = get_solver(TrainConfig(solver=name, learning_rate=0.5, max_iter=7))
        assert type(solver) is cls and solver.name == name
        assert solver.full_batch == (name == "lbfgs")
    assert get_solver(TrainConfig(solver="sgd", learning_rate=0.5, momentum=0.3, nesterov=False)).__dict__ == {
        "learning_rate": 0.5,
        "momentum": 0.3,
        "nesterov": False,
        "lr_schedule": "constant",
        "power_t": 0.5,
    }
    assert get_solver(TrainConfig(solver="lbfgs", max_iter=7, max_fun=9, tol=1e-3, ftol=1e-6)).__dict__ == {
        "max_iter": 7,
        "max_fun": 9,
        "tol": 1e-3,
        "ftol": 1e-6,
    }


@pytest.mark.parametrize(
    "solver",
    [
        SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
        Adam(learning_rate=0.1, beta_1=0.9, beta_2=0.99, epsilon=1e-8),
    ],
)
def test_a_members_optimizer_state_exports_and_loads_back(solver):
    params = [torch.randn(3, 4, 2, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)]
    state = solver.init(params)
    for _ in range(2):
        solver.step(params, [torch.randn_like(p) for p in params], state)
    saved = solver.member_state(state, 1, ["w", "b"])
    fresh = solver.init([torch.zeros_like(p) for p in params])
    solver.load_member_state(fresh, 2, ["w", "b"], saved)
    for before, after in zip(state.tensors(), fresh.tensors()):
        assert torch.equal(after[2].to(before.dtype), before[1])
        assert not after[:2].any()


def test_lbfgs_reports_convergence_and_running_out_of_iterations():
    def quadratic(x):
        return float(((x - np.arange(4.0)) ** 2 * np.arange(1.0, 5.0)).sum()), 2 * (x - np.arange(4.0)) * np.arange(
            1.0, 5.0
        )

    points = []
    outcome = LBFGS(max_iter=100, max_fun=1000, tol=1e-12, ftol=1e-15).minimize(quadratic, np.zeros(4), points.append)
    assert outcome.status == "converged" and outcome.n_iter == len(points)
    np.testing.assert_allclose(points[-1], np.arange(4.0), atol=1e-10)
    outcome = LBFGS(max_iter=2, max_fun=1000, tol=1e-12, ftol=1e-15).minimize(quadratic, np.zeros(4), points.append)
    assert (outcome.status, outcome.n_iter) == ("max_iter", 2)


def test_lbfgs_ignores_early_stopping_and_keeps_its_last_weights(diabetes):
    # scikit-learn's L-BFGS ignores early_stopping; so does netreg's (0.1 returned the
    # initial weights here: the best-epoch copy was never taken).
    X, y = diabetes
    runs = [
        train_population(
            MLP(10, (4,), 1),
            X,
            y,
            task="regression",
            config=TrainConfig(solver="lbfgs", max_iter=15, early_stopping=early_stopping, **F64),
        ).members[0]
        for early_stopping in (False, True)
    ]
    for name, value in runs[0].state_dict.items():
        assert torch.equal(runs[1].state_dict[name], value)
    assert runs[1].history == runs[0].history
