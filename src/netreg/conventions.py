r"""Translate netreg's ``alpha`` to the regularization knobs of other libraries, and back.

netreg's objective, for m training examples, is

.. math:: J = \frac{1}{m} \sum_i \ell_i + \frac{\alpha}{2m} \sum_j \lVert W_j \rVert_F^2 .

Each function states its conversion and derivation (the README tabulates them); the tests
check each one numerically against the library itself.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from netreg._checks import check_alpha, check_float, check_int, check_options
from netreg.exceptions import InvalidParameterError

__all__ = [
    "to_keras_l2",
    "from_keras_l2",
    "to_torch_weight_decay",
    "from_torch_weight_decay",
    "torch_param_groups",
    "to_sklearn_alpha",
    "from_sklearn_alpha",
    "to_logistic_C",
    "from_logistic_C",
    "to_ridge_alpha",
    "from_ridge_alpha",
]

#: PyTorch optimizers whose ``weight_decay`` adds ``wd * p`` to the gradient (coupled L2).
COUPLED_WEIGHT_DECAY = ("SGD", "Adam", "Adagrad", "Adamax", "RMSprop", "NAdam", "RAdam", "ASGD")

ADAMW_MESSAGE = (
    "AdamW's weight_decay is decoupled: it shrinks the weights by lr * weight_decay * w outside "
    "the adaptive gradient step, which is not the gradient of any L2 term in the loss, so no "
    "netreg alpha equals it. Use torch.optim.Adam(weight_decay=...) for L2, or train with netreg."
)


def to_keras_l2(alpha: float, n_samples: int) -> float:
    """Keras ``regularizers.L2(l2)`` equal to netreg's ``alpha``: ``l2 = alpha / (2 m)``.

    Keras adds ``l2 * sum(W**2)`` to each batch's mean loss, with no 1/2 and no 1/m.

    Examples
    --------
    >>> to_keras_l2(1.0, n_samples=500)
    0.001
    """
    return check_alpha(alpha) / (2.0 * _m(n_samples))


def from_keras_l2(l2: float, n_samples: int) -> float:
    """netreg ``alpha`` equal to Keras ``L2(l2)``: ``alpha = 2 m l2``.

    Examples
    --------
    >>> from_keras_l2(0.001, n_samples=500)
    1.0
    """
    return 2.0 * _m(n_samples) * check_alpha(l2, "l2")


def to_torch_weight_decay(alpha: float, n_samples: int, optimizer: str | type = "SGD") -> float:
    """PyTorch ``weight_decay`` equal to netreg's ``alpha``: ``wd = alpha / m``.

    ``SGD``, ``Adam`` and the other optimizers of ``COUPLED_WEIGHT_DECAY`` add
    ``wd * p`` to the gradient, the gradient of ``wd/2 * ||p||^2``; with
    ``wd = alpha/m`` that is netreg's L2 term. They apply it to every parameter of a
    group, biases included: put only the penalized weights in the decayed group (see
    :func:`torch_param_groups`).

    Raises
    ------
    InvalidParameterError
        For ``AdamW``, whose decoupled decay has no L2 equivalent.

    Examples
    --------
    >>> to_torch_weight_decay(1.0, n_samples=500, optimizer="Adam")
    0.002
    >>> to_torch_weight_decay(1.0, n_samples=500, optimizer="AdamW")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: AdamW's weight_decay is decoupled: it shrinks the weights by lr * weight_decay * w outside the adaptive gradient step, which is not the gradient of any L2 term in the loss, so no netreg alpha equals it. Use torch.optim.Adam(weight_decay=...) for L2, or train with netreg.
    """
    _check_coupled(optimizer)
    return check_alpha(alpha) / _m(n_samples)


def from_torch_weight_decay(weight_decay: float, n_samples: int, optimizer: str | type = "SGD") -> float:
    """netreg ``alpha`` equal to a coupled PyTorch ``weight_decay``: ``alpha = m * wd``.

    Examples
    --------
    >>> from_torch_weight_decay(0.002, n_samples=500)
    1.0
    """
    _check_coupled(optimizer)
    return _m(n_samples) * check_alpha(weight_decay, "weight_decay")


def torch_param_groups(
    module: nn.Module, alpha: float, n_samples: int, optimizer: str | type = "SGD"
) -> list[dict[str, Any]]:
    """Parameter groups that make a PyTorch optimizer minimize netreg's L2 objective.

    The penalized weights (the default rule of :func:`netreg.penalized_parameters`) get
    ``weight_decay = alpha / m``; every other parameter gets 0.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    >>> groups = torch_param_groups(model, alpha=1.0, n_samples=100)
    >>> [(len(g["params"]), g["weight_decay"]) for g in groups]
    [(2, 0.01), (2, 0.0)]
    >>> optimizer = torch.optim.SGD(groups, lr=0.1)
    """
    from netreg.selection import penalized_parameters

    decay = to_torch_weight_decay(alpha, n_samples, optimizer)
    chosen = {p.name for p in penalized_parameters(module)}
    named = list(module.named_parameters())
    return [
        {"params": [p for name, p in named if name in chosen], "weight_decay": decay},
        {"params": [p for name, p in named if name not in chosen], "weight_decay": 0.0},
    ]


def to_sklearn_alpha(alpha: float, *, solver: str, n_samples: int, batch_size: int | str = "auto") -> float:
    """scikit-learn ``MLPClassifier``/``MLPRegressor`` ``alpha`` equal to netreg's ``alpha``.

    scikit-learn adds ``0.5 * alpha_sk * sum ||W||^2 / b`` to each batch's mean loss,
    with b the number of rows in the batch. For ``lbfgs`` the batch is the whole
    training set (b = m), so ``alpha_sk = alpha``. For ``sgd`` and ``adam``,
    ``b = min(batch_size, m)`` (``"auto"`` is ``min(200, m)``), so
    ``alpha_sk = alpha * b / m``. (The last, smaller batch of an epoch then gets a
    slightly stronger penalty in scikit-learn; the match is exact when b divides m.)

    Examples
    --------
    >>> to_sklearn_alpha(1.0, solver="lbfgs", n_samples=1000)
    1.0
    >>> to_sklearn_alpha(1.0, solver="adam", n_samples=1000)
    0.2
    """
    return check_alpha(alpha) * _sklearn_batch(solver, n_samples, batch_size) / _m(n_samples)


def from_sklearn_alpha(sklearn_alpha: float, *, solver: str, n_samples: int, batch_size: int | str = "auto") -> float:
    """netreg ``alpha`` equal to scikit-learn's MLP ``alpha``: ``alpha = a * m / b``.

    Examples
    --------
    >>> from_sklearn_alpha(0.0001, solver="adam", n_samples=1000, batch_size=100)
    0.001
    """
    return check_alpha(sklearn_alpha, "sklearn_alpha") * _m(n_samples) / _sklearn_batch(solver, n_samples, batch_size)


def to_logistic_C(alpha: float) -> float:
    """``LogisticRegression(C=...)`` equal to netreg's ``alpha`` for a net with no hidden layer.

    scikit-learn minimizes ``C * sum_i loss_i + 1/2 ||w||^2``; dividing by ``C m`` gives
    ``mean_i loss_i + 1/(2 C m) ||w||^2``, netreg's objective with ``alpha = 1 / C``.

    Examples
    --------
    >>> to_logistic_C(4.0)
    0.25
    """
    return 1.0 / check_float(alpha, "alpha", low=0.0, low_open=True)


def from_logistic_C(C: float) -> float:
    """netreg ``alpha`` equal to ``LogisticRegression(C=C)``: ``alpha = 1 / C``.

    Examples
    --------
    >>> from_logistic_C(0.25)
    4.0
    """
    return 1.0 / check_float(C, "C", low=0.0, low_open=True)


def to_ridge_alpha(alpha: float) -> float:
    """``Ridge(alpha=...)`` equal to netreg's ``alpha`` for a net with no hidden layer: the same number.

    netreg's regression objective is ``||Y - XW||_F^2 / (2 m) + alpha / (2 m) ||W||_F^2``
    (half squared error summed over targets, averaged over rows); multiplying by ``2 m``
    gives Ridge's ``||Y - XW||_F^2 + alpha ||W||_F^2``, for one target or many.

    Examples
    --------
    >>> to_ridge_alpha(0.5)
    0.5
    """
    return check_alpha(alpha)


def from_ridge_alpha(ridge_alpha: float) -> float:
    """netreg ``alpha`` equal to ``Ridge(alpha=ridge_alpha)``: the same number.

    Examples
    --------
    >>> from_ridge_alpha(1.5)
    1.5
    """
    return check_alpha(ridge_alpha, "ridge_alpha")


def _m(n_samples: Any) -> float:
    return check_float(n_samples, "n_samples", low=0.0, low_open=True)


def _check_coupled(optimizer: str | type) -> None:
    name = optimizer if isinstance(optimizer, str) else getattr(optimizer, "__name__", repr(optimizer))
    if name == "AdamW":
        raise InvalidParameterError(ADAMW_MESSAGE)
    check_options(name, "optimizer", COUPLED_WEIGHT_DECAY)


def _sklearn_batch(solver: str, n_samples: int, batch_size: int | str) -> float:
    solver = check_options(solver, "solver", ("lbfgs", "sgd", "adam"))
    m = _m(n_samples)
    if solver == "lbfgs":
        return m
    if batch_size == "auto":
        return min(200.0, m)
    return min(float(check_int(batch_size, "batch_size", low=1)), m)
