"""CSV for spreadsheets: formulas written as text, numbers left as numbers."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from netreg.tables.spreadsheets import spreadsheet_csv, spreadsheet_text


@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-1.5", "-1.5"),  # a plain number is a number to a spreadsheet, not a formula
        ("+3", "+3"),
        ("-1e-3", "-1e-3"),
        ("cat", "cat"),
        ("a=b", "a=b"),  # only the first character starts a formula
        ("", ""),
        (-1.5, -1.5),
        (np.int64(-3), np.int64(-3)),
        (None, None),
    ],
)
def test_text_that_starts_a_formula_gets_a_quote_in_front(value, written):
    assert spreadsheet_text(value) == written or (value is None and written is None)


def test_a_table_keeps_its_numbers_and_quotes_formulas_in_cells_and_headers():
    frame = pd.DataFrame(
        {
            "prediction": ["=1+1", "dog", "-5"],
            "proba_=1+1": [0.25, 0.5, 0.75],
            "score": [-1.0, -2.5, 3.0],
            "code": pd.Series(["@x", "y", "z"], dtype="category"),
        }
    )
    text = spreadsheet_csv(frame)
    assert text.splitlines()[0] == "prediction,proba_=1+1,score,code"
    back = pd.read_csv(io.StringIO(text))
    assert back["prediction"].tolist() == ["'=1+1", "dog", "-5"] and back["code"].tolist() == ["'@x", "y", "z"]
    assert back["score"].tolist() == [-1.0, -2.5, 3.0] and back["score"].dtype == np.float64
    assert spreadsheet_csv(pd.DataFrame({"=cmd": [1]})).splitlines()[0] == "'=cmd"
    assert frame["prediction"].tolist() == ["=1+1", "dog", "-5"]  # the frame itself is left as it was
