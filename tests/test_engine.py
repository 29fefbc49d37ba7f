"""The population engine: members equal solo fits, references, stopping, divergence, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler
from torch import nn

import netreg
from netreg import conventions
from netreg.engine import Callback, TrainConfig, member_module, train_population
from netreg.nets import MLP
from netreg.objective import objective

F64 = {"dtype": "float64", "device": "cpu"}


def _fold_rows(n, n_members, seed=0):
    # Different, unequal row sets per member, as cross-validation folds give.
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n, size=n - 7 * k, replace=False)) for k in range(n_members)]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_each_member_equals_training_it_alone(digits, solver, early_stopping):
    X, y = digits[0][:240], digits[1][:240]
    alphas, seeds = [0.0, 0.5, 5.0, 50.0], [3, 3, 4, 5]
    train_rows = _fold_rows(200, 4)
    val_rows = [np.arange(200, 240 - 3 * k) for k in range(4)]
    penalty = netreg.L2(layer_alphas={"layers.1.weight": 2.0})
    config = TrainConfig(
        solver=solver,
        learning_rate=0.05 if solver == "sgd" else 0.01,
        batch_size=32,
        max_iter=6,
        early_stopping=early_stopping,
        n_iter_no_change=2,
        tol=0.2 if early_stopping else 0.0,
        **F64,
    )
    module = MLP(64, (16,), 10)
    population = train_population(
        module,
        X,
        y,
        task="multiclass",
        alphas=alphas,
        penalty=penalty,
        config=config,
        seeds=seeds,
        train_rows=train_rows,
        eval_rows={"val": val_rows},
    )
    for k, member in enumerate(population.members):
        alone = train_population(
            module,
            X,
            y,
            task="multiclass",
            alphas=[alphas[k]],
            penalty=penalty,
            config=config,
            seeds=seeds[k],
            train_rows=[train_rows[k]],
            eval_rows={"val": [val_rows[k]]},
        ).members[0]
        assert (member.index, member.status, member.n_iter, member.best_epoch) == (
            k,
            alone.status,
            alone.n_iter,
            alone.best_epoch,
        )
        for name, value in alone.state_dict.items():
            torch.testing.assert_close(member.state_dict[name], value, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(member.history.column("objective"), alone.history.column("objective"), rtol=1e-10)
        np.testing.assert_allclose(member.history.column("val_loss"), alone.history.column("val_loss"), rtol=1e-10)
    if early_stopping:
        assert {m.status for m in population.members} >= {"early_stopped"}


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("penalty", [netreg.L2(4.0), netreg.L1(4.0), netreg.ElasticNet(4.0, l1_ratio=0.3)])
def test_single_member_equals_a_plain_torch_loop(digits, solver, penalty):
    # The reference: torch.optim on (batch mean loss + penalty value by autograd), batches in order.
    X, y = digits[0][:150], digits[1][:150]
    module = MLP(64, (10,), 10).double()
    start = {k: v.clone() for k, v in module.state_dict().items()}
    config = TrainConfig(solver=solver, learning_rate=0.02, batch_size=40, max_iter=3, shuffle=False, tol=0.0, **F64)
    result = train_population(module, X, y, task="multiclass", penalty=penalty, config=config, init_states=start)
    reference = MLP(64, (10,), 10).double()
    reference.load_state_dict(start)
    if solver == "sgd":
        optimizer = torch.optim.SGD(reference.parameters(), lr=0.02, momentum=0.9, nesterov=True)
    else:
        optimizer = torch.optim.Adam(reference.parameters(), lr=0.02)
    for _ in range(3):
        for start_row in range(0, 150, 40):
            rows = slice(start_row, start_row + 40)
            optimizer.zero_grad()
            loss = objective(reference, X[rows], y[rows], task="multiclass", penalty=None)
            (loss + penalty(reference, n_samples=150)).backward()
            optimizer.step()
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(result.members[0].state_dict[name], value, rtol=1e-9, atol=1e-12)


def test_one_full_batch_sgd_step_follows_sklearn_gradient(digits):
    # With lr=1 and no momentum, W0 - W1 is the gradient the engine used: compare it with
    # scikit-learn's backprop of the same objective (independent code).
    from reference import sklearn_loss_and_grads, sklearn_mlp_from

    X, y = digits[0][:120], digits[1][:120]
    module = MLP(64, (20,), 10).double()
    start = {k: v.clone() for k, v in module.state_dict().items()}
    config = TrainConfig(solver="sgd", momentum=0.0, learning_rate=1.0, batch_size=None, max_iter=1, **F64)
    result = train_population(module, X, y, task="multiclass", alphas=[7.0], config=config, init_states=start)
    _, sk_coef_grads, sk_intercept_grads = sklearn_loss_and_grads(sklearn_mlp_from(module, X, y, alpha=7.0), X, y)
    after = result.members[0].state_dict
    for j, (coef_grad, intercept_grad) in enumerate(zip(sk_coef_grads, sk_intercept_grads)):
        step = (start[f"layers.{j}.weight"] - after[f"layers.{j}.weight"]).numpy().T
        np.testing.assert_allclose(step, coef_grad, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(
            (start[f"layers.{j}.bias"] - after[f"layers.{j}.bias"]).numpy(), intercept_grad, rtol=1e-7, atol=1e-12
        )


@pytest.mark.parametrize("alpha", [0.1, 10.0, 300.0])
def test_no_hidden_layer_lbfgs_equals_ridge(diabetes, alpha):
    X, y = diabetes
    Y = np.column_stack([y, np.sin(y)])  # two targets: Ridge(alpha) for any number of targets
    # Ridge is solved exactly (Cholesky); L-BFGS stops at a largest gradient entry of 1e-8,
    # and the objective's curvature (>= alpha/m, plus X'X/m ~ 1) keeps the weights within ~1e-8.
    config = TrainConfig(solver="lbfgs", tol=1e-8, ftol=1e-15, max_iter=5000, **F64)
    result = train_population(MLP(10, (), 2), X, Y, task="regression", alphas=[alpha], config=config).members[0]
    ridge = Ridge(alpha=conventions.to_ridge_alpha(alpha)).fit(X, Y)
    np.testing.assert_allclose(result.state_dict["layers.0.weight"].numpy(), ridge.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(result.state_dict["layers.0.bias"].numpy(), ridge.intercept_, rtol=1e-6, atol=1e-7)
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


def test_larger_alpha_gives_smaller_total_squared_weight_norm(digits):
    X, y = digits
    alphas = [0.0, 1.0, 10.0, 100.0, 1000.0]
    config = TrainConfig(solver="adam", learning_rate=0.01, batch_size=128, max_iter=30, tol=0.0)
    result = train_population(MLP(64, (64, 64), 10), X, y, task="multiclass", alphas=alphas, config=config)
    totals = [sum(n**2 for n in m.history[-1]["weight_norms"].values()) for m in result.members]
    assert all(a > b for a, b in zip(totals, totals[1:])), totals


def test_sample_weights_equal_duplicated_rows(digits):
    X, y = digits[0][:100], digits[1][:100]
    counts = np.random.default_rng(0).integers(1, 4, size=100)
    config = TrainConfig(solver="sgd", momentum=0.5, learning_rate=0.1, batch_size=None, max_iter=5, tol=0.0, **F64)
    module = MLP(64, (8,), 10)
    start = {k: v.double() for k, v in module.state_dict().items()}
    weighted = train_population(
        module, X, y, task="multiclass", alphas=[3.0], config=config, init_states=start, sample_weight=counts
    )
    repeated = train_population(
        module,
        np.repeat(X, counts, 0),
        np.repeat(y, counts),
        task="multiclass",
        alphas=[3.0],
        config=config,
        init_states=start,
    )
    for name, value in repeated.members[0].state_dict.items():
        torch.testing.assert_close(weighted.members[0].state_dict[name], value, rtol=1e-10, atol=1e-12)


def test_early_stopping_keeps_the_best_epoch_weights(digits):
    X, y = digits[0][:300], digits[1][:300]
    config = TrainConfig(learning_rate=0.02, batch_size=32, max_iter=200, early_stopping=True, n_iter_no_change=3)
    member = train_population(
        MLP(64, (128,), 10),
        X,
        y,
        task="multiclass",
        alphas=[0.0],
        config=config,
        train_rows=[np.arange(100)],
        eval_rows={"val": [np.arange(100, 300)]},
    ).members[0]
    val_losses = member.history.column("val_loss")
    assert member.status == "early_stopped"
    assert member.best_epoch == 1 + int(np.argmin(val_losses))
    assert member.n_iter == member.best_epoch + 3
    # The kept weights are those of the best epoch: re-evaluating them gives its validation loss.
    assert member.metrics["val_loss"] == pytest.approx(val_losses[member.best_epoch - 1], rel=1e-5)


def test_diverging_member_is_stopped_and_the_others_finish(digits):
    X, y = digits[0][:200], digits[1][:200]
    config = TrainConfig(solver="sgd", learning_rate=0.1, momentum=0.0, batch_size=50, max_iter=8, tol=0.0, **F64)
    events = []

    class Recorder(Callback):
        def on_member_end(self, result):
            events.append((result.index, result.status))

    module = MLP(64, (16,), 10)
    result = train_population(
        module, X, y, task="multiclass", alphas=[0.1, 1e12, 1.0], config=config, callback=Recorder()
    )
    statuses = [m.status for m in result.members]
    assert statuses == ["max_iter", "diverged", "max_iter"]
    assert events[0] == (1, "diverged") and sorted(events) == [(0, "max_iter"), (1, "diverged"), (2, "max_iter")]
    diverged = result.members[1]
    assert diverged.message.startswith("Training diverged: the objective became ")
    assert all(torch.isfinite(t).all() for t in diverged.state_dict.values())
    alone = train_population(module, X, y, task="multiclass", alphas=[1.0], config=config).members[0]
    for name, value in alone.state_dict.items():
        torch.testing.assert_close(result.members[2].state_dict[name], value, rtol=1e-10, atol=1e-12)


def test_single_diverging_fit_raises_with_its_history(digits):
    X, y = digits[0][:200], digits[1][:200]
    config = TrainConfig(solver="sgd", learning_rate=0.1, momentum=0.0, batch_size=50, max_iter=8)
    with pytest.raises(netreg.DivergenceError) as caught:
        train_population(MLP(64, (16,), 10), X, y, task="multiclass", alphas=[1e7], config=config)
    message = str(caught.value)
    assert re.fullmatch(
        r"Training diverged: the objective became (nan|inf) at epoch \d \(alpha=10000000.0, solver='sgd', "
        r"learning_rate=0.1\)\. The weights of the last finite epoch are kept\. Lower the learning rate or "
        r"standardize the inputs \(large feature values make the loss overflow\)\.",
        message,
    ), message
    assert len(caught.value.history) >= 1


def test_runs_are_reproducible_and_seeds_matter(digits):
    X, y = digits[0][:200], digits[1][:200]
    config = TrainConfig(batch_size=32, max_iter=3)
    module = MLP(64, (32,), 10, dropout=0.3)
    runs = [
        train_population(module, X, y, task="multiclass", alphas=[0.1, 1.0], seeds=s, config=config) for s in (1, 1, 2)
    ]
    first, again, other = (r.members[0].state_dict["layers.0.weight"] for r in runs)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_dropout_masks_differ_between_members(digits):
    X, y = digits[0][:200], digits[1][:200]
    config = TrainConfig(batch_size=32, max_iter=2)
    twins = train_population(MLP(64, (32,), 10, dropout=0.5), X, y, task="multiclass", alphas=[1.0, 1.0], config=config)
    a, b = (m.state_dict["layers.0.weight"] for m in twins.members)
    assert not torch.equal(a, b)
    twins = train_population(MLP(64, (32,), 10), X, y, task="multiclass", alphas=[1.0, 1.0], config=config)
    a, b = (m.state_dict["layers.0.weight"] for m in twins.members)
    assert torch.equal(a, b)


def test_history_records_every_quantity(digits):
    X, y = digits[0][:120], digits[1][:120]
    result = train_population(
        MLP(64, (8,), 10),
        X,
        y,
        task="multiclass",
        alphas=[2.0],
        config=TrainConfig(max_iter=2, tol=0.0, **F64),
        eval_rows={"val": [np.arange(100, 120)]},
        train_rows=[np.arange(100)],
    )
    member = result.members[0]
    record = member.history[-1]
    assert set(record) == {"epoch", "train_loss", "penalty", "objective", "val_loss", "val_score", "weight_norms"}
    assert record["objective"] == pytest.approx(record["train_loss"] + record["penalty"])
    weights = {k: v.numpy() for k, v in member.state_dict.items()}
    squares = sum((weights[k] ** 2).sum() for k in ("layers.0.weight", "layers.1.weight"))
    assert record["penalty"] == pytest.approx(2.0 / (2 * 100) * squares, rel=1e-10)
    assert record["weight_norms"]["layers.1.weight"] == pytest.approx(
        np.linalg.norm(weights["layers.1.weight"]), rel=1e-10
    )
    net = member_module(MLP(64, (8,), 10).double(), member.state_dict)
    predictions = net(torch.tensor(X[100:])).argmax(1).numpy()
    assert record["val_score"] == pytest.approx(np.mean(predictions == y[100:]))


def test_callback_sees_every_epoch_and_each_member_end_once(digits):
    X, y = digits[0][:100], digits[1][:100]

    class Recorder(Callback):
        def __init__(self):
            self.begin, self.epochs, self.ends, self.done = None, [], [], None

        def on_train_begin(self, info):
            self.begin = info

        def on_epoch_end(self, epoch, records):
            self.epochs.append((epoch, sorted(records)))

        def on_member_end(self, result):
            self.ends.append(result.index)

        def on_train_end(self, result):
            self.done = result

    recorder = Recorder()
    config = TrainConfig(max_iter=5, n_iter_no_change=2, tol=10.0)  # huge tol: no epoch counts as progress
    result = train_population(
        MLP(64, (8,), 10), X, y, task="multiclass", alphas=[0.0, 1.0, 2.0], config=config, callback=recorder
    )
    assert recorder.begin["n_members"] == 3 and recorder.begin["max_iter"] == 5
    # Epoch 1 improves on nothing-so-far; epochs 2 and 3 do not improve by tol: stop after 3.
    assert recorder.epochs == [(1, [0, 1, 2]), (2, [0, 1, 2]), (3, [0, 1, 2])]
    assert sorted(recorder.ends) == [0, 1, 2]
    assert recorder.done is result
    assert [m.status for m in result.members] == ["converged"] * 3


def test_population_with_two_layer_alphas_overrides_keeps_them_fixed():
    net = MLP(3, (4,), 1)
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = X.sum(1)
    penalty = netreg.L2(layer_alphas={"layers.0.weight": 5.0})
    result = train_population(
        net, X, y, task="regression", alphas=[0.0, 2.0], penalty=penalty, config=TrainConfig(max_iter=1, **F64)
    )
    for member, alpha in zip(result.members, [0.0, 2.0]):
        w = {k: v.numpy() for k, v in member.state_dict.items()}
        expected = 5.0 / 60 * (w["layers.0.weight"] ** 2).sum() + alpha / 60 * (w["layers.1.weight"] ** 2).sum()
        assert member.history[-1]["penalty"] == pytest.approx(expected, rel=1e-10)


X_SMALL, Y_SMALL = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 3


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"alphas": [0.1, -1.0]},
            netreg.InvalidParameterError,
            "`alphas[1]` must be a finite float >= 0. Got alphas[1]=-1.0.",
        ),
        (
            {"alphas": [float("nan")]},
            netreg.InvalidParameterError,
            "`alphas[0]` must be a finite float >= 0. Got alphas[0]=nan.",
        ),
        (
            {"alphas": [True]},
            netreg.InvalidParameterError,
            "`alphas[0]` must be a finite float >= 0. Got alphas[0]=True.",
        ),
        (
            {"alphas": []},
            netreg.InvalidParameterError,
            "`alphas` must be a non-empty sequence of floats >= 0. Got alphas=[].",
        ),
        (
            {"y": Y_SMALL[:-1]},
            netreg.DataError,
            "X and y must have the same number of rows. Got X with 20 rows and y with 19 rows.",
        ),
        (
            {"X": np.where(np.eye(20, 3) > 0, np.nan, X_SMALL)},
            netreg.DataError,
            "X contains 3 NaN or infinite value(s) (first at row 0, column 0); expected finite numbers. Remove or impute them before training.",
        ),
        (
            {"X": X_SMALL[:, 0]},
            netreg.DataError,
            "X must be a 2-D array of shape (n_samples, n_features). Got a 1-D array of shape (20,). Use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample.",
        ),
        (
            {"y": Y_SMALL - 1},
            netreg.DataError,
            "y for the multiclass task must hold class indices 0, 1, ..., n_classes - 1. Got values from -1.0 to 1.0. Encode labels with sklearn's LabelEncoder.",
        ),
        (
            {"y": (np.arange(20) % 5)},
            netreg.DataError,
            "The module's output has shape (2, 3) for 2 rows; the multiclass task expected shape (2, n_outputs) with at least 5 columns (one per class; y has labels up to 4).",
        ),
        (
            {"alphas": [0.1, 0.2], "config": TrainConfig(solver="lbfgs")},
            netreg.InvalidParameterError,
            "The 'lbfgs' solver trains a single member; got a population of 2. L-BFGS's line search and curvature pairs would couple the members. Use solver='adam' or 'sgd' for populations.",
        ),
        (
            {"config": TrainConfig(early_stopping=True)},
            netreg.InvalidParameterError,
            "early_stopping=True needs validation rows: pass eval_rows={'val': [...]} with one row set per member. Got eval sets [].",
        ),
        (
            {"train_rows": [np.array([0, 25])]},
            netreg.DataError,
            "train_rows[0] must be a non-empty 1-D array of row indices in [0, 20). Got shape (2,), dtype int64, range [0, 25].",
        ),
        (
            {"seeds": [1, 2]},
            netreg.InvalidParameterError,
            "`seeds` must be an int or a sequence of 1 ints (one per member). Got seeds=[1, 2].",
        ),
        (
            {"module": nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))},
            netreg.InvalidParameterError,
            "The module has a BatchNorm layer (1: BatchNorm1d). Its running statistics cannot be updated under torch.func.vmap, which trains the population; expected a module without BatchNorm. Use LayerNorm or GroupNorm instead.",
        ),
        (
            {"sample_weight": -np.ones(20)},
            netreg.DataError,
            "sample_weight must be >= 0 with a positive sum. Got min=-1.0, sum=-20.0.",
        ),
    ],
)
def test_bad_input_raises_the_full_message(kwargs, error, message):
    arguments = {"module": MLP(3, (4,), 3), "X": X_SMALL, "y": Y_SMALL, "task": "multiclass", **kwargs}
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        train_population(**arguments)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"learning_rate": 0.0}, "`learning_rate` must be a finite float > 0. Got learning_rate=0.0."),
        ({"batch_size": 0}, "`batch_size` must be an int >= 1. Got batch_size=0."),
        ({"max_iter": 2.5}, "`max_iter` must be an int >= 1. Got max_iter=2.5."),
        ({"momentum": 1.5}, "`momentum` must be a float in [0, 1]. Got momentum=1.5."),
        (
            {"device": "gpu:0"},
            "`device` must be 'auto', 'cpu', 'cuda' or another torch device string. Got device='gpu:0'.",
        ),
        (
            {"dtype": "float16"},
            "`dtype` must be one of 'float32', 'float64'. Got dtype='float16'. Did you mean 'float64'?",
        ),
        ({"early_stopping": 1}, "`early_stopping` must be a bool. Got early_stopping=1."),
    ],
)
def test_bad_config_raises_the_full_message(kwargs, message):
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        TrainConfig(**kwargs)
