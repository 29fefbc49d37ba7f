"""Choosing alpha by the evidence: the closed-form maximizer, alpha = 0, diverged members."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.linear_model import Ridge
from torch import nn

import netreg
from netreg.evidence import evidence_gap, select_alpha
from netreg.exceptions import InvalidParameterError
from netreg.nets import MLP


def _closed_form_profile(X, y, alpha):
    """max over s2 of log N(y - b*; 0, s2 (I + X X^T / alpha)), with b* the Ridge intercept (fixed)."""
    b = Ridge(alpha=alpha).fit(X, y).intercept_
    cov = np.eye(len(X)) + X @ X.T / alpha
    s2 = (y - b) @ np.linalg.solve(cov, y - b) / len(X)
    return multivariate_normal(np.zeros(len(X)), s2 * cov).logpdf(y - b)


def test_the_chosen_alpha_is_the_closed_form_evidence_maximizer_over_the_grid(diabetes):
    # Members trained by netreg at each alpha; their evidence at their own alpha is Bayesian linear regression's.
    X, y = diabetes
    X, y = X[:150], y[:150]
    grid = np.logspace(-2, 3, 11)
    fits = [
        netreg.NetRegRegressor((), solver="lbfgs", dtype="float64", alpha=a, tol=1e-12, max_iter=1000).fit(X, y)
        for a in grid
    ]
    choice = select_alpha([fit.module_ for fit in fits], X, y, task="regression", alphas=grid)
    closed = [_closed_form_profile(X, y, a) for a in grid]
    np.testing.assert_allclose(choice.log_evidence, closed, rtol=1e-8)
    assert choice.best_index == int(np.argmax(closed)) and choice.best_alpha == grid[choice.best_index]
    assert len(choice.to_records()) == 11 and choice.to_records()[0]["alpha"] == grid[0]
    assert np.all(np.diff(choice.gamma) < 0)


def test_alpha_zero_is_never_chosen_and_a_diverged_member_neither():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=30)
    nets = [netreg.MLP(2, (), 1).double() for _ in range(3)]
    for net, alpha in zip(nets, [0.0, 1.0, 10.0]):
        ridge = Ridge(alpha=max(alpha, 1e-12)).fit(X, y)
        with torch.no_grad():
            net.layers[0].weight.copy_(torch.as_tensor(ridge.coef_[None]))
            net.layers[0].bias.fill_(ridge.intercept_)
    with torch.no_grad():
        nets[1].layers[0].weight.fill_(math.nan)
    choice = select_alpha(nets, X, y, task="regression", alphas=[0.0, 1.0, 10.0])
    assert choice.log_evidence[0] == -math.inf and math.isnan(choice.log_evidence[1])
    assert choice.best_alpha == 10.0
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "`alphas` must be a grid with at least one alpha > 0. Got alphas=[0.0]. The evidence of alpha=0 (a flat prior) is -inf."
        ),
    ):
        select_alpha(nets[:1], X, y, task="regression", alphas=[0.0])


@pytest.mark.parametrize("curvature", ["exact", "kfac"])
def test_a_diverged_member_in_a_stack_leaves_the_others_intact(curvature):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 3, size=20)
    nets = [netreg.MLP(3, (4,), 3).double() for _ in range(3)]
    alone = select_alpha(nets, X, y, task="multiclass", alphas=[1.0, 2.0, 3.0], curvature=curvature)
    with torch.no_grad():
        nets[1].layers[0].weight[0, 0] = math.inf
    choice = select_alpha(nets, X, y, task="multiclass", alphas=[1.0, 2.0, 3.0], curvature=curvature)
    assert math.isnan(choice.log_evidence[1]) and math.isnan(choice.gamma[1])
    np.testing.assert_allclose(choice.log_evidence[[0, 2]], alone.log_evidence[[0, 2]])
    assert choice.best_index in (0, 2)


@pytest.mark.parametrize(
    ("module", "kwargs", "expected"),
    [
        (MLP(3, (4,), 2), {"penalty": "l2", "task": "multiclass"}, ""),
        (MLP(3, (4,), 1), {"penalty": "l2", "task": "regression", "alpha_scale": "batch", "solver": "lbfgs"}, ""),
        (
            nn.Linear(3, 2),
            {"penalty": "l2", "task": "multiclass"},
            "a module other than netreg's MLP (the evidence reads its layers and activation)",
        ),
        (
            MLP(3, (4,), 1),
            {"penalty": "elasticnet", "task": "binary"},
            "penalty='elasticnet' (the evidence reads an L2 penalty as a Gaussian prior)",
        ),
        (
            MLP(3, (4,), 1),
            {"penalty": "l2", "task": "poisson"},
            "the Poisson loss (the evidence reads a Gaussian or Bernoulli likelihood)",
        ),
        (
            MLP(3, (4,), 1),
            {"penalty": "l2", "task": "regression", "alpha_scale": "batch", "solver": "adam"},
            "alpha_scale='batch' (the evidence reads the penalty alpha / (2 m) of the whole training set)",
        ),
    ],
)
def test_evidence_gap_names_what_the_evidence_does_not_describe(module, kwargs, expected):
    assert evidence_gap(module, **kwargs) == expected
