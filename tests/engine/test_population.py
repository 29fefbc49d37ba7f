"""Member-level control: callbacks that read members' weights and stop members through the handle."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import netreg
from expected_messages import not_a_nonnegative_float
from netreg.engine import Callback, Population, TrainConfig, train_population
from netreg.nets import MLP

ALPHAS = list(np.logspace(-2, 2, 8))
REASON = "worst half at rung 1"


def _rows(n, n_members):
    # Different, unequal row sets per member, as cross-validation folds give; the longest
    # ones (members 0 and 4) are among those stopped below.
    rng = np.random.default_rng(0)
    sizes = [n - 30 * (k % 4) for k in range(n_members)]
    return [np.sort(rng.choice(n, size=size, replace=False)) for size in sizes]


class StopHalf(Callback):
    """Stops members 0, 2, 4, 6 at epoch 3 and records what the hooks saw."""

    def __init__(self, at=3):
        self.at, self.ended, self.running = at, [], {}

    def on_epoch_end(self, epoch, records, *, population):
        self.running[epoch] = population.running
        if epoch == self.at:
            population.stop([0, 2, 4, 6], reason=REASON)

    def on_member_end(self, result, *, population):
        self.ended.append((result.index, result.status, result.n_iter, population.running))


def _train(digits, solver, cv, callbacks=None, max_iter=7, early_stopping=False):
    X, y = digits[0][:300], digits[1][:300]
    rows = {}
    if cv or early_stopping:
        train = _rows(240, 8) if cv else [np.arange(240)] * 8
        rows = {"train_rows": train, "eval_rows": {"val": [np.arange(240, 300)] * 8}}
    config = TrainConfig(
        solver=solver,
        learning_rate=0.05 if solver == "sgd" else 0.01,
        batch_size=40,
        max_iter=max_iter,
        tol=0.0 if not early_stopping else 0.01,
        n_iter_no_change=3,
        early_stopping=early_stopping,
        dtype="float64",
    )
    return train_population(
        MLP(64, (16,), 10),
        X,
        y,
        task="multiclass",
        alphas=ALPHAS,
        seeds=list(range(8)),
        config=config,
        callbacks=callbacks,
        **rows,
    )


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("cv", [False, True])
def test_stopping_half_the_population_leaves_the_others_bit_identical(digits, solver, cv):
    stopper = StopHalf()
    controlled = _train(digits, solver, cv, callbacks=stopper)
    free = _train(digits, solver, cv)
    for member, reference in zip(controlled.members, free.members):
        if member.index % 2 == 1:
            assert (member.status, member.n_iter, member.best_epoch) == (
                reference.status,
                reference.n_iter,
                reference.best_epoch,
            )
            for name, value in reference.state_dict.items():
                assert torch.equal(member.state_dict[name], value), name
            assert member.history == reference.history
            # The final metrics are sums over evaluation chunks, whose size follows how many
            # members finish together (4 here, 8 in the free run): the same weights' losses
            # summed in another grouping, equal to the float64 rounding (one ulp on a Xeon).
            assert member.metrics == pytest.approx(reference.metrics, rel=1e-14, abs=0)
            for key in ("exp_avg", "exp_avg_sq", "momentum_buffers"):
                for name, value in (reference.optimizer_state.get(key) or {}).items():
                    assert torch.equal(member.optimizer_state[key][name], value)
    # The stopped members end at epoch 3 as members of a run with max_iter=3 do, with the reason.
    at_three = _train(digits, solver, cv, max_iter=3)
    for member in controlled.members[::2]:
        reference = at_three.members[member.index]
        assert (member.status, member.n_iter, member.best_epoch) == ("stopped", 3, 3)
        assert member.message == f"Stopped by a callback after epoch 3: {REASON}"
        assert len(member.history) == 3 and member.history[-1]["stop_reason"] == REASON
        assert member.history[:2] == reference.history[:2]
        assert {k: v for k, v in member.history[-1].items() if k != "stop_reason"} == reference.history[-1]
        for name, value in reference.state_dict.items():
            assert torch.equal(member.state_dict[name], value), name
        assert member.metrics == reference.metrics
    # on_member_end fired for each stopped member at once, while the others still ran.
    assert [event[:3] for event in stopper.ended[:4]] == [(k, "stopped", 3) for k in (0, 2, 4, 6)]
    assert stopper.ended[0][3] == list(range(8))
    assert stopper.running[3] == list(range(8)) and stopper.running[4] == [1, 3, 5, 7]


def test_a_stopped_member_keeps_its_best_weights_with_early_stopping(digits):
    controlled = _train(digits, "adam", cv=False, callbacks=StopHalf(), early_stopping=True)
    at_three = _train(digits, "adam", cv=False, max_iter=3, early_stopping=True)
    for member in controlled.members[::2]:
        reference = at_three.members[member.index]
        assert member.status == "stopped" and member.best_epoch == reference.best_epoch
        for name, value in reference.state_dict.items():
            assert torch.equal(member.state_dict[name], value)
        assert member.metrics["val_loss"] == reference.metrics["val_loss"]


def test_the_handle_reads_running_members_current_weights_and_alphas(digits):
    seen = {}

    class Read(Callback):
        def on_epoch_end(self, epoch, records, **kwargs):
            population = kwargs["population"]
            if epoch == 2:
                seen["alphas"] = [population.alpha(k) for k in population.running]
                seen["weights"] = {k: population.state_dict(k) for k in population.running}
                seen["repr"] = repr(population)

    _train(digits, "sgd", cv=True, callbacks=[Read()])
    at_two = _train(digits, "sgd", cv=True, max_iter=2)
    assert seen["alphas"] == ALPHAS
    assert seen["repr"] == "Population(n_members=8, running=[0, 1, 2, 3, 4, 5, 6, 7])"
    for member in at_two.members:
        copy = seen["weights"][member.index]
        assert all(t.device.type == "cpu" for t in copy.values())
        for name, value in member.state_dict.items():
            assert torch.equal(copy[name], value)


def test_a_stop_asked_before_the_first_epoch_applies_after_it(digits):
    class Early(Callback):
        def on_train_begin(self, info, *, population):
            population.stop(5, reason="not needed")

    result = _train(digits, "sgd", cv=False, callbacks=Early(), max_iter=2)
    assert [(m.status, m.n_iter) for m in result.members] == [("max_iter", 2)] * 5 + [("stopped", 1)] + [
        ("max_iter", 2)
    ] * 2


def test_lbfgs_member_stops_after_the_iteration(diabetes):
    class AtFour(Callback):
        def on_epoch_end(self, epoch, records, *, population):
            if epoch == 4:
                population.stop(population.running, reason="enough")

    config = TrainConfig(solver="lbfgs", max_iter=50, dtype="float64")
    stopped = train_population(MLP(10, (5,), 1), *diabetes, task="regression", config=config, callbacks=AtFour())
    member = stopped.members[0]
    assert (member.status, member.n_iter, member.best_epoch) == ("stopped", 4, 4)
    assert member.message == "Stopped by a callback after iteration 4: enough"
    free = train_population(MLP(10, (5,), 1), *diabetes, task="regression", config=config).members[0]
    assert member.history[:3] == free.history[:3]


def test_stopping_a_diverging_member_reports_it_diverged(digits):
    class StopAll(Callback):
        def on_epoch_end(self, epoch, records, *, population):
            population.stop(population.running, reason="all")

    config = TrainConfig(solver="sgd", learning_rate=0.1, momentum=0.0, batch_size=50, max_iter=8)
    result = train_population(
        MLP(64, (16,), 10), *digits, task="multiclass", alphas=[0.1, 1e12], config=config, callbacks=StopAll()
    )
    assert [m.status for m in result.members] == ["stopped", "diverged"]
    assert "stop_reason" not in result.members[1].history[-1]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: p.stop(9, reason="r"), "`members` must be member indices in [0, 3). Got members=9."),
        (lambda p: p.stop([0, True], reason="r"), "`members` must be member indices in [0, 3). Got members=[0, True]."),
        (lambda p: p.stop("0", reason="r"), "`members` must be a member index or a sequence of them. Got members='0'."),
        (lambda p: p.stop(1, reason=None), "`reason` must be a str saying why the members stop. Got reason=None."),
        (
            lambda p: p.stop([0, 2], reason="r"),
            "`members` must be indices of running members, some of [0, 1]. Got members=[0, 2].",
        ),
        (
            lambda p: p.state_dict(2),
            "`member` must be a running member, one of [0, 1]. Got member=2. "
            "A member's final weights are in its MemberResult.state_dict.",
        ),
        (lambda p: p.alpha(-1), "`member` must be a member index in [0, 3). Got member=-1."),
        (
            lambda p: p.set_alpha(0, {"layers.0.bias": 1.0}),
            "`alpha` must be a mapping whose keys are penalized parameters, among ['layers.0.weight', "
            "'layers.1.weight']. Got alpha={'layers.0.bias': 1.0}.",
        ),
        (lambda p: p.set_alpha(0, -1.0), not_a_nonnegative_float("alpha", "-1.0")),
        (
            lambda p: p.set_alpha(0, {"layers.1.weight": float("nan")}),
            not_a_nonnegative_float("alpha['layers.1.weight']", "nan"),
        ),
        (
            lambda p: p.set_alpha(2, 1.0),
            "`member` must be a running member, one of [0, 1]. Got member=2. "
            "A member's final weights are in its MemberResult.state_dict.",
        ),
    ],
)
def test_bad_requests_raise_the_full_message(call, message):
    # Member 2 has stopped at epoch 1; the requests come at epoch 2.
    caught = {}

    class Ask(Callback):
        def on_epoch_end(self, epoch, records, *, population):
            if epoch == 1:
                population.stop(2, reason="first")
            elif epoch == 2:
                with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$") as error:
                    call(population)
                caught["error"] = error.value

    X = np.random.default_rng(0).normal(size=(30, 3))
    train_population(
        MLP(3, (4,), 1),
        X,
        X.sum(1),
        task="regression",
        alphas=[0.0, 1.0, 2.0],
        config=TrainConfig(max_iter=3),
        callbacks=Ask(),
    )
    assert isinstance(caught["error"], netreg.InvalidParameterError)


def test_population_is_exported():
    assert netreg.engine.Population is Population
