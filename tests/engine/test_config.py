"""TrainConfig's validation."""

from __future__ import annotations

import re

import pytest

import netreg
from netreg.engine import TrainConfig


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
