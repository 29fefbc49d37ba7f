"""TrainConfig's validation."""

from __future__ import annotations

import math
import re
from numbers import Integral

import pytest

import netreg
from netreg import NetRegRegressor
from netreg.engine import TrainConfig
from netreg.engine.config import RULES
from netreg.estimators import validate_parameters


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


def test_a_device_this_machine_does_not_have_is_refused_before_any_work(monkeypatch, refused, digits):
    import torch

    from netreg.engine import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    no_cuda = (
        "`device` must be 'auto' or 'cpu' on this machine, which has no CUDA device. Got device='cuda'. Pass "
        "`device='auto'` to use a GPU where there is one."
    )
    with refused(no_cuda, netreg.InvalidParameterError):
        resolve_device("cuda")
    with refused(no_cuda, netreg.InvalidParameterError):  # not the bare AssertionError of torch's first step
        netreg.NetRegClassifier((4,), device="cuda", max_iter=1).fit(digits[0][:50], digits[1][:50])
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with refused(
        "`device` must be 'cuda' or 'cuda:0' to 'cuda:1' (2 CUDA device(s) here). Got device='cuda:2'.",
        netreg.InvalidParameterError,
    ):
        resolve_device("cuda:2")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)


# The estimators' parameters that are TrainConfig's fields under the engine's names.
SHARED = {
    "solver": "solver",
    "learning_rate_init": "learning_rate",
    "learning_rate": "lr_schedule",
    "power_t": "power_t",
    "momentum": "momentum",
    "nesterovs_momentum": "nesterov",
    "beta_1": "beta_1",
    "beta_2": "beta_2",
    "epsilon": "epsilon",
    "batch_size": "batch_size",
    "max_iter": "max_iter",
    "tol": "tol",
    "n_iter_no_change": "n_iter_no_change",
    "early_stopping": "early_stopping",
    "max_fun": "max_fun",
    "shuffle": "shuffle",
    "alpha_scale": "alpha_scale",
    "dtype": "dtype",
}
VALUES = [
    -1, 0, 1, 2, 0.0, 0.5, 1.0, 1.5, 1e-9, -0.5, 2.5, math.inf, math.nan, True, None, "adam", "sgd", "lbfgs",
    "rmsprop", "constant", "invscaling", "adaptive", "optimal", "float32", "float64", "float16", "n_samples",
    "batch", "rows",
]  # fmt: skip


@pytest.mark.parametrize("param, field", SHARED.items())
def test_the_estimators_and_the_engine_accept_the_same_values_of_each_shared_parameter(param, field):
    # One declaration of each range serves both (netreg.engine.config.RULES). The engine's
    # None batch_size is the estimators' "auto"; a bool where an int is expected is taken by
    # the estimators as by scikit-learn's MLPs (a bool is an Integral), refused by the engine.
    def accepted(check, value) -> bool:
        try:
            check(value)
        except netreg.InvalidParameterError:
            return False
        return True

    agreed = 0
    for value in VALUES:
        if value is None or (value is True and getattr(RULES[field], "type", None) is Integral):
            continue
        engine = accepted(lambda v: TrainConfig(**{field: v}), value)
        estimator = accepted(lambda v: validate_parameters(NetRegRegressor(**{param: v})), value)
        assert engine == estimator, value
        agreed += engine
    assert agreed >= 1  # the check can fail: some value of each is accepted
