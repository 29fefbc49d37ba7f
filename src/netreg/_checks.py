"""Parameter checks shared by every public entry point, and the declared rules they read.

A parameter's range is declared once (:class:`Range`, :class:`Choice`, :class:`Flag`); the
engine's config, the estimators' scikit-learn constraints and the JSON fields are checked from
it, with the template of :func:`netreg.exceptions.invalid`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

from netreg._compat import Interval, Options, StrOptions
from netreg.exceptions import invalid

__all__ = [
    "ALPHA",
    "COUNT",
    "Choice",
    "Flag",
    "Range",
    "Rule",
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

#: The most hidden layers netreg's MLP may have: a plain MLP stops learning a few dozen layers
#: deep, and every layer adds time to every step (``docs/architecture.md``); a typo is refused at once.
MAX_HIDDEN_LAYERS = 1000
#: Why the depth is bounded, for the messages.
DEPTH_REASON = "a plain MLP that deep does not train, and every layer adds time to every step"


@dataclass(frozen=True)
class Range:
    """A number's range, declared once: :meth:`check` words a refusal as netreg does
    (``TrainConfig``, ``check_float``, ``check_int``), :attr:`constraints` are scikit-learn's
    (the estimators'), :meth:`words` and :meth:`accepts` serve a JSON field (``InRange``).

    ``type`` is ``Real`` (a finite float, not a bool) or ``Integral`` (an int, not a bool nor
    an integral float); ``closed`` says which bounds belong, as scikit-learn's ``Interval``
    says it; ``inf``, when given, says what ``math.inf`` means, which is then accepted too.

    Examples
    --------
    >>> Range(Real, 0, 1).check(1.0, "dropout")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `dropout` must be a float in [0, 1). Got dropout=1.0.
    >>> Range(Integral, 1).words(), Range(Real, 0).words("number")
    ('an int >= 1', 'a finite number >= 0')
    """

    type: type
    low: float | None = None
    high: float | None = None
    closed: str = "left"
    inf: str = ""

    def words(self, noun: str = "float") -> str:
        """What the range accepts: ``"a finite float >= 0"``, ``"a float in [0, 1)"``, ``"an int >= 1"``."""
        low, high, low_open, high_open = self.low, self.high, *self._open
        if self.type is Integral:
            return "an int" + ("" if low is None else f" >= {low}") + ("" if high is None else f" and <= {high}")
        if low is not None and high is not None:
            return f"a {noun} in {'(' if low_open else '['}{_fmt(low)}, {_fmt(high)}{')' if high_open else ']'}"
        if low is None and high is None:
            return f"a finite {noun}"
        sign, bound = (">" if low_open else ">=", low) if high is None else ("<" if high_open else "<=", high)
        return f"a finite {noun} {sign} {_fmt(bound)}"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is in the range."""
        if self.inf and isinstance(value, float) and value == math.inf:
            return True
        # bool is an int subclass: `alpha=True` is almost always a mistake, never a strength.
        if not isinstance(value, self.type) or isinstance(value, bool):
            return False
        if self.type is not Integral and not math.isfinite(float(value)):
            return False
        low_open, high_open = self._open
        too_low = self.low is not None and (value <= self.low if low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if high_open else value > self.high)
        return not (too_low or too_high)

    def check(self, value: Any, name: str) -> Any:
        """Return ``value`` as a Python float or int (or ``math.inf``) if it is in the range, else raise."""
        if not self.accepts(value):
            raise invalid(name, self.words() + (f" or math.inf ({self.inf})" if self.inf else ""), value)
        return value if value == math.inf else (int if self.type is Integral else float)(value)

    @property
    def constraints(self) -> list[Any]:
        """scikit-learn's constraints."""
        declared = [Interval(self.type, self.low, self.high, closed=self.closed)]
        return declared + [Options(Real, {math.inf})] if self.inf else declared

    @property
    def _open(self) -> tuple[bool, bool]:
        return self.closed in ("right", "neither"), self.closed in ("left", "neither")


@dataclass(frozen=True)
class Choice:
    """One of a registry's names, declared once (see :class:`Range`).

    Examples
    --------
    >>> Choice(("float32", "float64")).check("float16", "dtype")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `dtype` must be one of 'float32', 'float64'. Got dtype='float16'. Did you mean 'float64'?
    """

    options: tuple[str, ...]

    def check(self, value: Any, name: str) -> str:
        """Return ``value`` if it is one of the options, else raise (:func:`check_options`)."""
        return check_options(value, name, self.options)

    @property
    def constraints(self) -> list[Any]:
        """scikit-learn's constraints."""
        return [StrOptions(set(self.options))]


@dataclass(frozen=True)
class Flag:
    """A bool, declared once (see :class:`Range`); scikit-learn's ``"boolean"`` takes NumPy's too.

    Examples
    --------
    >>> Flag().check(1, "shuffle")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `shuffle` must be a bool. Got shuffle=1.
    """

    def check(self, value: Any, name: str) -> bool:
        """Return ``value`` if it is a bool, else raise."""
        if not isinstance(value, bool):
            raise invalid(name, "a bool", value)
        return value

    constraints: ClassVar[list[Any]] = ["boolean"]


#: A declared rule: what :class:`netreg.engine.TrainConfig` checks its fields with and the
#: estimators' constraints are built from.
Rule = Range | Choice | Flag

#: A penalty strength: finite and >= 0.
ALPHA = Range(Real, 0)
#: A count of at least one (units, folds, outputs, epochs, ...).
COUNT = Range(Integral, 1)


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

    The expected-value phrase is built from the bounds (:meth:`Range.words`):
    ``"a finite float >= 0"``, ``"a float in [0, 1]"``, ``"a finite float > 0"``.
    """
    closed = {(False, False): "both", (False, True): "left", (True, False): "right"}.get((low_open, high_open))
    return Range(Real, low, high, closed or "neither").check(value, name)


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
    return ALPHA.check(value, name)


def check_int(value: Any, name: str, *, low: int | None = None) -> int:
    """Return ``value`` as a Python int (``>= low`` when given), else raise.

    Integral floats such as ``3.0`` are refused, as scikit-learn refuses them: a float
    where a count is expected usually signals a mix-up of two parameters.
    """
    return Range(Integral, low).check(value, name)


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
