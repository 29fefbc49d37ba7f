"""Every private function of torch and scikit-learn that netreg calls, each with a public fallback.

Nothing else in the package touches their private names. Each is taken only if it exists and,
on a small probe run once at import, agrees with its fallback, so a release that renames or
drops one is slower at worst, never broken: ``torch._foreach_*`` (fallback: tensor by tensor),
``torch._fused_adam_`` (``None``: :func:`netreg.engine.optim.adam_step_` takes its multi-tensor
path), torch's undocumented dropout functions (only those this torch has:
:func:`torch_dropout_functions`), ``torch.ops.aten.threshold_backward`` (``masked_fill``),
``sklearn.utils._param_validation`` (a local version with the same messages) and
``sklearn.utils.validation._check_sample_weight`` (public helpers). tests/test_compat.py holds
each fallback to its private function.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_array

from netreg.exceptions import InvalidParameterError

__all__ = [
    "foreach_add",
    "foreach_add_",
    "foreach_addcmul_",
    "foreach_div",
    "foreach_div_",
    "foreach_lerp_",
    "foreach_mul",
    "foreach_mul_",
    "foreach_sign",
    "foreach_sqrt",
    "foreach_sub_",
    "fused_adam_",
    "TORCH_DROPOUT_NAMES",
    "torch_dropout_functions",
    "relu_backward",
    "Interval",
    "Options",
    "StrOptions",
    "HasMethods",
    "validate_params",
    "constraints_text",
    "constraint_text",
    "check_sample_weight",
]

# -- torch ---------------------------------------------------------------------------------

#: The calls netreg makes of each ``torch._foreach_<op>``, as (arguments, keywords) after the
#: list of tensors: "list" is a second list of the same shapes, "per_member" a list of
#: ``(K, 1, ..., 1)`` factors that broadcast over them, "floats" one float per tensor.
FOREACH_OPS: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "add_": [(("list",), {}), (("list",), {"alpha": 0.5}), ((0.25,), {})],
    "add": [(("list",), {"alpha": 0.5})],
    "sub_": [(("list",), {})],
    "mul_": [((0.5,), {}), (("per_member",), {})],
    "mul": [(("floats",), {}), (("per_member",), {})],
    "div_": [(("per_member",), {})],
    "div": [(("list",), {})],
    "lerp_": [(("list", 0.25), {})],
    "addcmul_": [(("list", "list"), {"value": 0.5}), (("list", "per_member"), {})],
    "sqrt": [((), {})],
    "sign": [((), {})],
}


def foreach_loop(op: str) -> Callable[..., Any]:
    """The public form of ``torch._foreach_<op>``: ``Tensor.<op>`` on each tensor in turn.

    An argument that is a list or tuple gives one value per tensor, any other is given to all;
    an in-place op returns ``tensors``, as the private one does.

    Examples
    --------
    >>> a = [torch.ones(2), torch.ones(3)]
    >>> _ = foreach_loop("add_")(a, [torch.ones(2), torch.ones(3)], alpha=2.0)
    >>> [t.tolist() for t in foreach_loop("mul")(a, [1.0, 0.5])]
    [[3.0, 3.0], [1.5, 1.5, 1.5]]
    """

    def loop(tensors: list[torch.Tensor], *others: Any, **keywords: Any) -> list[torch.Tensor]:
        columns = [list(o) if isinstance(o, list | tuple) else [o] * len(tensors) for o in others]
        results = [getattr(t, op)(*row, **keywords) for t, *row in zip(tensors, *columns, strict=True)]
        return tensors if op.endswith("_") else results

    loop.__name__ = loop.__qualname__ = f"foreach_{op}"
    return loop


def _probe_arguments(argument: Any, shapes: list[tuple[int, ...]], generator: torch.Generator) -> Any:
    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.rand(shape, generator=generator, dtype=torch.float64, device="cpu") + 0.5

    if argument == "list":
        return [draw(s) for s in shapes]
    if argument == "per_member":
        return [draw((s[0],) + (1,) * (len(s) - 1)) for s in shapes]
    if argument == "floats":
        return [0.5 + i for i in range(len(shapes))]
    return argument


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=0.0, atol=0.0, equal_nan=True)  # exactly, NaN too


def _agrees(private: Callable[..., Any], op: str) -> bool:
    """Whether ``private`` takes netreg's calls of ``op`` and gives what :func:`foreach_loop` gives."""
    loop, shapes = foreach_loop(op), [(2, 3), (2,)]
    for arguments, keywords in FOREACH_OPS[op]:
        generator = torch.Generator().manual_seed(0)
        tensors = [torch.rand(s, generator=generator, dtype=torch.float64, device="cpu") - 0.5 for s in shapes]
        others = [_probe_arguments(a, shapes, generator) for a in arguments]
        mine, theirs = [t.clone() for t in tensors], [t.clone() for t in tensors]
        try:
            returned = private(theirs, *others, **keywords)
        except Exception:  # a private function that does not take netreg's call is not used
            return False
        expected = loop(mine, *others, **keywords)
        got, expected = (theirs, mine) if op.endswith("_") else (returned, expected)
        if not isinstance(got, list | tuple) or len(got) != len(expected) or not all(map(_same, got, expected)):
            return False
    return True


