"""The network an estimator trains: netreg's MLP, or the user's own ``module`` built for the data.

The module is told the data's shape through the arguments its signature names, among
:data:`~netreg.estimators.params.DATA_ARGUMENTS` (``NetRegClassifier``'s ``module``).
``module_kwargs`` is one dict, not skorch's ``module__width=...`` keywords, so that scikit-learn
clones, compares and searches it as any other parameter, with no ``get_params`` of netreg's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from netreg.engine.module_checks import check_module, probe_output
from netreg.estimators.params import DATA_ARGUMENTS, describe, hidden_sizes
from netreg.exceptions import DataError, InvalidParameterError
from netreg.nets import MLP

__all__ = ["build_network", "check_output"]


def build_network(estimator: Any, input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    """The network ``estimator`` trains on rows of ``input_shape``, with ``n_outputs`` outputs.

    Examples
    --------
    >>> from netreg import NetRegRegressor
    >>> build_network(NetRegRegressor(module=nn.Linear, module_kwargs={"bias": False}), (3,), 1)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: Building module=torch.nn.modules.linear.Linear with {'bias': False} failed: Linear.__init__() missing 2 required positional arguments: 'in_features' and 'out_features'. netreg passes the data arguments the module's signature names (n_features, input_shape, n_outputs) and module_kwargs.
    >>> def linear(n_features, n_outputs):
    ...     return nn.Linear(n_features, n_outputs)
    >>> build_network(NetRegRegressor(module=linear), (3,), 2)
    Linear(in_features=3, out_features=2, bias=True)
    """
    module = estimator.module
    if module is None:
        return MLP(input_shape[0], hidden_sizes(estimator), n_outputs, estimator.activation, estimator.dropout)
    data = _accepted(module, {"n_features": input_shape[0], "input_shape": tuple(input_shape), "n_outputs": n_outputs})
    kwargs = dict(estimator.module_kwargs or {})
    try:
        built = module(**data, **kwargs)
    except TypeError as error:
        raise InvalidParameterError(
            f"Building module={describe(module)} with {data | kwargs} failed: {error}. netreg passes the data "
            f"arguments the module's signature names ({', '.join(DATA_ARGUMENTS)}) and module_kwargs."
        ) from error
    if not isinstance(built, nn.Module):
        raise InvalidParameterError(
            f"`module` must build a torch.nn.Module; module={describe(module)} returned {type(built).__name__}: "
            f"{built!r}."
        )
    return built


def _accepted(module: Callable[..., Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The data arguments ``module``'s signature names (by name: positional-or-keyword or keyword-only)."""
    try:
        parameters = inspect.signature(module).parameters
    except (TypeError, ValueError):  # no signature to read: tell it nothing
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name: value for name, value in data.items() if name in parameters and parameters[name].kind in kinds}


def check_output(estimator: Any, network: nn.Module, X: np.ndarray, n_outputs: int) -> None:
    """Refuse a user's module that a population cannot train, or whose output on ``X[:2]`` is
    not ``(2, n_outputs)`` floating-point scores, before any training.

    The module itself is checked by :func:`netreg.engine.module_checks.check_module` (no parameters,
    parameters on the meta device, ...), its output by :func:`~netreg.engine.module_checks.probe_output`
    (one floating-point tensor). The engine accepts a multiclass output with more columns
    than the labels it sees; an estimator knows its classes, and each column must be one of them.

    Examples
    --------
    >>> from netreg import NetRegClassifier
    >>> check_output(NetRegClassifier(module=nn.Linear), nn.Linear(3, 4), np.zeros((5, 3)), 3)
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: The module's output has shape (2, 4) for 2 rows; NetRegClassifier expected shape (2, 3): n_outputs=3, what the module is told.
    """
    if estimator.module is None:
        return
    check_module(network)
    dtype = next(network.parameters()).dtype
    first = X[:2].toarray() if sp.issparse(X) else X[:2]
    n_rows = first.shape[0]
    shape = tuple(probe_output(network, torch.as_tensor(first, dtype=dtype)).shape)
    if shape != (n_rows, n_outputs):
        raise DataError(
            f"The module's output has shape {shape} for {n_rows} rows; {type(estimator).__name__} expected "
            f"shape {(n_rows, n_outputs)}: n_outputs={n_outputs}, what the module is told."
        )
