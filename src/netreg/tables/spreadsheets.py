"""CSV for spreadsheets: text that a spreadsheet would run as a formula ("CSV injection") gets a quote in front, as OWASP recommends.

Numbers, and text that is a plain number (``"-1.5"``), are never changed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "spreadsheet_csv", "spreadsheet_text"]

#: What a spreadsheet reads as the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """``value`` with a quote in front if it is text a spreadsheet would run as a formula.

    Examples
    --------
    >>> spreadsheet_text("=1+1"), spreadsheet_text("-1.5"), spreadsheet_text(-1.5), spreadsheet_text("cat")
    ("'=1+1", '-1.5', -1.5, 'cat')
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)  # a plain number ("-1.5", "+3") is a number to a spreadsheet, not a formula
    except ValueError:
        return "'" + value
    return value


def spreadsheet_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index), its text cells and column names made safe by
    :func:`spreadsheet_text`.

    Examples
    --------
    >>> frame = pd.DataFrame({"prediction": ["=cmd|'/c calc'!A1", "@SUM(1)", "b"], "score": [-1.0, 2.0, 0.5]})
    >>> print(spreadsheet_csv(frame), end="")
    prediction,score
    '=cmd|'/c calc'!A1,-1.0
    '@SUM(1),2.0
    b,0.5
    """
    safe = frame.rename(columns=lambda name: spreadsheet_text(str(name)))
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype | pd.CategoricalDtype):
            safe.isetitem(position, column.astype(object).map(spreadsheet_text))
    return safe.to_csv(index=False)
