"""Parameter checks shared by every public entry point.

Every message follows the parameter template of :func:`netreg.exceptions.invalid`::

    `alpha` must be a finite float >= 0. Got alpha=-0.1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from netreg.exceptions import invalid

__all__ = [
    "check_alpha",
    "check_int",
    "check_float",
    "check_options",
    "check_hidden_sizes",
    "check_depth",
    "check_seed",
    "invalid",
    "MAX_SEED",
    "MAX_HIDDEN_LAYERS",
    "DEPTH_REASON",
]

#: The largest seed NumPy and scikit-learn accept (``2**32 - 1``).
MAX_SEED = 2**32 - 1

#: The most hidden layers netreg's MLP may have. A plain MLP (no residual connections, no
#: normalization) stops learning long before: its signal and gradients vanish or explode
#: through a few dozen layers. And every layer costs each training step time of its own,
#: whatever its width: about 0.14 ms per layer and step measured on one core, so 1000 layers
#: of width 1 take 0.14 s a step, and 20,000 layers (which pass the memory check: 60,000
#: parameters) ran for minutes before a message could say anything. 1000 keeps every depth
#: that can learn and refuses a typo at once.
MAX_HIDDEN_LAYERS = 1000
#: Why the depth is bounded, for the messages.
DEPTH_REASON = "a plain MLP that deep does not train, and every layer adds time to every step"


def _is_real(value: Any) -> bool:
    # bool is an int subclass: `alpha=True` is almost always a mistake, never a strength.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite Python float within the given bounds, else raise.

    The expected-value phrase is built from the bounds: ``"a finite float >= 0"``,
    ``"a float in [0, 1]"``, ``"a finite float > 0"``.
    """
    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        expected = f"a float in {left}{_fmt(low)}, {_fmt(high)}{right}"
    elif low is not None:
        expected = f"a finite float {'>' if low_open else '>='} {_fmt(low)}"
    elif high is not None:
        expected = f"a finite float {'<' if high_open else '<='} {_fmt(high)}"
    else:
        expected = "a finite float"
    if not _is_real(value) or not math.isfinite(float(value)):
        raise invalid(name, expected, value)
    number = float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        raise invalid(name, expected, value)
    return number


def check_alpha(value: Any, name: str = "alpha") -> float:
    """Return a penalty strength as a float, or raise: it must be finite and >= 0.

    Examples
    --------
    >>> check_alpha(0.5)
    0.5
    >>> check_alpha(float("nan"))
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `alpha` must be a finite float >= 0. Got alpha=nan.
    """
    return check_float(value, name, low=0.0)


def check_int(value: Any, name: str, *, low: int | None = None) -> int:
    """Return ``value`` as a Python int (``>= low`` when given), else raise.

    Integral floats such as ``3.0`` are refused, as scikit-learn refuses them: a float
    where a count is expected usually signals a mix-up of two parameters.
    """
    expected = "an int" if low is None else f"an int >= {low}"
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise invalid(name, expected, value)
    number = int(value)
    if low is not None and number < low:
        raise invalid(name, expected, value)
    return number


def check_options(value: Any, name: str, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise, suggesting the nearest."""
    if isinstance(value, str) and value in options:
        return value
    listed = ", ".join(repr(option) for option in options)
    fix = ""
    if isinstance(value, str):
        import difflib

        close = difflib.get_close_matches(value.lower(), options, n=1)
        if close:
            fix = f"Did you mean {close[0]!r}?"
    raise invalid(name, f"one of {listed}", value, fix)


def check_hidden_sizes(value: Any, name: str = "hidden_layer_sizes") -> tuple[int, ...]:
    """Return hidden layer sizes as a tuple of positive ints.

    An int ``n`` means one hidden layer of ``n`` units (scikit-learn's convention);
    an empty sequence means no hidden layer, a linear model.

    Examples
    --------
    >>> check_hidden_sizes(10)
    (10,)
    >>> check_hidden_sizes([64, 32])
    (64, 32)
    >>> check_hidden_sizes(())
    ()

    More than :data:`MAX_HIDDEN_LAYERS` layers are refused (:func:`check_depth`).
    """
    expected = "a positive int or a sequence of positive ints"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        sizes: tuple[Any, ...] = (value,)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        sizes = tuple(value)
    else:
        raise invalid(name, expected, value)
    for size in sizes:
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise invalid(name, expected, value)
    check_depth(len(sizes), name)
    return tuple(int(size) for size in sizes)


def check_depth(n_layers: int, name: str = "hidden_layer_sizes") -> None:
    """Refuse more than :data:`MAX_HIDDEN_LAYERS` hidden layers (:data:`DEPTH_REASON`).

    Examples
    --------
    >>> check_depth(3)
    >>> check_depth(20_000)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `hidden_layer_sizes` must be at most 1000 hidden layers (a plain MLP that deep does not train, and every layer adds time to every step). Got 20,000 layers.
    """
    if n_layers > MAX_HIDDEN_LAYERS:
        raise invalid(name, f"at most {MAX_HIDDEN_LAYERS} hidden layers ({DEPTH_REASON})", got=f"{n_layers:,} layers")


def check_seed(value: Any, name: str = "seed") -> int:
    """Return a seed NumPy and scikit-learn accept (an int from 0 to :data:`MAX_SEED`), else raise.

    Examples
    --------
    >>> check_seed(-5)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `seed` must be an int from 0 to 4294967295. Got seed=-5.
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not 0 <= value <= MAX_SEED:
        raise invalid(name, f"an int from 0 to {MAX_SEED}", value)
    return int(value)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))
