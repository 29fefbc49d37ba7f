"""PopulationState.take: every per-member structure keeps the same members, in the same order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import netreg
from netreg.engine.inputs import validate_inputs
from netreg.engine.loop import Trainer
from netreg.engine.optim import AdamState, SGDState
from netreg.engine.state import PopulationState
from netreg.nets import MLP

POSITIONS = [3, 0, 2]


def _trained_state(digits, solver, same_rows=False):
    # Four members with their own rows, eval rows and seeds, one epoch in: non-zero
    # optimizer state and histories; then stopping counters made distinct per member.
    X, y = digits[0][:200], digits[1][:200]
    rng = np.random.default_rng(0)
    rows = (
        [np.arange(150)] * 4 if same_rows else [np.sort(rng.choice(150, 150 - 10 * k, replace=False)) for k in range(4)]
    )
    inputs = validate_inputs(
        MLP(64, (8,), 10),
        X,
        y,
        task="multiclass",
        alphas=[0.1, 1.0, 10.0, 100.0],
        penalty=netreg.L2(layer_alphas={"layers.1.weight": 3.0}),
        config=netreg.TrainConfig(solver=solver, batch_size=50, dtype="float64"),
        seeds=0 if same_rows else [0, 1, 2, 3],
        train_rows=rows,
        eval_rows={"val": [np.arange(150 + k, 200) for k in range(4)]},
    )
    trainer = Trainer(inputs)
    trainer.start()
    trainer.end_epoch(1, trainer.run_epoch())
    state = trainer.state
    state.progress = state.progress._replace(
        best_metric=torch.tensor([0.5, 0.25, 0.125, 2.0], dtype=torch.float64),
        bad_epochs=torch.tensor([0, 1, 2, 3]),
        best_epoch=torch.tensor([4, 5, 6, 7]),
    )
    for name in state.best:
        state.best[name] = torch.randn_like(state.best[name])
    if solver == "adam":
        state.optimizer.step.copy_(torch.tensor([3.0, 4.0, 5.0, 6.0]))
    return state


def _taken(value):
    """``value`` at POSITIONS, written out independently of the implementation."""
    return value[torch.tensor(POSITIONS)]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_take_keeps_the_same_members_in_every_structure(digits, solver):
    state = _trained_state(digits, solver)
    kept = state.take(POSITIONS)
    checked = set()

    def check(name, ok):
        assert ok, name
        checked.add(name)

    check("ids", kept.ids == [state.ids[p] for p in POSITIONS])
    for field in ("params", "buffers", "scales", "last_good", "best"):
        old, new = getattr(state, field), getattr(kept, field)
        check(field, list(new) == list(old) and all(torch.equal(new[k], _taken(old[k].detach())) for k in old))
    assert all(p.is_leaf and p.requires_grad for p in kept.params.values())
    assert all(not t.requires_grad for t in kept.last_good.values())
    if solver == "sgd":
        assert isinstance(kept.optimizer, SGDState) and len(kept.optimizer.momentum_buffers) == 4
        pairs = zip(kept.optimizer.momentum_buffers, state.optimizer.momentum_buffers)
    else:
        assert isinstance(kept.optimizer, AdamState) and torch.equal(kept.optimizer.step, _taken(state.optimizer.step))
        pairs = zip(
            kept.optimizer.exp_avg + kept.optimizer.exp_avg_sq, state.optimizer.exp_avg + state.optimizer.exp_avg_sq
        )
    check("optimizer", all(torch.equal(new, _taken(old)) and old.abs().sum() > 0 for new, old in pairs))
    check("train_rows", all(kept.train_rows[i] is state.train_rows[p] for i, p in enumerate(POSITIONS)))
    check("generators", all(kept.generators[i] is state.generators[p] for i, p in enumerate(POSITIONS)))
    check(
        "dropout_generators",
        all(kept.dropout_generators[i] is state.dropout_generators[p] for i, p in enumerate(POSITIONS)),
    )
    check("histories", all(kept.histories[i] is state.histories[p] for i, p in enumerate(POSITIONS)))
    old_val, new_val = state.eval_rows["val"], kept.eval_rows["val"]
    check(
        "eval_rows",
        list(kept.eval_rows) == ["val"]
        and new_val.n_members == 3
        and all(
            torch.equal(new, _taken(old))
            for new, old in zip(new_val.member_slots(0, 200), old_val.member_slots(0, 200), strict=True)
        ),
    )
    check("n_samples", torch.equal(kept.n_samples, _taken(state.n_samples)))
    check("alphas", torch.equal(kept.alphas, _taken(state.alphas)))
    check("progress", all(torch.equal(new, _taken(old)) for new, old in zip(kept.progress, state.progress)))
    check("dropout_generator", kept.dropout_generator is state.dropout_generator is None)
    # Every field is checked above: a new one needs a line here.
    assert checked == {f.name for f in dataclasses.fields(PopulationState)}
    # The step's views follow the taken parameters.
    assert all(a is b for a, b in zip(kept.param_list, kept.params.values()))
    assert kept.penalized == ["layers.0.weight", "layers.1.weight"]
    assert all(a is kept.params[n] for a, n in zip(kept.penalized_weights, kept.penalized))
    assert kept.penalty_positions == (0, 2)


def test_take_keeps_the_shared_order_generator_and_shared_rows(digits):
    state = _trained_state(digits, "adam", same_rows=True)
    kept = state.take(POSITIONS)
    # Members with the same rows and seed draw their order from one generator.
    assert all(g is state.generators[0] for g in (*state.generators, *kept.generators))
    assert kept.eval_rows["val"].n_members == 3
    assert kept.dropout_generator is state.dropout_generator is not None
    assert kept.dropout_draws() == (state.dropout_generator,)
    assert kept.n_members == 3 and len(kept.histories) == 3


def test_taking_nobody_leaves_an_empty_state(digits):
    kept = _trained_state(digits, "sgd").take([])
    assert kept.ids == [] and kept.n_members == 0 and kept.params["layers.0.weight"].shape[0] == 0