def resolve_foreach(op: str) -> Callable[..., Any]:
    """``torch._foreach_<op>`` where it exists and agrees with :func:`foreach_loop`, else the loop.

    Examples
    --------
    >>> resolve_foreach("sqrt") is torch._foreach_sqrt
    True
    """
    private = getattr(torch, f"_foreach_{op}", None)
    return private if private is not None and _agrees(private, op) else foreach_loop(op)


foreach_add = resolve_foreach("add")
foreach_add_ = resolve_foreach("add_")
foreach_addcmul_ = resolve_foreach("addcmul_")
foreach_div = resolve_foreach("div")
foreach_div_ = resolve_foreach("div_")
foreach_lerp_ = resolve_foreach("lerp_")
foreach_mul = resolve_foreach("mul")
foreach_mul_ = resolve_foreach("mul_")
foreach_sign = resolve_foreach("sign")
foreach_sqrt = resolve_foreach("sqrt")
foreach_sub_ = resolve_foreach("sub_")


def resolve_fused_adam() -> Callable[..., None] | None:
    """``torch._fused_adam_`` where it exists and takes netreg's call, else ``None``.

    The probe is Adam's first step, whose bias-corrected update is ``lr * g / |g|`` (with
    ``eps = 0``): from 0, a gradient ``[1, -2]`` and ``lr = 0.5`` give ``[-0.5, 0.5]``.

    Examples
    --------
    >>> resolve_fused_adam() is torch._fused_adam_
    True
    """
    private = getattr(torch, "_fused_adam_", None)
    if private is None:
        return None

    def cpu(*values: float) -> torch.Tensor:  # whatever torch's default dtype and device
        return torch.tensor(values, dtype=torch.float32, device="cpu")

    params, moments = [cpu(0.0, 0.0)], ([cpu(0.0, 0.0)], [cpu(0.0, 0.0)])
    keywords = dict(amsgrad=False, lr=0.5, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=0.0, maximize=False)
    try:
        private(params, [cpu(1.0, -2.0)], *moments, [], [cpu(1.0)[0]], **keywords)
    except Exception:  # as above: not usable
        return None
    return private if torch.allclose(params[0], cpu(-0.5, 0.5)) else None


#: PyTorch's fused Adam kernel, called as ``torch.optim.Adam(fused=True)`` calls it, or ``None``.
fused_adam_ = resolve_fused_adam()

#: The undocumented dropout functions of torch's namespace that :mod:`netreg.engine.dropout` recognizes.
TORCH_DROPOUT_NAMES = (
    "dropout",
    "dropout_",
    "feature_dropout",
    "feature_dropout_",
    "alpha_dropout",
    "alpha_dropout_",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
)


def torch_dropout_functions() -> dict[str, Callable[..., Any]]:
    """The functions of :data:`TORCH_DROPOUT_NAMES` this torch has, by name (a release
    without one leaves it out: nothing can call it).

    Examples
    --------
    >>> torch_dropout_functions()["dropout_"] is torch.dropout_
    True
    """
    found = {name: getattr(torch, name, None) for name in TORCH_DROPOUT_NAMES}
    return {name: function for name, function in found.items() if callable(function)}


