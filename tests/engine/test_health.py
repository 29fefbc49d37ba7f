"""Failures that leave every number finite (an overflowed optimizer state, a runaway loss),
and the cause each diverged member's message names: checked against closed forms,
scikit-learn's metrics and plain torch."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, mean_poisson_deviance

import netreg
from netreg import NetRegClassifier, NetRegRegressor
from netreg.engine import TrainConfig, train_population
from netreg.engine.health import RUNAWAY, blame, constant_loss, finite_members, reference_loss
from netreg.losses import get_task
from netreg.nets import MLP


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


WEIGHTS = np.array([1.0, 2.0, 1.0, 4.0, 0.5])


def test_the_constant_predictions_loss_is_the_class_frequencies_log_loss():
    y = np.array([0, 1, 1, 2, 0])
    freq = np.bincount(y, weights=WEIGHTS) / WEIGHTS.sum()
    expected = log_loss(y, np.tile(freq, (5, 1)), sample_weight=WEIGHTS)
    value = constant_loss(get_task("multiclass"), torch.tensor(y), torch.tensor(WEIGHTS))
    assert value == pytest.approx(expected, rel=1e-12)


def test_the_constant_predictions_loss_of_labels_sums_each_labels_log_loss():
    y = np.array([[0, 1], [1, 1], [1, 0], [0, 1], [1, 1]], dtype=float)
    expected = 0.0
    for label in range(2):
        p = np.average(y[:, label], weights=WEIGHTS)
        expected += log_loss(y[:, label], np.full(5, p), sample_weight=WEIGHTS, labels=[0, 1])
    value = constant_loss(get_task("multilabel"), torch.tensor(y), torch.tensor(WEIGHTS))
    assert value == pytest.approx(expected, rel=1e-12)


def test_the_constant_predictions_loss_of_a_regression_is_half_the_weighted_variance():
    y = np.array([[1.0, 10.0], [2.0, -4.0], [4.0, 0.0], [0.0, 3.0], [7.0, 1.0]])
    variance = [np.average((y[:, j] - np.average(y[:, j], weights=WEIGHTS)) ** 2, weights=WEIGHTS) for j in (0, 1)]
    value = constant_loss(get_task("regression"), torch.tensor(y), torch.tensor(WEIGHTS))
    assert value == pytest.approx(0.5 * sum(variance), rel=1e-12)


def test_the_constant_predictions_loss_of_counts_is_half_the_deviance_at_their_mean():
    y = np.array([0.0, 3.0, 1.0, 5.0, 2.0])
    mean = np.average(y, weights=WEIGHTS)
    expected = 0.5 * mean_poisson_deviance(y, np.full(5, mean), sample_weight=WEIGHTS)
    value = constant_loss(get_task("poisson"), torch.tensor(y).reshape(-1, 1), torch.tensor(WEIGHTS))
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "task, y, expected",
    [
        ("regression", [[3.0], [5.0], [4.0]], (9 + 25 + 16) / 6),  # the zero output: half the mean square
        ("regression", [[0.1], [0.2], [0.3]], 1.0),  # at least 1: a network's outputs start near 1 in size
        ("multiclass", [0, 1, 2], math.log(3)),  # the class frequencies are uniform: both log 3
        ("multiclass", [2, 2, 2], math.log(3)),  # one class: the best constant is exact, zero logits lose log 3
        ("binary", [[1.0], [1.0], [1.0]], 1.0),  # zero logits lose log 2 < 1
    ],
)
def test_a_runaway_is_measured_against_a_constant_prediction_of_at_least_1(task, y, expected):
    target = torch.tensor(y, dtype=torch.long if task == "multiclass" else torch.float64)
    value = reference_loss(get_task(task), target, torch.ones(3))
    assert value == pytest.approx(expected)


def test_targets_a_constant_fits_exactly_still_train(digits, diabetes):
    X, y = digits
    one_label = train_population(
        MLP(64, (8,), 10), X[:100], np.full(100, 3), task="multiclass", config=TrainConfig(max_iter=3)
    ).members[0]
    X, _ = diabetes
    constant = train_population(
        MLP(10, (8,), 1), X, np.full(len(X), 2.0), task="regression", config=TrainConfig(max_iter=3)
    ).members[0]
    assert one_label.status != "diverged" and constant.status != "diverged"


def test_finite_members_finds_the_member_with_a_nan_or_inf_anywhere():
    a = torch.zeros(3, 2, 2)
    a[1, 1, 0] = float("nan")
    b = torch.zeros(3, 4)
    b[2, 3] = float("-inf")
    assert finite_members([a, b]).tolist() == [True, False, False]


SETTINGS = dict(
    solver="adam",
    learning_rate=1e-3,
    momentum=0.0,
    nesterov=False,
    scale=1.0,
    weight=0.1,
    l1_ratio=0.0,
    sample_weight=1.0,
    target_std=None,
    dtype=torch.float32,
)
SQRT_MAX32 = math.sqrt(torch.finfo(torch.float32).max)


@pytest.mark.parametrize(
    "changes, cause",
    [
        ({}, "learning_rate"),
        # Heavy ball: the penalty's step is stable while learning_rate * alpha / m < 2 (1 + momentum) = 3.
        ({"solver": "sgd", "learning_rate": 0.1, "momentum": 0.5, "scale": 29.9}, "learning_rate"),
        ({"solver": "sgd", "learning_rate": 0.1, "momentum": 0.5, "scale": 30.1}, "alpha_step"),
        # Nesterov: while it is < 2 (1 + momentum) / (1 + 2 momentum) = 3.8 / 2.8.
        ({"solver": "sgd", "learning_rate": 1.0, "momentum": 0.9, "nesterov": True, "scale": 1.35}, "learning_rate"),
        ({"solver": "sgd", "learning_rate": 1.0, "momentum": 0.9, "nesterov": True, "scale": 1.36}, "alpha_step"),
        # L1 has no curvature: its subgradient steps bounce, they do not blow up.
        ({"solver": "sgd", "learning_rate": 1.0, "l1_ratio": 1.0, "scale": 1e6}, "learning_rate"),
        # The penalty's gradient squared overflows float32 (Adam keeps that square), not float64.
        ({"scale": 10 * SQRT_MAX32 / 1e3 / 0.1}, "alpha"),
        ({"scale": 10 * SQRT_MAX32 / 1e3 / 0.1, "dtype": torch.float64}, "learning_rate"),
        ({"scale": 0.9 * SQRT_MAX32 / 1e3 / 0.1}, "learning_rate"),
        ({"sample_weight": 1e33}, "sample_weight"),
        ({"sample_weight": 1e33, "dtype": torch.float64}, "learning_rate"),
        ({"target_std": 150.0}, "target"),
        ({"target_std": 50.0}, "learning_rate"),
        ({"target_std": 150.0, "scale": 1e30}, "alpha"),  # the penalty first: it fails whatever the target
    ],
)
def test_blame_names_each_cause_at_its_threshold(changes, cause):
    assert blame(**{**SETTINGS, **changes}) == cause


def test_adam_with_a_huge_alpha_is_diverged_not_converged(digits, refused):
    X, y = digits
    message = (
        "Training diverged at epoch 1 (alpha=1e+30, solver='adam', learning_rate=0.001): the optimizer's running "
        "averages overflowed float32, so the weights stopped moving. The weights of the last sound epoch are kept. "
        f"alpha is too large: the penalty's gradients alone (alpha / m = {1e30 / len(y):.3g}) square to more than "
        "float32 holds. Lower alpha (one this large switches the penalized layers off anyway) or train in float64."
    )
    with refused(message, netreg.DivergenceError):
        NetRegClassifier((16,), alpha=1e30, max_iter=5, random_state=0).fit(X, y)
    # In float64 the squares fit: the same fit trains (to a network the penalty switched off).
    model = NetRegClassifier((16,), alpha=1e30, max_iter=5, random_state=0, dtype="float64").fit(X, y)
    assert model.status_ != "diverged"


def test_a_member_that_overflows_leaves_its_neighbours_as_they_would_be_alone(digits):
    X, y = digits[0][:300], digits[1][:300]
    config = TrainConfig(max_iter=4, batch_size=50)
    module = MLP(64, (16,), 10)
    both = train_population(module, X, y, task="multiclass", alphas=[1e-3, 1e30], config=config)
    assert [m.status for m in both.members] == ["max_iter", "diverged"]
    assert both.members[1].n_iter == 1 and "overflowed float32" in both.members[1].message
    alone = train_population(module, X, y, task="multiclass", alphas=[1e-3], config=config).members[0]
    for name, value in alone.state_dict.items():
        torch.testing.assert_close(both.members[0].state_dict[name], value, rtol=1e-5, atol=1e-6)


def test_a_runaway_loss_is_diverged_and_blamed_on_the_learning_rate(digits):
    X, y = digits[0][:300], digits[1][:300]
    config = TrainConfig(learning_rate=1e8, max_iter=10, batch_size=50)
    result = train_population(MLP(64, (16,), 10), X, y, task="multiclass", alphas=[1e-4, 1e-2], config=config)
    baseline = reference_loss(get_task("multiclass"), torch.tensor(y), torch.ones(len(y)))
    assert baseline == pytest.approx(math.log(10))  # uniform probabilities lose more than the class frequencies
    for member in result.members:
        assert member.status == "diverged" and member.n_iter == 1
        loss = member.history[-1]["train_loss"]
        assert math.isfinite(loss) and loss > RUNAWAY * baseline
        assert re.fullmatch(
            rf"Training diverged at epoch 1 \(alpha={member.alpha}, solver='adam', learning_rate=100000000.0\): the "
            rf"training loss reached \S+, \S+ times the loss of a constant prediction \({baseline:.3g}\)\. The weights "
            r"of the last sound epoch are kept\. Lower the learning rate or standardize the inputs \(large feature "
            r"values make the loss overflow\)\.",
            member.message,
        ), member.message
        # The weights kept are the initial ones: the member never had a sound epoch.
        assert all(torch.isfinite(value).all() for value in member.state_dict.values())


def test_unscaled_inputs_that_start_far_above_the_constant_and_recover_are_no_runaway():
    # The closest ordinary case measured: SGD at 0.01 on unscaled breast cancer starts thousands
    # of times above the constant prediction's loss, then recovers.
    X, y = load_breast_cancer(return_X_y=True)
    model = NetRegClassifier((50, 50), solver="sgd", learning_rate_init=0.01, max_iter=6, random_state=0).fit(X, y)
    baseline = log_loss(y, np.full(len(y), y.mean()))
    assert model.status_ != "diverged"
    assert 1e3 * baseline < max(model.loss_curve_) < RUNAWAY * baseline / 5
    assert model.loss_curve_[-1] < 10 * baseline


def test_large_targets_are_named_as_the_cause():
    X, y = load_diabetes(return_X_y=True)
    y = y * 1e20
    std = float(np.std(y, ddof=1))
    with pytest.raises(netreg.DivergenceError) as caught:
        NetRegRegressor((16,), max_iter=5, random_state=0).fit(X, y)
    assert str(caught.value) == (
        "Training diverged at epoch 1 (alpha=0.0001, solver='adam', learning_rate=0.001): the objective became inf. "
        "The weights of the last sound epoch are kept. The targets are on a large scale (standard deviation "
        f"{std:.3g}), and so are the squared errors and their gradients: standardize the target "
        "(transformer=StandardScaler(); the CLI does by default) or lower the learning rate."
    )
    # Standardized, the same targets train.
    from sklearn.preprocessing import StandardScaler

    model = NetRegRegressor((16,), max_iter=5, random_state=0, transformer=StandardScaler()).fit(X, y)
    assert model.status_ != "diverged"


def test_huge_sample_weights_are_named_as_the_cause(diabetes):
    X, y = diabetes
    with pytest.raises(netreg.DivergenceError) as caught:
        NetRegRegressor((16,), max_iter=5, random_state=0).fit(X, y, sample_weight=np.full(len(y), 1e37))
    assert str(caught.value) == (
        "Training diverged at epoch 1 (alpha=0.0001, solver='adam', learning_rate=0.001): the objective became nan. "
        "The weights of the last sound epoch are kept. The sample weights reach 1e+37, where weighted losses "
        "overflow float32: divide them by a common factor, and alpha by the same one to keep the penalty (the loss "
        "is a weighted mean: only the weights' ratios matter to it)."
    )


def test_tiny_sample_weights_make_alpha_over_m_huge_and_the_message_says_so(diabetes):
    X, y = diabetes
    weights = np.full(len(y), 1e-30)
    m = float(np.float32(1e-30)) * len(y)
    with pytest.raises(netreg.DivergenceError) as caught:
        NetRegRegressor((16,), alpha=1.0, max_iter=5, random_state=0).fit(X, y, sample_weight=weights)
    assert str(caught.value) == (
        "Training diverged at epoch 1 (alpha=1.0, solver='adam', learning_rate=0.001): the optimizer's running "
        "averages overflowed float32, so the weights stopped moving. The weights of the last sound epoch are kept. "
        f"alpha is too large: the penalty's gradients alone (alpha / m = {1.0 / m:.3g}, m = {m:.3g}, the sum of the "
        "sample weights: scaling them up lowers it) square to more than float32 holds. Lower alpha (one this large "
        "switches the penalized layers off anyway) or train in float64."
    )


@pytest.mark.parametrize("block", [3, 2**16])
def test_the_runaway_baseline_is_computed_in_blocks_of_rows_as_a_whole(monkeypatch, block):
    # Closed forms: the best constant's loss is the entropy of the weighted class frequencies
    # (half the weighted variance for a regression); zero logits lose log(n_classes).
    from netreg.engine import health

    monkeypatch.setattr(health, "BASELINE_BLOCK", block)
    rng = np.random.default_rng(0)
    labels, weight = rng.integers(0, 4, size=10), rng.uniform(0.5, 2.0, size=10)
    freq = np.bincount(labels, weights=weight, minlength=4) / weight.sum()
    entropy = -np.sum(freq * np.log(freq))
    y, w = torch.as_tensor(labels), torch.as_tensor(weight)
    assert health.constant_loss(get_task("multiclass"), y, w) == pytest.approx(entropy, rel=1e-12)
    assert health.reference_loss(get_task("multiclass"), y, w) == pytest.approx(max(entropy, np.log(4), 1.0))
    targets = rng.normal(scale=30.0, size=(10, 1))
    mean = np.sum(weight * targets[:, 0]) / weight.sum()
    variance = np.sum(weight * (targets[:, 0] - mean) ** 2) / weight.sum()
    zero_loss = np.sum(weight * targets[:, 0] ** 2) / weight.sum() / 2
    task = get_task("regression")
    assert health.constant_loss(task, torch.as_tensor(targets), w) == pytest.approx(variance / 2, rel=1e-12)
    assert health.reference_loss(task, torch.as_tensor(targets), w) == pytest.approx(max(variance / 2, zero_loss, 1.0))
