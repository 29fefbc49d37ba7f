"""SGD's step-size schedules, scikit-learn's Adam epsilon and penalty per batch, in the engine.

The references are scikit-learn's own optimizers (``SGDOptimizer``, ``AdamOptimizer``) driven
step by step, and a population's members against each trained alone.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from netreg.engine import TrainConfig, train_population
from netreg.engine.optim import AdamState, SGDState, adam_step_
from netreg.engine.schedules import MIN_RATE, adaptive_rates, end_epoch_, invscaling_rates, set_rates_
from netreg.engine.solvers import SGD
from netreg.engine.step import PenaltyTerm, per_batch
from netreg.exceptions import InvalidParameterError
from netreg.nets import MLP

F64 = {"dtype": "float64", "device": "cpu"}


def test_invscaling_is_scikit_learns_rate_at_its_time_step():
    optimizer = SGDOptimizer([np.zeros(2)], learning_rate_init=0.1, lr_schedule="invscaling", power_t=0.3)
    for seen in (0, 100, 12345):
        optimizer.iteration_ends(seen)
        ours = invscaling_rates(0.1, torch.tensor([float(seen)], dtype=torch.float64), 0.3)
        assert ours.item() == pytest.approx(optimizer.learning_rate, rel=1e-15)


def test_adaptive_divides_stalled_members_by_five_and_stops_them_at_scikit_learns_floor():
    for rate in (0.01, 5e-6, MIN_RATE, 1e-7):
        optimizer = SGDOptimizer([np.zeros(2)], learning_rate_init=rate, lr_schedule="adaptive")
        stops = optimizer.trigger_stopping("stalled.", verbose=False)
        new, stop = adaptive_rates(torch.tensor([rate], dtype=torch.float64), torch.tensor([True]))
        assert stop.item() == stops and new.item() == pytest.approx(optimizer.learning_rate, rel=1e-15)
    new, stop = adaptive_rates(torch.tensor([0.01], dtype=torch.float64), torch.tensor([False]))
    assert new.item() == 0.01 and not stop.item()


@pytest.mark.parametrize("nesterov", [True, False])
def test_momentum_keeps_scikit_learns_velocity_when_the_rate_changes(nesterov):
    # scikit-learn keeps v = momentum * v - lr * g; the engine a gradient buffer, rescaled at
    # every change of step size: the two walk the same path under a changing rate.
    rng = np.random.default_rng(0)
    theirs = [rng.normal(size=(3, 2))]
    optimizer = SGDOptimizer([theirs[0]], 0.1, "adaptive", momentum=0.9, nesterov=nesterov)
    solver = SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov, lr_schedule="adaptive")
    ours = [torch.tensor(theirs[0][None].copy(), requires_grad=False)]
    state = solver.init(ours)
    for step in range(12):
        grad = rng.normal(size=(3, 2))
        optimizer.update_params(theirs, [grad])
        solver.step(ours, [torch.tensor(grad[None])], state)
        if step % 4 == 3:  # a stall: both divide their rate by 5
            optimizer.trigger_stopping("", verbose=False)
            solver.end_epoch(state, [torch.arange(5)], torch.tensor([True]))
    np.testing.assert_allclose(ours[0][0].numpy(), theirs[0], rtol=1e-13, atol=1e-15)
    assert state.learning_rate.item() == pytest.approx(optimizer.learning_rate, rel=1e-15)


def test_set_rates_rescales_only_the_members_whose_rate_changed():
    state = SGDState([torch.ones(3, 2)], learning_rate=torch.tensor([0.1, 0.1, 0.1], dtype=torch.float64))
    set_rates_(state, torch.tensor([0.1, 0.02, 0.1], dtype=torch.float64))
    assert state.momentum_buffers[0][:, 0].tolist() == [1.0, 5.0, 1.0]
    assert state.step_size(0.1, torch.ones(1)).tolist() == pytest.approx([0.1, 0.02, 0.1])
    set_rates_(state, torch.tensor([0.05, 0.05, 0.05], dtype=torch.float64))
    assert state.step_size(0.1, torch.ones(1)) == 0.05  # one rate for all: a float, the fast path


def test_end_epoch_counts_each_members_rows_and_leaves_constant_schedules_alone():
    state = SGDState.create([torch.zeros(2, 1)], momentum=0.0, learning_rate=0.5)
    stop = end_epoch_(
        state,
        torch.tensor([3.0, 15.0]),
        torch.tensor([True, False]),
        schedule="invscaling",
        learning_rate=0.5,
        power_t=0.5,
    )
    assert stop.tolist() == [True, False] and state.samples_seen.tolist() == [3.0, 15.0]
    assert state.learning_rate.tolist() == pytest.approx([0.25, 0.125])
    constant = SGDState.create([torch.zeros(2, 1)], momentum=0.0)
    stalled = torch.tensor([True, False])
    assert end_epoch_(constant, torch.ones(2), stalled, schedule="constant", learning_rate=0.5, power_t=0.5) is stalled
    assert constant.learning_rate is None


def test_adam_with_scikit_learns_epsilon_steps_as_its_optimizer_fused_or_not():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(4, 3))
    theirs = [start.copy()]
    optimizer = AdamOptimizer([theirs[0]], learning_rate_init=0.01, epsilon=1e-3)  # a large epsilon shows where it is
    fused, plain = [torch.tensor(start[None].copy())], [torch.tensor(start[None].copy())]
    states = [AdamState.create(fused), AdamState.create(plain)]
    for _ in range(5):
        grad = rng.normal(scale=1e-3, size=(4, 3))
        optimizer.update_params(theirs, [grad])
        for params, state, use_fused in ((fused, states[0], True), (plain, states[1], False)):
            adam_step_(
                params, [torch.tensor(grad[None])], state, lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-3,
                fused=use_fused, epsilon_form="sklearn",
            )  # fmt: skip
    np.testing.assert_allclose(fused[0][0].numpy(), theirs[0], rtol=1e-12)
    np.testing.assert_allclose(plain[0][0].numpy(), theirs[0], rtol=1e-12)
    # torch.optim.Adam's form (the engine's default) adds epsilon elsewhere: another step here.
    torch_form = [torch.tensor(start[None].copy())]
    adam_step_(torch_form, [torch.tensor(grad[None])], AdamState.create(torch_form), lr=0.01, beta_1=0.9,
               beta_2=0.999, epsilon=1e-3)  # fmt: skip
    first = [start.copy()]
    AdamOptimizer([first[0]], learning_rate_init=0.01, epsilon=1e-3).update_params(first, [grad])
    assert np.abs(torch_form[0][0].numpy() - first[0]).max() > 1e-4


def test_per_batch_divides_alpha_by_each_members_batch_weight():
    penalty = PenaltyTerm((0,), [torch.full((3, 1, 1), 0.5, dtype=torch.float64)], 0.0)  # alpha / m, m = 8
    weight = torch.tensor([[1.0, 1.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    scales = per_batch(penalty, torch.full((3,), 8.0, dtype=torch.float64), weight).scales[0].flatten()
    assert scales.tolist() == [2.0, 0.5, 0.0]  # alpha / 2, alpha / 8, no rows: no penalty


def test_each_member_of_a_population_keeps_its_own_rate_and_count():
    # Members on different rows see different counts (invscaling) and stall at different
    # epochs (adaptive): each must equal its own fit alone.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = (X[:, 0] > 0).astype(float)
    rows = [np.arange(90), np.arange(50), np.arange(20, 90)]
    for schedule, extra in (("invscaling", {"power_t": 0.4}), ("adaptive", {"tol": 0.02, "n_iter_no_change": 1})):
        config = TrainConfig(
            solver="sgd", learning_rate=0.2, lr_schedule=schedule, batch_size=16, max_iter=12, **extra, **F64
        )
        together = train_population(MLP(4, (5,), 1), X, y, task="binary", alphas=[0.1] * 3, config=config,
                                    train_rows=rows).members  # fmt: skip
        for member, member_rows in zip(together, rows):
            alone = train_population(MLP(4, (5,), 1), X, y, task="binary", alphas=[0.1], config=config,
                                     train_rows=[member_rows]).members[0]  # fmt: skip
            assert member.n_iter == alone.n_iter and member.status == alone.status
            assert [r["learning_rate"] for r in member.history] == [r["learning_rate"] for r in alone.history]
            for name, value in alone.state_dict.items():
                torch.testing.assert_close(member.state_dict[name], value, rtol=1e-12, atol=1e-14)
        rates = [m.history[-1]["learning_rate"] for m in together]
        assert len(set(rates)) > 1, rates  # the members did go their own ways


def test_never_stopping_on_stalls_and_the_config_checks():
    X = np.random.default_rng(0).normal(size=(40, 2))
    config = TrainConfig(solver="adam", max_iter=15, tol=100.0, n_iter_no_change=math.inf)  # nothing is progress
    member = train_population(MLP(2, (3,), 1), X, X[:, 0], task="regression", config=config).members[0]
    assert member.status == "max_iter" and member.n_iter == 15
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "`n_iter_no_change` must be an int >= 1 or math.inf (never stop on stalling). Got n_iter_no_change=0."
        ),
    ):
        TrainConfig(n_iter_no_change=0)
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "`lr_schedule` must be one of 'constant', 'invscaling', 'adaptive'. Got lr_schedule='optimal'."
        ),
    ):
        TrainConfig(lr_schedule="optimal")
    with pytest.raises(
        InvalidParameterError,
        match=re.escape("`alpha_scale` must be one of 'n_samples', 'batch'. Got alpha_scale='rows'."),
    ):
        TrainConfig(alpha_scale="rows")
