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
