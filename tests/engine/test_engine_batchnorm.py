"""Any module in a population: BatchNorm and dropout per member, inputs of any shape.

Each member keeps its own running statistics and draws its own dropout masks, so a member
equals its solo fit, and a solo fit equals a plain ``torch.optim`` loop written here from
scratch: shuffled batches from a generator seeded with the member's seed, the dropout masks
from PyTorch's global generator seeded with it, BatchNorm updated as plain PyTorch does.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import netreg
from netreg.engine import TrainConfig, member_module, train_population
from netreg.nets import MLP

F64 = {"dtype": "float64", "device": "cpu"}


class SmallCNN(nn.Module):
    """Conv2d -> (BatchNorm2d) -> ReLU -> (Dropout) -> Linear, on 1x8x8 images."""

    def __init__(self, batch_norm: bool = True, dropout: float = 0.0, channels: int = 3) -> None:
        super().__init__()
        # No bias before BatchNorm: its gradient is zero up to rounding, which Adam would amplify.
        self.conv = nn.Conv2d(1, channels, 3, padding=1, bias=not batch_norm)
        self.norm = nn.BatchNorm2d(channels) if batch_norm else nn.Identity()
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(channels * 16, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.norm(self.conv(x))), 2)
        return self.head(self.drop(x.flatten(1)))


class FunctionalDropout(nn.Module):
    """Dropout written every way a module may write it: functional, channel-wise, in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.hidden = nn.Linear(64, 12, bias=False)
        self.norm = nn.BatchNorm1d(12)
        self.head = nn.Linear(12, 10)
        self.channels = nn.Dropout2d(0.25)

    def forward(self, x):
        x = self.channels(torch.relu(self.conv(x)))
        x = F.dropout(F.max_pool2d(x, 2).flatten(1), 0.2, self.training)
        x = F.dropout(self.hidden(x), 0.1, self.training, inplace=True)
        return self.head(torch.relu(self.norm(x)))


def _images(digits, n):
    X, y = digits
    return X[:n].reshape(n, 1, 8, 8), y[:n]


def _fold_rows(n, n_members, seed=0):
    # Different, unequal row sets: padded batches, and steps where a short member has none.
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n, size=n - 9 * k, replace=False)) for k in range(n_members)]


def _assert_same_member(member, alone, rtol=1e-9, atol=1e-11):
    assert (member.status, member.n_iter, member.best_epoch) == (alone.status, alone.n_iter, alone.best_epoch)
    assert set(member.state_dict) == set(alone.state_dict)
    for name, value in alone.state_dict.items():
        torch.testing.assert_close(member.state_dict[name], value, rtol=rtol, atol=atol, msg=name)
    for column in ("objective", "val_loss") if "val_loss" in alone.history[-1] else ("objective",):
        np.testing.assert_allclose(member.history.column(column), alone.history.column(column), rtol=rtol)


def _population_and_solo_fits(module, X, y, config, alphas, seeds, train_rows, eval_rows):
    population = train_population(
        module,
        X,
        y,
        task="multiclass",
        alphas=alphas,
        config=config,
        seeds=seeds,
        train_rows=train_rows,
        eval_rows=eval_rows,
    )
    for k, member in enumerate(population.members):
        alone = train_population(
            module,
            X,
            y,
            task="multiclass",
            alphas=[alphas[k]],
            config=config,
            seeds=seeds[k],
            train_rows=[train_rows[k]],
            eval_rows={name: [rows[k]] for name, rows in eval_rows.items()},
        ).members[0]
        yield member, alone


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize(
    "module",
    [SmallCNN(), SmallCNN(batch_norm=False, dropout=0.3), SmallCNN(dropout=0.3), FunctionalDropout()],
    ids=["batchnorm", "dropout", "batchnorm+dropout", "functional-dropout"],
)
def test_each_member_with_batch_norm_or_dropout_equals_training_it_alone(digits, solver, module):
    X, y = _images(digits, 260)
    alphas, seeds = [0.0, 0.5, 5.0, 50.0], [3, 3, 4, 5]
    config = TrainConfig(
        solver=solver,
        learning_rate=0.05 if solver == "sgd" else 0.01,
        batch_size=32,
        max_iter=4,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.05,
        **F64,
    )
    pairs = _population_and_solo_fits(
        module,
        X,
        y,
        config,
        alphas,
        seeds,
        _fold_rows(200, 4),
        {"val": [np.arange(200, 260 - 3 * k) for k in range(4)]},
    )
    for member, alone in pairs:
        _assert_same_member(member, alone)
    if isinstance(module, SmallCNN) and isinstance(module.norm, nn.BatchNorm2d):
        # Each member's own statistics: none is still at its initial value, and they differ.
        means = [
            member.state_dict["norm.running_mean"]
            for member, _ in _population_and_solo_fits(
                module, X, y, config, alphas[:2], [3, 4], _fold_rows(200, 2), {"val": [np.arange(200, 260)] * 2}
            )
        ]
        assert not torch.equal(means[0], means[1]) and all(m.abs().sum() > 0 for m in means)