def _relu_backward_fallback(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    return grad.masked_fill(output <= 0, 0.0)


def resolve_relu_backward() -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``relu_backward(grad, output)``: ``grad`` with 0 where ReLU's ``output`` is <= 0 (a
    new tensor), through ``torch.ops.aten.threshold_backward`` where it exists and agrees
    with the public fallback (``masked_fill``), else through the fallback.

    Examples
    --------
    >>> relu_backward = resolve_relu_backward()
    >>> relu_backward(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, 0.0, -0.0])).tolist()
    [1.0, 0.0, 0.0]
    """
    private = getattr(getattr(torch, "ops", None) and torch.ops.aten, "threshold_backward", None)
    if private is None:
        return _relu_backward_fallback

    def call(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return private(grad, output, 0)

    output = torch.tensor([1.0, 0.0, -0.0, -2.0, float("nan")], device="cpu")
    grad = torch.tensor([-1.5, 2.0, 3.0, float("inf"), 4.0], device="cpu")
    try:
        agrees = _same(call(grad, output), _relu_backward_fallback(grad, output))
    except Exception:  # as above: not usable
        return _relu_backward_fallback
    return call if agrees else _relu_backward_fallback


#: ReLU's backward in one kernel, as autograd computes it, or its public equivalent.
relu_backward = resolve_relu_backward()

# -- scikit-learn: parameter constraints ---------------------------------------------------


def _type_name(t: type) -> str:
    if t.__module__ == "builtins":
        return t.__qualname__
    return {Real: "float", Integral: "int"}.get(t, f"{t.__module__}.{t.__qualname__}")


def constraints_text(texts: Iterable[Any]) -> str:
    """Constraints joined as scikit-learn words them: ``"a, b or c"``.

    Examples
    --------
    >>> constraints_text(["None", "a callable"])
    'None or a callable'
    """
    texts = [str(t) for t in texts]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"


class _Rule:
    """A local constraint: what it accepts and how scikit-learn words it."""

    def __init__(self, text: str, accepts: Callable[[Any], bool]) -> None:
        self.text, self.accepts = text, accepts

    def __str__(self) -> str:
        return self.text


class _Interval(_Rule):
    def __init__(self, type: type, left: Any, right: Any, *, closed: str) -> None:
        self.type, self.left, self.right, self.closed = type, left, right, closed
        low, high = -np.inf if left is None else left, np.inf if right is None else right
        shown = ["-inf" if left is None else left, "inf" if right is None else right]
        if type is not Integral:  # scikit-learn shows a float range's bounds as floats
            shown = [float(b) if isinstance(b, Real) else b for b in shown]
        brackets = "[" if closed in ("left", "both") else "(", "]" if closed in ("right", "both") else ")"
        kind = "an int" if type is Integral else "a float"
        text = f"{kind} in the range {brackets[0]}{shown[0]}, {shown[1]}{brackets[1]}"
        super().__init__(text, self._accepts)
        self._low, self._high = low, high

    def _accepts(self, value: Any) -> bool:
        if not isinstance(value, self.type) or (not isinstance(value, Integral) and np.isnan(value)):
            return False
        above = value >= self._low if self.closed in ("left", "both") else value > self._low
        below = value <= self._high if self.closed in ("right", "both") else value < self._high
        return bool(above and below)


class _Options(_Rule):
    def __init__(self, type: type, options: set[Any]) -> None:
        self.type, self.options = type, options
        shown = ", ".join(repr(o) for o in options)
        super().__init__(f"a {_type_name(type)} among {{{shown}}}", lambda v: isinstance(v, type) and v in options)


class _StrOptions(_Options):
    def __init__(self, options: set[str]) -> None:
        super().__init__(str, options)


class _HasMethods(_Rule):
    def __init__(self, methods: str | list[str]) -> None:
        self.methods = [methods] if isinstance(methods, str) else list(methods)
        names = [repr(m) for m in self.methods]
        shown = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        super().__init__(
            f"an object implementing {shown}", lambda v: all(callable(getattr(v, m, None)) for m in self.methods)
        )


def _is_array_like(value: Any) -> bool:
    import scipy.sparse as sp

    listed = hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")
    return listed and not sp.issparse(value) and not np.isscalar(value)


def _local_rule(constraint: Any) -> _Rule:
    """scikit-learn's ``make_constraint`` for the constraints netreg declares."""
    if isinstance(constraint, _Rule):
        return constraint
    if constraint is None:
        return _Rule("None", lambda v: v is None)
    if constraint is callable:
        return _Rule("a callable", callable)
    if isinstance(constraint, type):
        return _Rule(f"an instance of {_type_name(constraint)!r}", lambda v: isinstance(v, constraint))
    keywords: dict[str, list[Any]] = {
        "boolean": [bool, np.bool_],
        "verbose": [_Interval(Integral, 0, None, closed="left"), bool, np.bool_],
        "random_state": [_Interval(Integral, 0, 2**32 - 1, closed="both"), np.random.RandomState, None],
        "cv_object": [
            _Interval(Integral, 2, None, closed="left"),
            _HasMethods(["split", "get_n_splits"]),
            _Rule("an iterable", lambda v: isinstance(v, Iterable) and not isinstance(v, str)),
            None,
        ],
    }
    if constraint == "array-like":
        return _Rule("an array-like", _is_array_like)
    if isinstance(constraint, str) and constraint in keywords:
        rules = [_local_rule(c) for c in keywords[constraint]]
        return _Rule(constraints_text(rules), lambda v: any(r.accepts(v) for r in rules))
    raise ValueError(f"Unknown constraint type: {constraint}")


