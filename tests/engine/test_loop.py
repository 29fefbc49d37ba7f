"""The training loop: members equal solo fits and plain torch loops, stopping, divergence, records, callbacks."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import netreg
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
        module, X, y, task="multiclass", alphas=[0.1, 1e12, 1.0], config=config, callbacks=Recorder()
    )
    statuses = [m.status for m in result.members]
    assert statuses == ["max_iter", "diverged", "max_iter"]
    assert events[0] == (1, "diverged") and sorted(events) == [(0, "max_iter"), (1, "diverged"), (2, "max_iter")]
    diverged = result.members[1]
    assert diverged.message.startswith("Training diverged at epoch 1 (alpha=1000000000000.0, solver='sgd'")
    assert diverged.message.endswith("Lower alpha or the learning rate.")  # the penalty's step, not the data's
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
    # alpha / m = 1e7 / 200 = 5e4 and learning_rate * alpha / m = 5e3: the penalty's own SGD
    # step overshoots (the limit is 2 (1 + momentum) = 2), whatever the data.
    assert re.fullmatch(
        r"Training diverged at epoch 1 \(alpha=10000000.0, solver='sgd', learning_rate=0.1\): the training loss "
        r"reached \S+, \S+ times the loss of a constant prediction \(2.3\)\. The weights of the last sound epoch "
        r"are kept\. alpha is too large for this step size: the penalty alone makes each SGD step overshoot "
        r"\(learning_rate \* alpha / m = 5e\+03, alpha / m = 5e\+04\)\. Lower alpha or the learning rate\.",
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


def test_dropout_masks_follow_each_members_seed(digits):
    # Each member draws its masks from its own generator, seeded with its seed: members that
    # differ only in their seed (same initial weights, same data order) draw different masks,
    # twins draw the same ones (as their solo fits do), and without dropout seeds change nothing.
    X, y = digits[0][:200], digits[1][:200]
    config = TrainConfig(batch_size=32, max_iter=2, shuffle=False)
    start = MLP(64, (32,), 10).state_dict()
    for dropout, seeds, same in ((0.5, [0, 1], False), (0.5, [3, 3], True), (0.0, [0, 1], True)):
        twins = train_population(
            MLP(64, (32,), 10, dropout=dropout),
            X,
            y,
            task="multiclass",
            alphas=[1.0, 1.0],
            seeds=seeds,
            init_states=start,
            config=config,
        )
        a, b = (m.state_dict["layers.0.weight"] for m in twins.members)
        assert torch.equal(a, b) == same, (dropout, seeds)


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
        MLP(64, (8,), 10), X, y, task="multiclass", alphas=[0.0, 1.0, 2.0], config=config, callbacks=recorder
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


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_penalty_on_no_parameter_records_zero(solver):
    X = np.random.default_rng(0).normal(size=(30, 3))
    alphas = [1.0] if solver == "lbfgs" else [1.0, 2.0]
    result = train_population(
        MLP(3, (4,), 1),
        X,
        X.sum(1),
        task="regression",
        alphas=alphas,
        penalty=netreg.L2(exclude=["layers.*"]),
        config=TrainConfig(solver=solver, max_iter=2),
    )
    for member in result.members:
        assert member.history[-1]["penalty"] == 0.0 and member.history[-1]["weight_norms"] == {}
        assert member.history[-1]["objective"] == member.history[-1]["train_loss"]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_members_sharing_a_folds_rows_equal_training_each_alone(digits, solver):
    # A sweep's chunk: two folds of three alphas each, one seed. The members of a fold share one
    # order (drawn once) and one held-out row set; each must still train as it would alone.
    X, y = digits[0][:240].astype(np.float32), digits[1][:240]
    folds = _fold_rows(200, 2, seed=1)
    held_out = [np.setdiff1d(np.arange(240), fold) for fold in folds]
    alphas = [0.0, 0.5, 5.0] * 2
    train_rows, val_rows = [folds[0]] * 3 + [folds[1]] * 3, [held_out[0]] * 3 + [held_out[1]] * 3
    config = TrainConfig(solver=solver, batch_size=32, max_iter=4, early_stopping=True, n_iter_no_change=2, **F64)
    module = MLP(64, (16,), 10)
    population = train_population(
        module,
        X,
        y,
        task="multiclass",
        alphas=alphas,
        config=config,
        seeds=3,
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
            config=config,
            seeds=3,
            train_rows=[train_rows[k]],
            eval_rows={"val": [val_rows[k]]},
        ).members[0]
        assert (member.status, member.n_iter, member.best_epoch) == (alone.status, alone.n_iter, alone.best_epoch)
        for name, value in alone.state_dict.items():
            torch.testing.assert_close(member.state_dict[name], value, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(member.history.column("val_loss"), alone.history.column("val_loss"), rtol=1e-10)
        assert member.metrics == pytest.approx(alone.metrics, rel=1e-10)