def _plain_torch_loop(net, X, y, *, alpha, seed, solver, lr, batch_size, epochs):
    """Plain PyTorch: torch.optim on the batch mean loss plus alpha / (2 m) * sum of the squared
    weights of the Linear and Conv layers, rows shuffled each epoch by a generator seeded with
    ``seed``, dropout from the global generator seeded with ``seed``."""
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    m = len(X)
    weights = [mod.weight for mod in net.modules() if isinstance(mod, nn.Linear | nn.Conv2d)]
    if solver == "sgd":
        optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True)
    else:
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net.train()
    for _ in range(epochs):
        permutation = torch.randperm(m, generator=order)
        for start in range(0, m, batch_size):
            rows = permutation[start : start + batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(net(X[rows]), y[rows]) + alpha / (2 * m) * sum(w.square().sum() for w in weights)
            loss.backward()
            optimizer.step()
    return net


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize(
    "make",
    [
        SmallCNN,
        lambda: SmallCNN(batch_norm=False, dropout=0.4),
        lambda: SmallCNN(dropout=0.4),
        FunctionalDropout,
        lambda: MLP(64, (24, 16), 10, dropout=0.3),
    ],
    ids=["batchnorm", "dropout", "batchnorm+dropout", "functional-dropout", "mlp-dropout"],
)
def test_a_solo_fit_equals_a_plain_torch_loop(digits, solver, make):
    # 150 rows in batches of 40: the last batch has 30 rows, which BatchNorm and dropout see alone.
    X, y = _images(digits, 150)
    if make().__class__ is MLP:
        X = X.reshape(150, 64)
    net = make().double()
    start = {name: value.clone() for name, value in net.state_dict().items()}
    config = TrainConfig(solver=solver, learning_rate=0.03, batch_size=40, max_iter=3, tol=0.0, **F64)
    member = train_population(
        net, X, y, task="multiclass", alphas=[3.0], seeds=11, config=config, init_states=start
    ).members[0]
    reference = _plain_torch_loop(net, X, y, alpha=3.0, seed=11, solver=solver, lr=0.03, batch_size=40, epochs=3)
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(member.state_dict[name], value, rtol=1e-9, atol=1e-12, msg=name)


def test_running_statistics_are_used_in_eval_mode_and_kept_with_the_best_epoch(digits):
    X, y = _images(digits, 300)
    config = TrainConfig(learning_rate=0.02, batch_size=32, max_iter=40, early_stopping=True, n_iter_no_change=3)
    result = train_population(
        SmallCNN(),
        X,
        y,
        task="multiclass",
        alphas=[0.0, 1.0],
        config=config,
        train_rows=[np.arange(100)] * 2,
        eval_rows={"val": [np.arange(100, 300)] * 2},
    )
    for member in result.members:
        assert member.status == "early_stopped" and member.best_epoch < member.n_iter
        # The kept weights and statistics are the best epoch's: in eval mode, as plain PyTorch
        # evaluates them, they give that epoch's validation loss.
        net = member_module(SmallCNN(), member.state_dict)
        with torch.no_grad():
            logits = net(torch.as_tensor(X[100:], dtype=torch.float32))
        val_loss = F.cross_entropy(logits, torch.as_tensor(y[100:])).item()
        assert val_loss == pytest.approx(member.history[member.best_epoch - 1]["val_loss"], rel=1e-5)
        assert member.metrics["val_loss"] == pytest.approx(val_loss, rel=1e-5)
        assert int(member.state_dict["norm.num_batches_tracked"]) == member.best_epoch * 4


def test_members_of_the_same_seed_and_rows_share_their_masks_as_they_would_alone(digits):
    # One generator for all (drawn once): still each member's solo masks.
    X, y = _images(digits, 200)
    config = TrainConfig(batch_size=48, max_iter=2, tol=0.0, **F64)
    module = SmallCNN(dropout=0.5)
    population = train_population(module, X, y, task="multiclass", alphas=[0.0, 10.0], seeds=7, config=config)
    for k, member in enumerate(population.members):
        alone = train_population(module, X, y, task="multiclass", alphas=[[0.0, 10.0][k]], seeds=7, config=config)
        _assert_same_member(member, alone.members[0])


def test_inputs_of_any_shape_reach_the_module(digits):
    class Sequence(nn.Module):
        # (n, 8 channels, 8 steps) -> a 1-D convolution -> mean over the steps -> logits
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(8, 6, 3)
            self.head = nn.Linear(6, 10)

        def forward(self, x):
            return self.head(torch.relu(self.conv(x)).mean(-1))

    X, y = digits[0][:120].reshape(120, 8, 8), digits[1][:120]
    result = train_population(
        Sequence(), torch.as_tensor(X), y, task="multiclass", alphas=[0.1, 1.0], config=TrainConfig(max_iter=2)
    )
    assert [m.status for m in result.members] == ["max_iter", "max_iter"]
    assert set(result.members[0].history[-1]["weight_norms"]) == {"conv.weight", "head.weight"}


@pytest.mark.parametrize(
    "module, X, message",
    [
        (
            nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.Unflatten(1, (2, 5))),
            np.zeros((20, 1, 8, 8)),
            "The module's output has shape (2, 2, 5) for 2 rows; the multiclass task expected shape (2, n_outputs) "
            "with at least 3 columns (one per class; y has labels up to 2). The rows were of shape (1, 8, 8).",
        ),
        (
            MLP(64, (4,), 3),
            np.zeros((20, 1, 8, 8)),
            "X must be a 2-D array of shape (n_samples, n_features). Got a 4-D array of shape (20, 1, 8, 8).",
        ),
        (
            nn.Sequential(nn.Flatten(), nn.Linear(64, 3)),
            np.zeros(20),
            "X must be an array of shape (n_samples, ...) with 2 or more dimensions. Got a 1-D array of shape (20,). "
            "Use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample.",
        ),
    ],
)
def test_inputs_the_module_does_not_fit_are_refused(module, X, message):
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        train_population(module, X, np.arange(20) % 3, task="multiclass")