def _local_validate(declared: dict[str, Any], params: dict[str, Any], caller_name: str) -> None:
    """scikit-learn's ``validate_parameter_constraints``, with :func:`_local_rule`'s constraints."""
    for name, value in params.items():
        if declared.get(name, "no_validation") == "no_validation":
            continue
        rules = [_local_rule(c) for c in declared[name]]
        if not any(rule.accepts(value) for rule in rules):
            raise InvalidParameterError(
                f"The {name!r} parameter of {caller_name} must be {constraints_text(rules)}. Got {value!r} instead."
            )


def _sklearn_validation() -> Any:
    """scikit-learn's private ``_param_validation`` module, if it is there and words a probe as expected."""
    expected = "The 'a' parameter of C must be a float in the range [0.0, inf) or a str among {'auto'}. Got -1 instead."
    try:
        from sklearn.utils import _param_validation as private

        probe = {"a": [private.Interval(Real, 0, None, closed="left"), private.StrOptions({"auto"})]}
        private.validate_parameter_constraints(probe, {"a": -1}, caller_name="C")
    except Exception as error:  # a probe of another library's private code: any failure means "not usable"
        names = ("HasMethods", "Options", "make_constraint", "InvalidParameterError")
        usable = str(error) == expected and all(hasattr(private, n) for n in names)
        return private if usable and isinstance(error, private.InvalidParameterError) else None
    return None


_PARAM_VALIDATION = _sklearn_validation()
if _PARAM_VALIDATION is not None:
    Interval, Options = _PARAM_VALIDATION.Interval, _PARAM_VALIDATION.Options
    StrOptions, HasMethods = _PARAM_VALIDATION.StrOptions, _PARAM_VALIDATION.HasMethods
else:  # pragma: no cover - a scikit-learn without its private module
    Interval, Options, StrOptions, HasMethods = _Interval, _Options, _StrOptions, _HasMethods


def validate_params(estimator: Any) -> None:
    """Check ``estimator``'s parameters against its ``_parameter_constraints``, in scikit-learn's words.

    Raises
    ------
    InvalidParameterError
        For the first parameter (by name) that satisfies none of its constraints.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> class Net(BaseEstimator):
    ...     _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}
    ...     def __init__(self, alpha=1.0):
    ...         self.alpha = alpha
    >>> validate_params(Net(alpha=-1))
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: The 'alpha' parameter of Net must be a float in the range [0.0, inf). Got -1 instead.
    """
    arguments = (estimator._parameter_constraints, estimator.get_params(deep=False), type(estimator).__name__)
    if _PARAM_VALIDATION is None:
        return _local_validate(*arguments)
    try:
        _PARAM_VALIDATION.validate_parameter_constraints(*arguments)
    except _PARAM_VALIDATION.InvalidParameterError as error:
        raise InvalidParameterError(str(error)) from None


def constraint_text(constraint: Any) -> str:
    """How scikit-learn words one constraint (``"a float in the range [0.0, 1.0]"``).

    Examples
    --------
    >>> constraint_text("boolean")
    "an instance of 'bool' or an instance of 'numpy.bool'"
    """
    if _PARAM_VALIDATION is None:
        return str(_local_rule(constraint))
    return str(_PARAM_VALIDATION.make_constraint(constraint))


# -- scikit-learn: sample weights ----------------------------------------------------------


def _local_check_sample_weight(sample_weight: Any, X: Any, *, dtype: Any = None) -> np.ndarray:
    n_samples = X.shape[0]
    if dtype is not None and dtype not in (np.float32, np.float64):
        dtype = np.float64
    if sample_weight is None:
        weights = np.ones(n_samples, dtype=dtype)
    elif isinstance(sample_weight, numbers.Number):
        weights = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        weights = check_array(
            sample_weight,
            accept_sparse=False,
            ensure_2d=False,
            dtype=[np.float64, np.float32] if dtype is None else dtype,
            order="C",
            input_name="sample_weight",
        )
        if weights.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {weights.ndim}D array. Expected either a scalar "
                f"value or a 1D array of length {n_samples}."
            )
        if weights.shape != (n_samples,):
            raise ValueError(f"sample_weight.shape == {weights.shape}, expected {(n_samples,)}!")
    if np.all(weights == 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def _sklearn_check_sample_weight() -> Callable[..., np.ndarray]:
    try:
        from sklearn.utils.validation import _check_sample_weight as private

        works = np.array_equal(private([1, 2], np.zeros((2, 1)), dtype=np.float32), np.array([1.0, 2.0], np.float32))
    except Exception:  # as above: not usable
        return _local_check_sample_weight
    return private if works else _local_check_sample_weight


#: ``sample_weight`` as a 1-D float array of ``X``'s rows, ones for ``None``, with
#: scikit-learn's checks and words: ``check_sample_weight(sample_weight, X, dtype=X.dtype)``.
check_sample_weight = _sklearn_check_sample_weight()
