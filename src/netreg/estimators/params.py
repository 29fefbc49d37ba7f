"""The estimators' parameters, declared once: name, default and constraint of each.

The constraints come from the declarations below (ranges from :data:`netreg.engine.config.RULES`,
names from the registries); each estimator's written ``__init__`` lists the same parameters,
defaults and order (a test holds them together).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from torch import nn

from netreg._checks import ALPHA, COUNT, Choice, Rule, check_depth, invalid
from netreg._compat import HasMethods, Interval, StrOptions, constraint_text, constraints_text, validate_params
from netreg.engine.config import RULES
from netreg.exceptions import InvalidParameterError
from netreg.nets import ACTIVATIONS, DROPOUT
from netreg.penalties import L1_RATIO, PENALTIES

__all__ = [
    "Param",
    "MLP_PARAMS",
    "CLASSIFIER_PARAMS",
    "REGRESSOR_PARAMS",
    "N_POSITIONAL",
    "DATA_ARGUMENTS",
    "MLP_ONLY",
    "constraints",
    "validate_parameters",
    "describe",
    "store_parameters",
]


@dataclass(frozen=True)
class Param:
    """One estimator parameter: its name, default and scikit-learn constraints.

    A declared rule among ``constraints`` (:class:`netreg._checks.Range`, ``Choice``,
    ``Flag``: the engine's own, :data:`netreg.engine.config.RULES`, or a registry's names)
    stands for its scikit-learn constraints, so that each range is stated once.

    Examples
    --------
    >>> Param("shuffle", True, [RULES["shuffle"]]).constraints
    ['boolean']
    """

    name: str
    default: Any
    constraints: Any

    def __post_init__(self) -> None:
        if isinstance(self.constraints, list):
            expanded = [c.constraints if isinstance(c, Rule) else [c] for c in self.constraints]
            object.__setattr__(self, "constraints", [c for group in expanded for c in group])


#: The parameters of ``NetRegClassifier`` and ``NetRegRegressor``, in signature order (those
#: the engine takes too by the engine's rule, under its name: ``learning_rate_init`` is ``learning_rate``).
MLP_PARAMS: tuple[Param, ...] = (
    Param("hidden_layer_sizes", (100,), ["array-like", COUNT]),
    Param("activation", "relu", [Choice(tuple(ACTIVATIONS))]),
    Param("module", None, [None, callable]),
    Param("module_kwargs", None, [None, dict]),
    Param("solver", "adam", [RULES["solver"]]),
    Param("alpha", 0.0001, [ALPHA, StrOptions({"auto"}), dict]),
    Param("auto_alpha", "layerwise", [StrOptions({"layerwise", "scalar"})]),
    Param("alpha_scale", "n_samples", [RULES["alpha_scale"]]),
    Param("penalty", "l2", [Choice(tuple(PENALTIES))]),
    Param("l1_ratio", 0.5, [L1_RATIO]),
    Param("dropout", 0.0, [DROPOUT]),
    Param("batch_size", "auto", [StrOptions({"auto"}), RULES["batch_size"]]),
    Param("learning_rate", "constant", [RULES["lr_schedule"]]),
    Param("learning_rate_init", 0.001, [RULES["learning_rate"]]),
    Param("power_t", 0.5, [RULES["power_t"]]),
    Param("momentum", 0.9, [RULES["momentum"]]),
    Param("nesterovs_momentum", True, [RULES["nesterov"]]),
    Param("beta_1", 0.9, [RULES["beta_1"]]),
    Param("beta_2", 0.999, [RULES["beta_2"]]),
    Param("epsilon", 1e-8, [RULES["epsilon"]]),
    Param("max_iter", 200, [RULES["max_iter"]]),
    Param("tol", 1e-4, [RULES["tol"]]),
    Param("n_iter_no_change", 10, [RULES["n_iter_no_change"]]),
    Param("early_stopping", False, [RULES["early_stopping"]]),
    # The share of the rows held out, as a dropout probability is: in [0, 1).
    Param("validation_fraction", 0.1, [DROPOUT]),
    Param("max_fun", 15000, [RULES["max_fun"]]),
    Param("shuffle", True, [RULES["shuffle"]]),
    Param("random_state", None, ["random_state"]),
    Param("device", "auto", [str]),
    Param("dtype", "float32", [RULES["dtype"]]),
    Param("n_jobs", None, [None, Integral]),
    Param("verbose", False, ["verbose"]),
    Param("warm_start", False, ["boolean"]),
)

#: ``NetRegClassifier`` adds ``class_weight``.
CLASSIFIER_PARAMS: tuple[Param, ...] = MLP_PARAMS + (
    Param("class_weight", None, [None, dict, StrOptions({"balanced"})]),
)

#: ``NetRegRegressor`` adds ``loss`` (keyword-only: the first two stay the classifier's) and ``transformer``.
REGRESSOR_PARAMS: tuple[Param, ...] = MLP_PARAMS + (
    Param("loss", "squared_error", [StrOptions({"squared_error", "poisson"})]),
    Param("transformer", None, [None, HasMethods(["fit", "transform", "inverse_transform"])]),
)

#: How many parameters may be given by position (the rest are keyword-only).
N_POSITIONAL = 2

#: What a user's module may be told about the data, by these names.
DATA_ARGUMENTS = ("n_features", "input_shape", "n_outputs")

#: The parameters that shape netreg's MLP, and their defaults; they have no effect on a
#: user's module, so setting them with one is refused rather than silently ignored.
MLP_ONLY = {p.name: p.default for p in MLP_PARAMS if p.name in ("hidden_layer_sizes", "activation", "dropout")}


def check_module(estimator: Any) -> None:
    """Check ``module`` and ``module_kwargs`` together with the MLP's parameters.

    Raises
    ------
    InvalidParameterError
        For a module instance (the class is expected), a ``module_kwargs`` without a
        ``module``, a ``module_kwargs`` that names a data argument or a non-str key, or an
        MLP parameter changed from its default together with a ``module``.

    Examples
    --------
    >>> from netreg import NetRegClassifier
    >>> check_module(NetRegClassifier(module=nn.Linear(3, 2)))
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `module` must be a torch.nn.Module subclass or a callable that builds one. Got module=Linear(in_features=3, out_features=2, bias=True). Pass the class, and its arguments in module_kwargs: module=Linear, module_kwargs={...}.
    """
    module, kwargs = estimator.module, estimator.module_kwargs
    if isinstance(module, nn.Module):
        raise invalid(
            "module",
            "a torch.nn.Module subclass or a callable that builds one",
            module,
            f"Pass the class, and its arguments in module_kwargs: module={type(module).__name__}, module_kwargs={{...}}.",
        )
    if module is None:
        if kwargs is not None:
            raise invalid(
                "module_kwargs", "None without a module (netreg's MLP takes hidden_layer_sizes)", kwargs, "Set module."
            )
        return
    named = sorted(key for key in kwargs or {} if not isinstance(key, str) or key in DATA_ARGUMENTS)
    if named:
        raise invalid(
            "module_kwargs",
            "a dict of the module's own keyword arguments (str keys)",
            kwargs,
            f"Remove {named}: {', '.join(DATA_ARGUMENTS)} are given from the data.",
        )
    for name, default in MLP_ONLY.items():
        value = hidden_sizes(estimator) if name == "hidden_layer_sizes" else getattr(estimator, name)
        if value != default:
            raise InvalidParameterError(
                f"`{name}` shapes netreg's MLP and has no effect on module={describe(module)}; expected its default "
                f"{default!r}. Got {name}={getattr(estimator, name)!r}. Leave it at its default and build what you "
                "need into your module (with module_kwargs)."
            )


def constraints(params: Sequence[Param]) -> dict[str, Any]:
    """scikit-learn's ``_parameter_constraints`` for ``params``.

    Examples
    --------
    >>> constraints(MLP_PARAMS)["early_stopping"]
    ['boolean']
    """
    return {param.name: param.constraints for param in params}


def validate_parameters(estimator: BaseEstimator) -> None:
    """scikit-learn's parameter validation, with its wording, plus a refusal of bools for floats.

    scikit-learn accepts ``alpha=True`` (a bool is a Real); a strength of ``True`` is
    always a mistake, so it is refused with the same wording. ``hidden_layer_sizes`` must
    also hold no zero, as in scikit-learn's MLPs, and at most
    :data:`netreg._checks.MAX_HIDDEN_LAYERS` layers (:func:`netreg._checks.check_depth`).

    Examples
    --------
    >>> from netreg import NetRegClassifier
    >>> validate_parameters(NetRegClassifier(alpha=True))
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: The 'alpha' parameter of NetRegClassifier must be a float in the range [0.0, inf), a str among {'auto'} or an instance of 'dict'. Got True instead.
    """
    validate_params(estimator)
    for name, constraint in estimator._parameter_constraints.items():
        value = getattr(estimator, name)
        real = (
            [c for c in constraint if isinstance(c, Interval) and c.type is Real]
            if isinstance(constraint, list)
            else []
        )
        if real and isinstance(value, bool | np.bool_):
            allowed = constraints_text(constraint_text(c) for c in constraint)
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be {allowed}. Got {value!r} instead."
            )
    sizes = getattr(estimator, "hidden_layer_sizes", None)
    if sizes is not None:
        values = np.atleast_1d(np.asarray(sizes, dtype=object))
        if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in values):
            raise InvalidParameterError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        check_depth(len(values))
    if hasattr(estimator, "module"):
        check_module(estimator)


def store_parameters(estimator: Any, given: Mapping[str, Any]) -> None:
    """Set each argument of a written ``__init__`` (its ``locals()``) as the attribute of its name, unchanged.

    scikit-learn's convention: ``__init__`` stores its parameters and does nothing else.

    Examples
    --------
    >>> from netreg import NetRegRegressor
    >>> model = NetRegRegressor.__new__(NetRegRegressor)
    >>> store_parameters(model, {"self": model, "alpha": 0.5})
    >>> model.alpha
    0.5
    """
    for name, value in given.items():
        if name != "self":
            setattr(estimator, name, value)


def hidden_sizes(estimator: Any) -> tuple[int, ...]:
    """``hidden_layer_sizes`` (already validated) as a tuple: an int ``n`` is ``(n,)``.

    Examples
    --------
    >>> from netreg import NetRegClassifier
    >>> hidden_sizes(NetRegClassifier(10)), hidden_sizes(NetRegClassifier(()))
    ((10,), ())
    """
    return tuple(int(size) for size in np.atleast_1d(np.asarray(estimator.hidden_layer_sizes, dtype=object)))


def describe(value: Any) -> Any:
    """A stable, readable name for a class or function (``"package.module.Name"``), recursively
    in dicts, lists and tuples; other values as they are. A sweep's specification records
    ``module`` and ``module_kwargs`` this way, so that a rerun in another process matches it.

    Examples
    --------
    >>> describe({"activation": nn.ReLU, "width": 8})
    {'activation': 'torch.nn.modules.activation.ReLU', 'width': 8}
    """
    if isinstance(value, Mapping):
        return {key: describe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(describe(item) for item in value)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', None) or ''}.{value.__qualname__}".lstrip(".")
    return value
