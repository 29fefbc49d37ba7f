"""Property: on any small table, train and predict either succeed or fail with netreg's own
error (exit status 2, one or two lines), never with an unexpected exception."""

from __future__ import annotations

import math
import string

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from netreg.cli import main

FINITE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
# Mostly ordinary numbers (so that many tables train), sometimes the awkward ones.
AWKWARD_FLOATS = st.one_of(
    FINITE,
    FINITE,
    FINITE,
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1e300, -1e-300, 5e-324, 1.0, 2.0]),
)
AWKWARD_TEXT = st.one_of(
    st.text(alphabet=string.ascii_letters + "é✓ ,\"'", max_size=6),
    st.sampled_from(["", " ", "nan", "NA", "1", "2.5", "-", "n/a"]),
)


@st.composite
def tables(draw):
    n_rows = draw(st.integers(min_value=1, max_value=16))
    n_columns = draw(st.integers(min_value=1, max_value=4))
    frame = {}
    for j in range(n_columns):
        kind = draw(st.sampled_from(["float", "int", "text", "mixed"]))
        if kind == "float":
            values = draw(st.lists(AWKWARD_FLOATS, min_size=n_rows, max_size=n_rows))
        elif kind == "int":
            values = draw(st.lists(st.integers(-3, 3), min_size=n_rows, max_size=n_rows))
        elif kind == "text":
            values = draw(st.lists(AWKWARD_TEXT, min_size=n_rows, max_size=n_rows))
        else:
            values = draw(st.lists(st.one_of(AWKWARD_FLOATS, AWKWARD_TEXT), min_size=n_rows, max_size=n_rows))
        frame[f"c{j}"] = values
    target = draw(st.sampled_from(list(frame)))
    return pd.DataFrame(frame), target


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), task=st.sampled_from(["auto", "classification", "regression"]))
def test_train_and_predict_succeed_or_fail_cleanly(tmp_path_factory, capsys, table, task):
    folder = tmp_path_factory.mktemp("run")
    frame, target = table
    frame.to_csv(folder / "data.csv", index=False)
    argv = [
        "train",
        str(folder / "data.csv"),
        "--target",
        target,
        "--task",
        task,
        "--out",
        str(folder / "out"),
        "--hidden",
        "2",
        "--max-iter",
        "2",
        "--test-size",
        "0.3",
        "--alpha",  # one model: the grid's own failures are tested elsewhere
        "0.0001",
    ]
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status in (0, 2), err
    event(f"train exit {status}")
    if status == 2:
        assert err.startswith("netreg train: error: ") and len(err.splitlines()) <= 2, err
        return
    status = main(["predict", str(folder / "out" / "model"), str(folder / "data.csv")])
    err = capsys.readouterr().err.strip()
    assert status in (0, 2), err
    assert math.isfinite(status)
