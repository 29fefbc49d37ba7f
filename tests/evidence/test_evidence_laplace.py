"""The Laplace evidence against closed forms: Bayesian linear and logistic regression, duplicated rows."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from evidence_helpers import TASKS, n_outputs, random_mlp, targets
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_softmax, softmax
from scipy.stats import multivariate_normal
from sklearn.linear_model import LogisticRegression, Ridge

import netreg
from expected_messages import not_a_nonnegative_float
from netreg.evidence import laplace, log_evidence, population_evidence, stack_members
from netreg.evidence.data_checks import check_data
from netreg.evidence.laplace import weighted_data_loss
from netreg.exceptions import DataError, InvalidParameterError
from netreg.nets import MLP


def _linear(coef, intercept) -> MLP:
    """A network without hidden layers holding given weights (out, in) and biases."""
    coef = np.atleast_2d(coef)
    net = MLP(coef.shape[1], (), coef.shape[0]).double()
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.as_tensor(coef))
        net.layers[0].bias.copy_(torch.as_tensor(np.atleast_1d(intercept)))
    return net


def _blr_log_marginal(X, Y, intercept, alpha, s2):
    """log p(Y | alpha, s2, b) of Bayesian linear regression, with the bias b fixed: each output column
    y - b ~ N(0, s2 (I + X X^T / alpha)) (prior W ~ N(0, s2/alpha I), noise N(0, s2 I))."""
    cov = s2 * (np.eye(len(X)) + X @ X.T / alpha)
    Y = Y.reshape(len(X), -1)
    return sum(multivariate_normal(np.zeros(len(X)), cov).logpdf(Y[:, o] - intercept[o]) for o in range(Y.shape[1]))


@pytest.fixture
def regression_data(rng):
    X = rng.normal(size=(40, 3)) + 1.5
    Y = X @ rng.normal(size=(3, 2)) + 2.0 + rng.normal(size=(40, 2))
    return X, Y


@pytest.mark.parametrize("alpha", [0.01, 3.0, 300.0])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_linear_regression_evidence_is_the_exact_bayesian_marginal_likelihood(alpha, n_targets, regression_data):
    # MAP from scikit-learn's Ridge (its intercept is the bias held at its MAP); Laplace is exact here.
    X, Y = regression_data
    Y = Y[:, :n_targets]
    ridge = Ridge(alpha=alpha).fit(X, Y)
    net = _linear(ridge.coef_, ridge.intercept_)
    result = log_evidence(net, X, Y, task="regression", alpha=alpha)
    intercept = np.atleast_1d(ridge.intercept_)
    assert result.log_evidence == pytest.approx(
        _blr_log_marginal(X, Y, intercept, alpha, result.noise_variance), rel=1e-10
    )
    fixed = log_evidence(net, X, Y, task="regression", alpha=alpha, noise_variance=0.7)
    assert fixed.noise_variance == 0.7
    assert fixed.log_evidence == pytest.approx(_blr_log_marginal(X, Y, intercept, alpha, 0.7), rel=1e-10)
    assert result.curvature == "exact" and result.n_params == 3 * n_targets


def test_the_noise_variance_maximizes_the_closed_form_evidence(regression_data):
    # For fixed alpha the MAP does not move with s2, so the closed form can be maximized over s2 numerically.
    X, Y = regression_data
    ridge = Ridge(alpha=2.0).fit(X, Y)
    result = log_evidence(_linear(ridge.coef_, ridge.intercept_), X, Y, task="regression", alpha=2.0)
    optimum = minimize_scalar(
        lambda log_s2: -_blr_log_marginal(X, Y, ridge.intercept_, 2.0, math.exp(log_s2)),
        bounds=(-5, 5),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert result.noise_variance == pytest.approx(math.exp(optimum.x), rel=1e-6)
    residual = ((Y - ridge.predict(X)) ** 2).sum()
    penalty = 2.0 * (ridge.coef_**2).sum()
    assert result.noise_variance == pytest.approx((residual + penalty) / Y.size, rel=1e-12)


def test_centered_data_without_bias_gives_the_same_evidence(regression_data):
    # With centered X and y the MAP bias is 0: the fixed-bias and the no-bias models coincide.
    X, Y = regression_data
    X, y = X - X.mean(0), Y[:, 0] - Y[:, 0].mean()
    ridge = Ridge(alpha=1.0, fit_intercept=False).fit(X, y)
    result = log_evidence(_linear(ridge.coef_, 0.0), X, y, task="regression", alpha=1.0)
    assert result.log_evidence == pytest.approx(_blr_log_marginal(X, y, [0.0], 1.0, result.noise_variance), rel=1e-10)


@pytest.mark.parametrize("alpha", [0.05, 1.0, 20.0])
def test_binary_logistic_evidence_is_the_laplace_formula_computed_with_numpy(alpha, rng):
    # MAP from LogisticRegression(C=1/alpha) (intercept not penalized); Hessian X^T diag(p(1-p)) X + alpha I.
    X = rng.normal(size=(60, 3))
    y = (rng.random(60) < expit(X @ [1.5, -1.0, 0.3])).astype(float)
    model = LogisticRegression(C=1 / alpha, tol=1e-12, max_iter=10_000).fit(X, y)
    w, b = model.coef_[0], model.intercept_[0]
    p = expit(X @ w + b)
    log_lik = np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))
    hessian = X.T @ (X * (p * (1 - p))[:, None]) + alpha * np.eye(3)
    expected = log_lik - alpha / 2 * w @ w + 1.5 * np.log(alpha) - 0.5 * np.linalg.slogdet(hessian)[1]
    result = log_evidence(_linear(w, b), X, y, task="binary", alpha=alpha)
    assert result.log_evidence == pytest.approx(expected, rel=1e-10)
    assert result.log_likelihood == pytest.approx(log_lik, rel=1e-10) and result.noise_variance is None


def test_multiclass_and_multilabel_logistic_evidence_match_numpy(rng):
    X = rng.normal(size=(50, 3))
    y = rng.integers(0, 3, size=50)
    alpha = 2.0
    model = LogisticRegression(C=1 / alpha, tol=1e-12, max_iter=10_000).fit(X, y)
    W, b = model.coef_, model.intercept_
    logits = X @ W.T + b
    p = softmax(logits, axis=1)
    log_lik = log_softmax(logits, axis=1)[np.arange(50), y].sum()
    # The softmax Hessian over vec(W) (row-major (class, feature)): sum_i (diag(p) - p p^T) (x) x x^T.
    hessian = sum(np.kron(np.diag(pi) - np.outer(pi, pi), np.outer(xi, xi)) for pi, xi in zip(p, X))
    expected = (
        log_lik
        - alpha / 2 * (W**2).sum()
        + 4.5 * np.log(alpha)
        - 0.5 * np.linalg.slogdet(hessian + alpha * np.eye(9))[1]
    )
    assert log_evidence(_linear(W, b), X, y, task="multiclass", alpha=alpha).log_evidence == pytest.approx(
        expected, rel=1e-10
    )
    # Multilabel: independent logistic regressions on shared rows, so the evidences add up.
    Y = (rng.random((50, 2)) < 0.5).astype(float)
    per_label, coefs, intercepts = 0.0, [], []
    for label in range(2):
        fit = LogisticRegression(C=1 / alpha, tol=1e-12, max_iter=10_000).fit(X, Y[:, label])
        w, c = fit.coef_[0], fit.intercept_[0]
        q = expit(X @ w + c)
        lik = np.sum(Y[:, label] * np.log(q) + (1 - Y[:, label]) * np.log1p(-q))
        h = X.T @ (X * (q * (1 - q))[:, None]) + alpha * np.eye(3)
        per_label += lik - alpha / 2 * w @ w + 1.5 * np.log(alpha) - 0.5 * np.linalg.slogdet(h)[1]
        coefs.append(w)
        intercepts.append(c)
    result = log_evidence(_linear(np.array(coefs), np.array(intercepts)), X, Y, task="multilabel", alpha=alpha)
    assert result.log_evidence == pytest.approx(per_label, rel=1e-10)


def test_a_member_trained_by_netreg_reaches_the_closed_form_evidence(rng):
    # netreg's L-BFGS in float64 finds the ridge MAP, so its evidence is Bayesian linear regression's.
    X = rng.normal(size=(80, 4))
    y = X @ [1.0, -0.5, 0.0, 2.0] + 0.3 + rng.normal(size=80)
    model = netreg.NetRegRegressor((), solver="lbfgs", dtype="float64", alpha=5.0, tol=1e-12, max_iter=1000).fit(X, y)
    ridge = Ridge(alpha=5.0).fit(X, y)
    result = log_evidence(model.module_, X, y, task="regression", alpha=5.0)
    expected = _blr_log_marginal(X, y, [ridge.intercept_], 5.0, result.noise_variance)
    assert result.log_evidence == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("curvature", ["exact", "kfac", "ekfac"])
@pytest.mark.parametrize("task", TASKS)
def test_integer_sample_weights_equal_duplicated_rows(task, curvature, rng):
    q = n_outputs(task)
    net = random_mlp(3, (4,), q)
    X = rng.normal(size=(12, 3))
    y = targets(task, 12, q, rng)
    counts = rng.integers(0, 4, size=12)
    counts[0] = 1
    weighted = log_evidence(net, X, y, task=task, alpha=0.7, sample_weight=counts, curvature=curvature)
    duplicated = log_evidence(
        net, np.repeat(X, counts, 0), np.repeat(y, counts, 0), task=task, alpha=0.7, curvature=curvature
    )
    for field in ("log_evidence", "log_likelihood", "log_det", "gamma", "alpha_fixed_point"):
        assert getattr(weighted, field) == pytest.approx(getattr(duplicated, field), rel=1e-10)
    if task == "regression":
        assert weighted.noise_variance == pytest.approx(duplicated.noise_variance, rel=1e-10)


def test_a_stacked_population_gives_each_member_its_own_evidence(rng):
    nets = [random_mlp(3, (4,), 3, seed=s) for s in range(3)]
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 3, size=20)
    stacked = {name: torch.stack([net.state_dict()[name] for net in nets]) for name in nets[0].state_dict()}
    together = population_evidence(stacked, X, y, task="multiclass", alphas=[0.1, 1.0, 10.0], activation="tanh")
    for net, alpha, result in zip(nets, [0.1, 1.0, 10.0], together):
        assert result == log_evidence(net, X, y, task="multiclass", alpha=alpha)


def test_alpha_zero_is_a_flat_prior_with_evidence_minus_infinity(rng):
    net = random_mlp(3, (), 1)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    result = log_evidence(net, X, y, task="regression", alpha=0.0)
    assert result.log_evidence == -math.inf and result.gamma == 3


def test_result_parts_and_plain_data(rng):
    net = random_mlp(3, (4, 2), 3)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 3, size=20)
    result = log_evidence(net, X, y, task="multiclass", alpha=0.5)
    squared = sum(float((layer.weight.detach() ** 2).sum()) for layer in net.layers)
    assert result.weight_sq_norm == pytest.approx(squared)
    assert result.alpha_fixed_point == pytest.approx(result.gamma / squared)
    assert sum(result.layer_gamma) == pytest.approx(result.gamma) and len(result.layer_gamma) == 3
    assert result.log_evidence == pytest.approx(
        result.log_likelihood - 0.25 * squared + 0.5 * result.n_params * math.log(0.5) - 0.5 * result.log_det
    )
    record = result.to_dict()
    assert record["units_off"] == [0, 0] and record["curvature"] == "exact"


def test_errors_say_what_was_received_and_what_was_expected(rng):
    net = random_mlp(3, (4,), 3)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    cases = [
        (dict(alpha=-0.1), InvalidParameterError, not_a_nonnegative_float("alpha", "-0.1")),
        (
            dict(task="regresion"),
            InvalidParameterError,
            "`task` must be one of 'regression', 'multiclass', 'binary', 'multilabel'. Got task='regresion'. Did you mean 'regression'?",
        ),
        (
            dict(task="binary"),
            InvalidParameterError,
            "`task` must be a task the network's 3 outputs can serve. Got task='binary'. 'binary' needs 1 output; use task='multiclass' or 'multilabel' for 3 outputs.",
        ),
        (
            dict(noise_variance=1.0),
            InvalidParameterError,
            "`noise_variance` must be None for a classification task. Got noise_variance=1.0.",
        ),
        (dict(X=X[:, :2]), DataError, "X has 2 columns; expected the 3 input features the network takes."),
        (
            dict(y=y[:4]),
            DataError,
            "X has 5 rows and y 4; expected the same number of rows in each.",
        ),
        (
            dict(y=y + 1),
            DataError,
            f"y is 3.0 at row {int(np.argmax(y + 1 == 3))}; expected class indices 0, 1, ..., 2 for a multiclass network of 3 outputs.",
        ),
        (
            dict(sample_weight=[1.0, -1.0, 1.0, 1.0, 1.0]),
            DataError,
            "sample_weight is -1.0 at row 1; expected weights >= 0.",
        ),
        (
            dict(member=net.state_dict()),
            InvalidParameterError,
            "`activation` must be one of 'relu', 'tanh', 'logistic', 'identity' when state dicts are given. Got activation=None.",
        ),
    ]
    for change, error, message in cases:
        arguments = dict(member=net, X=X, y=y, task="multiclass", alpha=1.0) | change
        with pytest.raises(error, match=re.escape(message)):
            log_evidence(**arguments)
    with pytest.raises(
        DataError,
        match=re.escape(
            "y has 1 column(s) and the network 3 output(s); expected one column per output for 'regression'."
        ),
    ):
        log_evidence(net, X, X[:, 0], task="regression", alpha=1.0)
    with pytest.raises(
        DataError, match=re.escape("y is [1.0, 2.0, 0.0] at row 0; expected 0/1 labels for 'multilabel'.")
    ):
        log_evidence(net, X, [[1.0, 2.0, 0.0]] * 5, task="multilabel", alpha=1.0)
    with pytest.raises(
        InvalidParameterError, match=re.escape("`noise_variance` must be a finite float > 0. Got noise_variance=0.0.")
    ):
        log_evidence(net, X, X, task="regression", alpha=1.0, noise_variance=0.0)
    with pytest.raises(
        InvalidParameterError, match=re.escape("`alphas` must be one alpha per member (2). Got alphas=[1.0].")
    ):
        population_evidence([net, net], X, y, task="multiclass", alphas=[1.0])
    with pytest.raises(InvalidParameterError, match=re.escape(not_a_nonnegative_float("alphas[1]", "nan"))):
        population_evidence([net, net], X, y, task="multiclass", alphas=[1.0, float("nan")])
    with pytest.raises(
        InvalidParameterError,
        match=re.escape("`member` must be one network. Got member='2 stacked members'. Use population_evidence."),
    ):
        log_evidence([net, net], X, y, task="multiclass", alpha=1.0)


@pytest.mark.parametrize("curvature", ["exact", "kfac", "ekfac"])
def test_the_curvature_of_a_sample_of_rows_is_their_ggn_scaled_to_all_the_rows(curvature, regression_data):
    # Without hidden layers, half squared error: H = I_q ⊗ X'X (KFAC exact too); from a sample, (n / S) X_s'X_s.
    X, Y = regression_data
    ridge = Ridge(alpha=3.0).fit(X, Y)
    net = _linear(ridge.coef_, ridge.intercept_)
    rows = np.array([1, 4, 7, 20, 33, 38])
    sampled = log_evidence(net, X, Y, task="regression", alpha=3.0, curvature=curvature, curvature_rows=rows)
    full = log_evidence(net, X, Y, task="regression", alpha=3.0, curvature=curvature)
    H = len(X) / len(rows) * X[rows].T @ X[rows]
    assert sampled.log_det == pytest.approx(Y.shape[1] * np.linalg.slogdet(H + 3.0 * np.eye(3))[1], rel=1e-12)
    eigenvalues = np.linalg.eigvalsh(H)
    assert sampled.gamma == pytest.approx(Y.shape[1] * (eigenvalues / (eigenvalues + 3.0)).sum(), rel=1e-12)
    # The data term is over all the rows, whatever the sample.
    assert (sampled.log_likelihood, sampled.noise_variance) == (full.log_likelihood, full.noise_variance)
    every = log_evidence(net, X, Y, task="regression", alpha=3.0, curvature=curvature, curvature_rows=np.arange(len(X)))
    assert every.log_det == pytest.approx(full.log_det, rel=1e-12)


def test_the_sample_scales_each_row_by_its_weight(rng):
    # Weighted rows: the sample's sums are sum_s w_i J_i' L_i J_i times n / S (KFAC's input factor: a weighted mean).
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    weight = rng.uniform(0.5, 2.0, size=30)
    net = random_mlp(3, (), 1)
    rows = np.arange(0, 30, 3)
    sampled = log_evidence(
        net, X, y, task="binary", alpha=0.5, sample_weight=weight, curvature="exact", curvature_rows=rows
    )
    reference = log_evidence(
        net, X[rows], y[rows], task="binary", alpha=0.5, sample_weight=weight[rows] * 3.0, curvature="exact"
    )
    assert sampled.log_det == pytest.approx(reference.log_det, rel=1e-12)
    assert (
        sampled.log_likelihood == log_evidence(net, X, y, task="binary", alpha=0.5, sample_weight=weight).log_likelihood
    )


@pytest.mark.parametrize(("name", "what"), [("curvature_rows", " (a sample of the rows)"), ("rows", "")])
def test_bad_rows_and_samples_of_rows_are_refused(name, what, rng, refused):
    net = random_mlp(3, (4,), 3)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    expected = f"`{name}` must be distinct row indices in [0, 5){what}, at least one. Got "
    for rows, got in [
        ([0, 5], "indices from 0 to 5"),
        ([-1, 2], "indices from -1 to 2"),
        ([1, 1, 2], "1 repeated indices"),
        ([2, 1, 2], "1 repeated indices"),
        ([], "an array of shape (0,) and dtype float64"),
        ([[0, 1]], "an array of shape (1, 2) and dtype int64"),
        ([0.0, 1.0], "an array of shape (2,) and dtype float64"),
    ]:
        with refused(expected + got + ".", InvalidParameterError):
            log_evidence(net, X, y, task="multiclass", alpha=1.0, **{name: rows})


def test_a_sample_of_the_training_rows_is_of_their_positions(rng, refused):
    net = random_mlp(3, (4,), 3)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    sample = "`curvature_rows` must be distinct row indices in [0, 3) (a sample of the rows), at least one."
    with refused(sample + " Got indices from 0 to 3.", InvalidParameterError):
        log_evidence(net, X, y, task="multiclass", alpha=1.0, rows=[0, 2, 4], curvature_rows=[0, 3])
    in_place = log_evidence(net, X, y, task="multiclass", alpha=1.0, rows=[0, 2, 4], curvature_rows=[1, 2])
    copied = log_evidence(net, X[[2, 4]], y[[2, 4]], task="multiclass", alpha=1.0, sample_weight=[1.5, 1.5])
    assert in_place.log_det == pytest.approx(copied.log_det, rel=1e-12)  # rows 2 and 4, each for 3 / 2 rows


@pytest.mark.parametrize("curvature_rows", [None, np.arange(0, 40, 4)])
def test_a_float32_x_gives_the_evidence_of_its_float64_copy_to_float32_rounding(curvature_rows, rng):
    X, y = rng.normal(size=(40, 3)).astype(np.float32), rng.integers(0, 3, size=40)
    net = random_mlp(3, (4,), 3)
    given = log_evidence(net, X, y, task="multiclass", alpha=0.3, curvature="kfac", curvature_rows=curvature_rows)
    copied = log_evidence(
        net, X.astype(np.float64), y, task="multiclass", alpha=0.3, curvature="kfac", curvature_rows=curvature_rows
    )
    # The curvature reads the same values in float64; the data loss's forward runs in float32.
    assert given.log_det == pytest.approx(copied.log_det, rel=1e-12)
    assert given.gamma == pytest.approx(copied.gamma, rel=1e-12)
    assert given.log_likelihood != copied.log_likelihood  # the float32 forward was taken
    assert given.log_likelihood == pytest.approx(copied.log_likelihood, rel=1e-6)
    assert given.log_evidence == pytest.approx(copied.log_evidence, rel=1e-6)


def _numpy_losses(task, out, y):
    """Per-row losses of the float64 outputs ``out`` (n, q), written out in numpy."""
    if task == "regression":
        return 0.5 * ((out - y) ** 2).sum(-1)
    if task == "multiclass":
        return -log_softmax(out, axis=-1)[np.arange(len(y)), y]
    return -(y * np.log(expit(out)) + (1 - y) * np.log(expit(-out))).sum(-1)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_data_loss_of_some_rows_is_their_float64_loss_chunk_by_chunk(task, dtype, rng, monkeypatch):
    # 5000 rows, of which 4000 are read, in chunks of 2**16 // (2 members * 50 units) = 655 rows.
    monkeypatch.setattr(laplace, "_LOSS_CHUNK_ELEMENTS", 2**16)
    q = n_outputs(task)
    X, y = rng.normal(size=(5000, 6)).astype(dtype), targets(task, 5000, q, rng)
    weight = rng.uniform(0.5, 2.0, size=5000)
    rows = np.sort(rng.choice(5000, 4000, replace=False))
    nets = [random_mlp(6, (50, 20), q, seed=seed) for seed in (0, 1)]
    stacked = stack_members(nets)
    data = check_data(stacked, X, y, task=task, sample_weight=weight, keep_float32=True)
    found = weighted_data_loss(stacked, data, torch.as_tensor(rows)).numpy()
    for k, net in enumerate(nets):  # the float64 networks on the rows in float64, all at once
        with torch.no_grad():
            out = net(torch.as_tensor(X[rows], dtype=torch.float64)).numpy()
        expected = (weight[rows] * _numpy_losses(task, out, y[rows])).sum()
        # A float32 forward rounds each layer to float32 (about 6e-8); the sum stays float64.
        assert found[k] == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("curvature", ["exact", "kfac"])
@pytest.mark.parametrize("curvature_rows", [None, [0, 3, 9, 20, 34]])
def test_the_rows_of_a_larger_x_give_the_evidence_of_their_copy(curvature, curvature_rows, rng, same_numbers):
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 3, size=60)
    weight = rng.uniform(0.5, 2.0, size=60)
    rows = np.sort(rng.choice(60, 35, replace=False))
    net = random_mlp(3, (4,), 3)
    settings = {"task": "multiclass", "alpha": 0.3, "curvature": curvature, "curvature_rows": curvature_rows}
    in_place = log_evidence(net, X, y, sample_weight=weight, rows=rows, **settings)
    copied = log_evidence(net, X[rows], y[rows], sample_weight=weight[rows], **settings)
    same_numbers(in_place.to_dict(), copied.to_dict())
    assert math.isfinite(in_place.log_evidence)
    every = log_evidence(net, X, y, sample_weight=weight, rows=np.arange(60), **settings)
    same_numbers(every.to_dict(), log_evidence(net, X, y, sample_weight=weight, **settings).to_dict())
