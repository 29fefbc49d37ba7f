"""Changing a running member's alpha through the handle (Population.set_alpha)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from netreg import penalties
from netreg.engine import Callback, TrainConfig, train_population
from netreg.nets import MLP

ALPHAS = [0.1, 1.0, 10.0]
NEW = {1: 5.0, 2: {"layers.1.weight": 30.0}}  # member 1 as a whole, member 2 one layer
CHANGE_AT = 2


class Change(Callback):
    def __init__(self, changes, at=CHANGE_AT):
        self.changes, self.at, self.seen = changes, at, {}

    def on_epoch_end(self, epoch, records, *, population):
        if epoch == self.at:
            for member, alpha in self.changes.items():
                population.set_alpha(member, alpha)
            self.seen = {k: population.alphas(k) for k in population.running}


def _config(solver, max_iter):
    return TrainConfig(
        solver=solver, learning_rate=0.01, batch_size=50, max_iter=max_iter, tol=0.0, shuffle=False, dtype="float64"
    )


def _run(digits, solver, max_iter, alphas=ALPHAS, callbacks=None, **kwargs):
    X, y = digits[0][:200], digits[1][:200]
    return train_population(
        MLP(64, (8,), 10),
        X,
        y,
        task="multiclass",
        alphas=alphas,
        config=_config(solver, max_iter),
        callbacks=callbacks,
        **kwargs,
    )


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_changed_alpha_trains_on_as_a_run_continued_at_the_new_alpha(digits, solver):
    # Member k: CHANGE_AT epochs at its alpha, then two at the new one, its optimizer state
    # going on; the reference continues a run of CHANGE_AT epochs from its weights and state.
    changer = Change(NEW)
    changed = _run(digits, solver, CHANGE_AT + 2, callbacks=changer)
    first = _run(digits, solver, CHANGE_AT)
    free = _run(digits, solver, CHANGE_AT + 2)
    assert changer.seen[0] == {"layers.0.weight": 0.1, "layers.1.weight": 0.1}
    assert changer.seen[2] == {"layers.0.weight": 10.0, "layers.1.weight": 30.0}
    # A member whose alpha did not change trains bit for bit as without the callback.
    for name, value in free.members[0].state_dict.items():
        assert torch.equal(changed.members[0].state_dict[name], value)
    assert changed.members[0].history == free.members[0].history
    for k, alpha in NEW.items():
        start = first.members[k]
        layer = alpha if isinstance(alpha, dict) else None
        reference = _run(
            digits,
            solver,
            2,
            alphas=[alpha if layer is None else ALPHAS[k]],
            penalty=penalties.L2(ALPHAS[k], layer_alphas=layer),
            init_states=start.state_dict,
            init_optimizer_states=[start.optimizer_state],
        ).members[0]
        for name, value in reference.state_dict.items():
            torch.testing.assert_close(changed.members[k].state_dict[name], value, rtol=1e-9, atol=1e-12)
        assert changed.members[k].alpha == ALPHAS[k]  # the alpha it started with


def test_the_history_records_the_alphas_of_every_epoch_of_a_changed_member(digits):
    result = _run(digits, "adam", 4, callbacks=Change(NEW))
    assert all("alphas" not in record for record in result.members[0].history)
    paths = {k: [record["alphas"] for record in result.members[k].history] for k in NEW}
    assert (
        paths[1]
        == [{"layers.0.weight": 1.0, "layers.1.weight": 1.0}] * 2
        + [{"layers.0.weight": 5.0, "layers.1.weight": 5.0}] * 2
    )
    assert paths[2][1:3] == [
        {"layers.0.weight": 10.0, "layers.1.weight": 10.0},
        {"layers.0.weight": 10.0, "layers.1.weight": 30.0},
    ]
    # The recorded penalty is that of the new alphas: sum_j alpha_j / (2 m) ||W_j||^2.
    last = result.members[2].history[-1]
    expected = sum(last["alphas"][n] * norm**2 for n, norm in last["weight_norms"].items()) / (2 * 200)
    assert last["penalty"] == pytest.approx(expected, rel=1e-12)


def test_lbfgs_restarts_at_the_new_alpha_and_ends_at_its_minimizer():
    # Ridge regression: the final weights are Ridge's at the alpha set at iteration 3.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + 0.3 * rng.normal(size=60)
    config = TrainConfig(solver="lbfgs", max_iter=200, tol=1e-12, ftol=1e-15, dtype="float64")
    result = train_population(
        MLP(4, (), 1), X, y, task="regression", alphas=[0.01], config=config, callbacks=Change({0: 30.0}, at=3)
    ).members[0]
    ridge = Ridge(alpha=30.0).fit(X, y)
    assert result.status == "converged" and result.n_iter > 3
    np.testing.assert_allclose(result.state_dict["layers.0.weight"].numpy()[0], ridge.coef_, rtol=1e-7)
    assert result.history[-1]["alphas"] == {"layers.0.weight": 30.0}
    # Converged after a change of alpha: the callbacks saw the final point once more.
    assert result.history[-1]["objective"] == result.history[-2]["objective"]


def test_a_changed_alpha_restarts_the_count_of_epochs_without_progress(digits):
    # A larger alpha raises the objective: without a fresh count, the member would stop
    # "converged" n_iter_no_change epochs later.
    config = TrainConfig(solver="adam", learning_rate=0.01, batch_size=50, max_iter=6, tol=0.0, n_iter_no_change=1)
    X, y = digits[0][:200], digits[1][:200]
    result = train_population(
        MLP(64, (8,), 10), X, y, task="multiclass", alphas=[1e-4], config=config, callbacks=Change({0: 1e3}, at=2)
    ).members[0]
    assert result.n_iter > 3
