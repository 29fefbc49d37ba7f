"""The declared rules (netreg._checks): one declaration of a parameter's range, read by
netreg's own checks, by scikit-learn's constraints and by the JSON fields."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import pytest
from sklearn.utils._param_validation import make_constraint

from netreg._checks import Range, check_float, check_int
from netreg.exceptions import InvalidParameterError

RANGES = {
    "a finite float >= 0": Range(Real, 0),
    "a finite float > 0": Range(Real, 0, closed="neither"),
    "a finite float <= 2": Range(Real, None, 2, closed="right"),
    "a float in [0, 1)": Range(Real, 0, 1),
    "a float in [0, 1]": Range(Real, 0, 1, closed="both"),
    "a float in (0.5, 1]": Range(Real, 0.5, 1, closed="right"),
    "an int >= 1": Range(Integral, 1),
    "an int >= 1 or math.inf (never stop on stalling)": Range(Integral, 1, inf="never stop on stalling"),
}
VALUES = [
    -1, 0, 1, 2, 3, -0.5, 0.0, 0.5, 0.75, 1.0, 1.5, 2.0, 1e-300, np.float32(0.25), np.int64(3), np.float64(1.0),
    math.inf, -math.inf, math.nan, True, False, "1", None, [1],
]  # fmt: skip


@pytest.mark.parametrize("words, rule", RANGES.items(), ids=list(RANGES))
def test_a_range_accepts_what_its_scikit_learn_constraints_accept_and_words_the_rest(refused, words, rule):
    # scikit-learn's own constraints are the reference; but its Interval takes a bool (a bool is
    # a Real), which netreg refuses (and the estimators refuse for a float: validate_parameters).
    checks = [make_constraint(c) for c in rule.constraints]
    assert len(checks) == 1 + bool(rule.inf)
    accepted = 0
    for value in VALUES:
        expected = not isinstance(value, bool) and any(check.is_satisfied_by(value) for check in checks)
        assert rule.accepts(value) == expected, value
        if expected:
            kept = rule.check(value, "x")
            assert kept == value and type(kept) is (int if rule.type is Integral and kept != math.inf else float)
            accepted += 1
        else:
            with refused(f"`x` must be {words}. Got x={value!r}.", InvalidParameterError):
                rule.check(value, "x")
    assert 0 < accepted < len(VALUES)


def test_check_float_and_check_int_word_their_bounds_as_before(refused):
    with refused("`rate` must be a finite float > 0. Got rate=0.", InvalidParameterError):
        check_float(0, "rate", low=0.0, low_open=True)
    with refused("`share` must be a float in (0, 1). Got share=1.", InvalidParameterError):
        check_float(1, "share", low=0, high=1, low_open=True, high_open=True)
    with refused("`n` must be an int. Got n=1.5.", InvalidParameterError):
        check_int(1.5, "n")
    assert check_float(np.float32(0.5), "x", high=1.0) == 0.5 and check_int(np.int64(4), "n", low=4) == 4
