"""The JSON field checker: each kind of spec, the path of the field, and every message in full."""

from __future__ import annotations

from numbers import Real

import pytest

from netreg._checks import ALPHA, COUNT, Range
from netreg.exceptions import NetRegError
from netreg.json_fields import (
    ANY,
    FINITE_NUMBER,
    Const,
    InRange,
    Is,
    Items,
    Keys,
    OneOf,
    Tagged,
    Value,
    check_fields,
)


@pytest.mark.parametrize(
    "spec, good, bad, expected",
    [
        (Const(1), [1], [True, 1.0, "1", None], "1"),
        (Const("x"), ["x"], ["X", None], "'x'"),
        (Is(int, expected="an int"), [0, -3], [True, 1.5, "1"], "an int"),
        (Is(bool, expected="a bool"), [True, False], [0, None], "a bool"),
        (Is(str, None, expected="a str or None"), ["", None], [1, []], "a str or None"),
        (FINITE_NUMBER, [0, -1.5, 1e308], [float("nan"), float("inf"), True, "1"], "a finite number"),
        (OneOf("a", 2), ["a", 2], ["b", 2.0, True], "'a' or 2"),
        (OneOf("a", "b", "c"), ["c"], ["d"], "one of 'a', 'b', 'c'"),
        (ANY, [None, [], {}], [], "any value"),
        # A parameter's declared range, worded for JSON (no float/int distinction there).
        (InRange(ALPHA), [0, 0.5, 1e308], [-1, -1e-300, float("inf"), True, None], "a finite number >= 0"),
        (InRange(COUNT), [1, 10**20], [0, 1.0, True, "2"], "an int >= 1"),
        (InRange(Range(Real, 0, 1)), [0, 0.0, 0.99], [1.0, -1e-9, True], "a number in [0, 1)"),
    ],
)
def test_leaves_accept_exactly_their_values(refused, spec, good, bad, expected):
    for value in good:
        check_fields(value, spec, source="f")
    for value in bad:
        with refused(f"f must be {expected}; got {value!r}."):
            check_fields(value, spec, source="f")


def test_a_problem_names_the_source_and_the_path_of_the_field(refused):
    spec = Keys({"a": Items(Keys({"b": Items(Is(int, expected="an int"))}))})
    with refused("model.json: `a[1].b[0]` must be an int; got 'x'."):
        check_fields({"a": [{"b": [1]}, {"b": ["x"]}]}, spec, source="model.json")


def test_the_value_itself_is_named_by_root_or_not_at_all(refused):
    spec = Keys({"a": ANY})
    with refused("config: `config` must be a dict; got []."):
        check_fields([], spec, source="config", root="config")
    with refused("'run.json' must be a dict; got []."):
        check_fields([], spec, source="'run.json'")


@pytest.mark.parametrize(
    "value, found",
    [
        ({"a": 1}, "misses key 'b'"),
        ({}, "misses keys 'a', 'b'"),
        ({"a": 1, "b": 2, "c": 3}, "has unexpected key 'c'"),
        ({"a": 1, "b": 2, "d": 4, "c": 3}, "has unexpected keys 'd', 'c'"),
    ],
)
def test_keys_missing_or_unexpected_list_what_is_expected(refused, value, found):
    with refused(f"f: `x` {found}; expected keys 'a', 'b'."):
        check_fields(value, Keys({"a": ANY, "b": ANY}), source="f", root="x")


def test_optional_ignored_and_other_keys(refused):
    spec = Keys({"a": ANY}, optional={"b": Is(str, expected="a str")}, ignored=("c",), hint="See the docs.")
    check_fields({"a": 1, "c": [1]}, spec, source="f")
    with refused("f has unexpected key 'd'; expected keys 'a' and optionally 'b'. See the docs."):
        check_fields({"a": 1, "d": 1}, spec, source="f")
    # The hint belongs to the dict's own problems, not to those of its fields.
    with refused("f: `b` must be a str; got 2."):
        check_fields({"a": 1, "b": 2}, spec, source="f")
    with refused("f must be a JSON object; got 'a'."):
        check_fields("a", Keys({}, expected="a JSON object"), source="f")
    check_fields({"a": 1, "anything": 2}, Keys({"a": ANY}, others=True), source="f")


def test_items_need_a_minimum_count_and_may_need_distinct_keys(refused):
    spec = Keys({"c": Items(Keys({"name": ANY}), distinct="name")})
    with refused("f: `c` must be a non-empty list; got []."):
        check_fields({"c": []}, spec, source="f")
    with refused("f: `c[2].name` must be distinct from the other names; got 'a'."):
        check_fields({"c": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}, spec, source="f")
    check_fields([], Items(ANY, min_items=0, expected="a list"), source="f")


def test_tagged_checks_the_tag_first_then_its_variant(refused):
    spec = Items(Tagged("kind", {"n": Keys({"kind": ANY, "mean": FINITE_NUMBER}), "c": Keys({"kind": ANY})}))
    with refused("f: `[0].kind` must be 'n' or 'c'; got None."):
        check_fields(["not a dict"], spec, source="f")
    with refused("f: `[0]` misses key 'mean'; expected keys 'kind', 'mean'."):
        check_fields([{"kind": "n"}], spec, source="f")
    with refused("f: `[1]` has unexpected key 'mean'; expected keys 'kind'."):
        check_fields([{"kind": "n", "mean": 0}, {"kind": "c", "mean": 0}], spec, source="f")


def test_long_values_are_shown_by_their_type_and_length(refused):
    spec = Value("short", lambda v: False)
    with refused("f must be short; got a list of length 30."):
        check_fields(list(range(30)), spec, source="f")
    # Long text is shown as every message shows it: its start and its length (io.show).
    with refused(f"f must be short; got '{'x' * 40}…' (100 characters)."):
        check_fields("x" * 100, spec, source="f")
    with refused("f must be short; got 1.5."):
        check_fields(1.5, spec, source="f")


def test_the_caller_chooses_the_error(refused):
    class FileError(NetRegError):
        pass

    with refused("f must be 1; got 2.", FileError):
        check_fields(2, Const(1), source="f", error=FileError)