def test_dropout_calls_that_change_between_steps_are_refused(digits):
    class Flaky(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(64, 10)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            x = F.dropout(x, 0.2, self.training) if self.calls % 3 else x
            return self.layer(x)

    message = (
        "The module's dropout calls changed between forward passes on inputs of the same shape; netreg draws "
        "each member's masks from the calls of a first pass. Expected the same dropout calls, in the same order, "
        "at every training step."
    )
    with pytest.raises(RuntimeError, match=f"^{re.escape(message)}$"):
        train_population(Flaky(), digits[0][:100], digits[1][:100], task="multiclass", config=TrainConfig(max_iter=3))


def test_functional_alpha_dropout_is_refused(digits):
    class Selu(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(64, 10)

        def forward(self, x):
            return self.layer(F.alpha_dropout(x, 0.2, self.training))

    message = (
        "The module uses alpha dropout (alpha_dropout), whose masks netreg cannot draw per member; expected "
        "nn.Dropout (or Dropout1d/2d/3d). Replace it, or set its p to 0."
    )
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        train_population(Selu(), digits[0][:100], digits[1][:100], task="multiclass", config=TrainConfig(max_iter=1))


def test_lbfgs_updates_the_running_statistics_at_every_evaluation_as_a_closure_would(digits):
    # Full batch: each evaluation of the objective is a training-mode forward on all the rows.
    X, y = _images(digits, 120)
    member = train_population(
        SmallCNN(), X, y, task="multiclass", alphas=[1.0], config=TrainConfig(solver="lbfgs", max_iter=5, **F64)
    ).members[0]
    assert member.n_iter == 5 and int(member.state_dict["norm.num_batches_tracked"]) >= 5
    assert member.state_dict["norm.running_mean"].dtype == torch.float64
    assert member.state_dict["norm.running_mean"].abs().sum() > 0


def test_a_module_with_an_embedding_casts_its_indices_back(digits):
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(17, 5)
            self.head = nn.Linear(5, 10)

        def forward(self, x):
            return self.head(self.embed(x.long()).mean(1))

    tokens = np.round(digits[0][:200] * 16)  # 64 "tokens" per row, each in 0..16
    result = train_population(
        Bag(), tokens, digits[1][:200], task="multiclass", alphas=[0.0, 100.0], config=TrainConfig(max_iter=3)
    )
    # The embedding table is not penalized by default: only the head's weight.
    assert list(result.members[0].history[-1]["weight_norms"]) == ["head.weight"]
    assert not torch.equal(result.members[0].state_dict["embed.weight"], Bag().embed.weight)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_each_member_of_an_mlp_with_dropout_equals_its_solo_fit(digits, solver):
    # The population's feature-major batched forward (padded batches, each member's own
    # generator) against the solo fit's own 2-D weights, which equals a plain torch loop.
    X, y = digits[0][:260], digits[1][:260]
    config = TrainConfig(
        solver=solver, learning_rate=0.05 if solver == "sgd" else 0.01, batch_size=32, max_iter=3, tol=0.0, **F64
    )
    pairs = _population_and_solo_fits(
        MLP(64, (24, 16), 10, dropout=0.3),
        X,
        y,
        config,
        [0.0, 0.5, 5.0, 50.0],
        [3, 3, 4, 5],
        _fold_rows(200, 4),
        {"val": [np.arange(200, 260 - 3 * k) for k in range(4)]},
    )
    for member, alone in pairs:
        _assert_same_member(member, alone)
