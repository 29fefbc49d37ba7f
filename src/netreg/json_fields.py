"""A small declarative checker for the JSON files netreg reads back.

A file's layout is declared once as nested specs (:class:`Value` leaves such as :func:`Const`,
:func:`Is`, :func:`InRange`, :data:`FINITE_NUMBER`, :data:`ANY`; :class:`Keys`, :class:`Items`,
:class:`Tagged`), and :func:`check_fields` raises one error at the first problem, naming the
file, the field, what was received and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Protocol

from netreg._checks import Range
from netreg.exceptions import DataError
from netreg.message_text import names_text, show

__all__ = [
    "ANY",
    "FINITE_NUMBER",
    "Const",
    "FieldProblem",
    "InRange",
    "Is",
    "Items",
    "Keys",
    "OneOf",
    "Spec",
    "Tagged",
    "Value",
    "check_fields",
]

#: A value longer than this (as ``repr``) is shown by its type and length.
MAX_SHOWN = 60

FieldPath = tuple[str | int, ...]


class Spec(Protocol):
    """What every spec does: check a value found at ``path``, raising :class:`FieldProblem`."""

    def check(self, value: Any, path: FieldPath) -> None: ...


class FieldProblem(Exception):
    """Raised by a spec's ``check``: where (the path of keys and indices), and what is wrong.

    :func:`check_fields` turns it into the caller's error; a spec written outside this
    module raises it too.
    """

    def __init__(self, path: FieldPath, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.path, self.problem, self.hint = path, problem, hint


@dataclass(frozen=True)
class Value:
    """A leaf: ``test(value)`` must hold; ``expected`` words what it accepts.

    Examples
    --------
    >>> check_fields(-1, Value("an int >= 0", lambda v: isinstance(v, int) and v >= 0), source="n")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: n must be an int >= 0; got -1.
    """

    expected: str
    test: Callable[[Any], bool]

    def check(self, value: Any, path: FieldPath) -> None:
        if not self.test(value):
            raise FieldProblem(path, _must(self.expected, value))


def Const(constant: Any) -> Value:  # noqa: N802 - reads as the spec it builds
    """A value equal to ``constant`` and of its exact type (``True`` is not ``1``).

    Examples
    --------
    >>> check_fields({"version": True}, Keys({"version": Const(1)}), source="config")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: config: `version` must be 1; got True.
    """
    return Value(repr(constant), lambda value: type(value) is type(constant) and value == constant)


def Is(*types: type | None, expected: str) -> Value:  # noqa: N802 - reads as the spec it builds
    """A value of one of ``types`` (``None`` for JSON null); a bool only if ``bool`` is listed.

    Examples
    --------
    >>> check_fields({"a": None}, Keys({"a": Is(str, None, expected="a str or None")}), source="f")
    """
    kinds = tuple(type(None) if kind is None else kind for kind in types)

    def test(value: Any) -> bool:
        return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))

    return Value(expected, test)


def OneOf(*options: Any) -> Value:  # noqa: N802 - reads as the spec it builds
    """One of ``options``, of the same type (``True`` is not ``1``).

    Examples
    --------
    >>> check_fields({"task": "ranking"}, Keys({"task": OneOf("binary", "multiclass", "regression")}), source="f")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: f: `task` must be one of 'binary', 'multiclass', 'regression'; got 'ranking'.
    """
    return Value(_options(options), lambda value: any(type(value) is type(o) and value == o for o in options))


def InRange(declared: Range) -> Value:  # noqa: N802 - reads as the spec it builds
    """A number in a declared range (:class:`netreg._checks.Range`), worded for JSON: a field
    that holds a parameter's value is checked by the parameter's own range.

    Examples
    --------
    >>> from netreg._checks import ALPHA, COUNT
    >>> check_fields({"alpha": -1, "n_folds": 5}, Keys({"alpha": InRange(ALPHA), "n_folds": InRange(COUNT)}), source="f")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: f: `alpha` must be a finite number >= 0; got -1.
    """
    return Value(declared.words("number"), declared.accepts)


#: Anything at all (a key that must be present, whatever its value).
ANY = Value("any value", lambda value: True)
#: An int or float (not a bool), finite.
FINITE_NUMBER = InRange(Range(Real))


@dataclass(frozen=True)
class Keys:
    """A dict: every key of ``required`` present, keys of ``optional`` allowed, each value checked.

    Parameters
    ----------
    required : mapping of str to spec
        Keys that must be present, checked in this order.
    optional : mapping of str to spec, optional
        Keys that may be present, checked when they are.
    ignored : sequence of str, optional
        Keys that may be present with any value and are not listed in messages
        (what other writers of the same file record).
    others : bool, default=False
        Whether any other key is accepted (unchecked).
    expected : str, default="a dict"
        What the value is, for a value that is not a dict.
    hint : str, optional
        A sentence appended to the problems of this dict itself (its type, its keys).

    Examples
    --------
    >>> spec = Keys({"a": ANY, "b": ANY})
    >>> check_fields({"a": 1, "c": 2}, spec, source="config", root="config")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: config: `config` misses key 'b'; expected keys 'a', 'b'.
    """

    required: Mapping[str, Spec]
    optional: Mapping[str, Spec] = field(default_factory=dict)
    ignored: Sequence[str] = ()
    others: bool = False
    expected: str = "a dict"
    hint: str = ""

    def check(self, value: Any, path: FieldPath) -> None:
        if not isinstance(value, dict):
            raise FieldProblem(path, _must(self.expected, value), self.hint)
        missing = [key for key in self.required if key not in value]
        known = (*self.required, *self.optional, *self.ignored)
        unexpected = [] if self.others else [key for key in value if key not in known]
        if missing or unexpected:
            found = "misses" if missing else "has unexpected"
            keys = missing or unexpected
            listed = names_text(self.required)
            if self.optional:
                listed += f" and optionally {names_text(self.optional)}"
            raise FieldProblem(
                path,
                f"{found} {'key' if len(keys) == 1 else 'keys'} {names_text(keys)}; expected keys {listed}.",
                self.hint,
            )
        for key, spec in (*self.required.items(), *self.optional.items()):
            if key in value:
                spec.check(value[key], (*path, key))


@dataclass(frozen=True)
class Items:
    """A list of at least ``min_items`` items, each checked by ``item``.

    With ``distinct``, the items are dicts whose values at that key differ from each other.

    Examples
    --------
    >>> spec = Keys({"columns": Items(Keys({"name": ANY}), distinct="name")})
    >>> check_fields({"columns": [{"name": "a"}, {"name": "a"}]}, spec, source="config")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: config: `columns[1].name` must be distinct from the other names; got 'a'.
    """

    item: Spec
    min_items: int = 1
    expected: str = "a non-empty list"
    distinct: str | None = None

    def check(self, value: Any, path: FieldPath) -> None:
        if not isinstance(value, list) or len(value) < self.min_items:
            raise FieldProblem(path, _must(self.expected, value))
        seen: list[Any] = []
        for i, item in enumerate(value):
            self.item.check(item, (*path, i))
            if self.distinct is not None:
                key = item[self.distinct]
                if key in seen:
                    raise FieldProblem(
                        (*path, i, self.distinct), _must(f"distinct from the other {self.distinct}s", key)
                    )
                seen.append(key)


@dataclass(frozen=True)
class Tagged:
    """A dict checked by ``variants[value[tag]]``; the tag is checked first.

    Examples
    --------
    >>> spec = Tagged("kind", {"a": Keys({"kind": ANY}), "b": Keys({"kind": ANY, "x": ANY})})
    >>> check_fields({"kind": "c"}, spec, source="f")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: f: `kind` must be 'a' or 'b'; got 'c'.
    """

    tag: str
    variants: Mapping[Any, Spec]

    def check(self, value: Any, path: FieldPath) -> None:
        kind = value.get(self.tag) if isinstance(value, dict) else None
        OneOf(*self.variants).check(kind, (*path, self.tag))
        self.variants[kind].check(value, path)


def check_fields(
    value: Any,
    spec: Spec,
    *,
    source: str,
    root: str | None = None,
    error: Callable[[str], Exception] = DataError,
) -> None:
    """Check a loaded JSON value against ``spec``; raise ``error`` on the first problem.

    The message is ``"{source}: `{field}` {problem}"`` (the field as ``columns[0].name``),
    or ``"{source} {problem}"`` for a problem of the value itself when ``root`` is None.

    Parameters
    ----------
    value : object
        What :func:`json.loads` returned.
    spec : Spec
        Its layout.
    source : str
        What the value is, for the message: a file (``"'run/run.json'"``) or a name.
    root : str, optional
        The name of the value itself, for its own problems (``"config"``).
    error : exception class, default=DataError
        What to raise (a caller's own subclass of :class:`netreg.NetRegError`).

    Examples
    --------
    >>> spec = Keys({"alpha": FINITE_NUMBER, "layers": Items(Is(int, expected="an int"))})
    >>> check_fields({"alpha": 0.1, "layers": [3, 4]}, spec, source="model.json")
    >>> check_fields({"alpha": 0.1, "layers": [3, "4"]}, spec, source="model.json")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: model.json: `layers[1]` must be an int; got '4'.
    """
    try:
        spec.check(value, ())
    except FieldProblem as problem:
        name = _field(problem.path) or root
        subject = f"{source}: `{name}`" if name else source
        raise error(f"{subject} {problem.problem}" + (f" {problem.hint}" if problem.hint else "")) from None


def _field(path: FieldPath) -> str:
    parts = [f"[{part}]" if isinstance(part, int) else f".{part}" for part in path]
    return "".join(parts).removeprefix(".")


def _must(expected: str, value: Any) -> str:
    return f"must be {expected}; got {_shown(value)}."


def _shown(value: Any) -> str:
    shown = show(value)
    if len(shown) > MAX_SHOWN:  # a long list: its kind and length say enough (long text is cut by show)
        shown = f"a {type(value).__name__} of length {len(value)}" if hasattr(value, "__len__") else shown[:MAX_SHOWN]
    return shown


def _options(options: Sequence[Any] | Mapping[Any, Any]) -> str:
    listed = [repr(option) for option in options]
    return " or ".join(listed) if len(listed) <= 2 else f"one of {', '.join(listed)}"
