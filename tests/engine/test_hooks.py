"""Callbacks: a list dispatched in order, old-style hooks without the population, bad values refused."""

from __future__ import annotations

import re

import numpy as np
import pytest

import netreg
from netreg.engine import Callback, Population, TrainConfig, train_population
from netreg.engine.hooks import CallbackList
from netreg.nets import MLP

X = np.random.default_rng(0).normal(size=(40, 3))
Y = X.sum(1)


def _train(callbacks, **config):
    config = TrainConfig(**{"max_iter": 3, "tol": 0.0, **config})
    return train_population(
        MLP(3, (4,), 1), X, Y, task="regression", alphas=[0.1, 1.0], config=config, callbacks=callbacks
    )


class OldStyle(Callback):
    """A 0.1 callback: hooks with their positional arguments only."""

    def __init__(self, log):
        self.log = log

    def on_train_begin(self, info):
        self.log.append(("old", "begin", info["n_members"]))

    def on_epoch_end(self, epoch, records):
        self.log.append(("old", "epoch", epoch, sorted(records)))

    def on_member_end(self, result):
        self.log.append(("old", "member", result.index))

    def on_train_end(self, result):
        self.log.append(("old", "end", len(result.members)))


class NewStyle(Callback):
    """Hooks that take the population: one by name, one through **kwargs."""

    def __init__(self, log):
        self.log = log

    def on_epoch_end(self, epoch, records, *, population):
        self.log.append(("new", "epoch", epoch, population.running))

    def on_train_end(self, result, **kwargs):
        self.log.append(("new", "end", kwargs["population"].running))


def test_old_style_callbacks_keep_working_and_a_list_is_called_in_order():
    log = []
    _train([OldStyle(log), NewStyle(log)])
    assert log == [
        ("old", "begin", 2),
        ("old", "epoch", 1, [0, 1]),
        ("new", "epoch", 1, [0, 1]),
        ("old", "epoch", 2, [0, 1]),
        ("new", "epoch", 2, [0, 1]),
        ("old", "epoch", 3, [0, 1]),
        ("new", "epoch", 3, [0, 1]),
        ("old", "member", 0),
        ("old", "member", 1),
        ("old", "end", 2),
        ("new", "end", []),
    ]


def test_one_callback_alone_and_duck_typed_callbacks_are_accepted():
    ended = []

    class OnlyMemberEnd:  # not a Callback subclass: any object with hooks will do
        def on_member_end(self, result):
            ended.append(result.index)

    _train(OnlyMemberEnd())
    assert ended == [0, 1]
    log = []
    _train(OldStyle(log))
    assert log[0] == ("old", "begin", 2)


def test_a_population_parameter_given_positionally_also_receives_the_handle():
    seen = []

    class Positional(Callback):
        def on_epoch_end(self, epoch, records, population):
            seen.append(type(population))

    _train(Positional(), max_iter=1)
    assert seen == [Population]


class Named(Callback):
    def __repr__(self):
        return "Named()"


@pytest.mark.parametrize(
    "callbacks, message",
    [
        (
            print,
            "`callbacks` must be a Callback, a list of Callbacks or None. Got callbacks=<built-in function print>.",
        ),
        ("progress", "`callbacks` must be a Callback, a list of Callbacks or None. Got callbacks='progress'."),
        ([Named(), 3], "`callbacks` must be a Callback, a list of Callbacks or None. Got callbacks=[Named(), 3]."),
    ],
)
def test_bad_callbacks_raise_the_full_message(callbacks, message):
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        _train(callbacks)


def test_notify_skips_the_base_class_no_ops_and_passes_the_handle_only_where_asked():
    calls = []

    class Some(Callback):
        def on_member_end(self, result, **kwargs):
            calls.append((result, kwargs))

    dispatch = CallbackList([Some(), Callback()], population="handle")
    dispatch.notify("on_member_end", "result")
    dispatch.notify("on_train_end", "result")  # no callback overrides it: nothing to call
    assert calls == [("result", {"population": "handle"})]
