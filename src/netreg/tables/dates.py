"""Date columns: which columns hold dates, and their days since 1970-01-01 (:data:`EPOCH`).

The rules are stated in :class:`netreg.tables.TablePreprocessor`'s docstring.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import numpy as np
import pandas as pd

from netreg.exceptions import DataError
from netreg.message_text import rows_values, show

__all__ = ["EPOCH", "date_days", "fitted_date_days", "is_date_dtype"]

#: Dates count in days from here.
EPOCH = pd.Timestamp(0, tz="UTC")
_DAY = pd.Timedelta(days=1)
#: The start of an ISO 8601 date: a four-digit year, a dash, a month (then the day, a time).
_ISO = re.compile(r"^\d{4}-\d{1,2}(-\d{1,2})?([T ]\S.*)?$")
#: Dates in a layout whose day and month order is ambiguous: 03/04/2021, 4.3.21, 2021/03/04.
_OTHER = re.compile(r"^(\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}/\d{1,2}/\d{1,2})([T ,]\S.*)?$")
_FIX = "Write them as ISO 8601 dates (YYYY-MM-DD, with an optional time) or drop the column (`drop=[{name}]`)."


def is_date_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a pandas datetime dtype (time zone or not).

    Examples
    --------
    >>> is_date_dtype(pd.Series(pd.to_datetime(["2021-03-04"])).dtype), is_date_dtype(np.dtype("float64"))
    (True, False)
    """
    return isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M")


def fitted_date_days(name: Any, column: pd.Series, present: np.ndarray) -> np.ndarray | None:
    """The days since 1970-01-01 of a column that holds dates, else None (at fit).

    Parameters
    ----------
    name : str or int
        The column, for messages.
    column : pandas.Series
        Its values.
    present : ndarray of bool
        Which values are not missing; the days of the others are NaN.

    Raises
    ------
    DataError
        If the column is text holding dates in another layout than ISO 8601, or mixes
        ISO dates with other text.

    Examples
    --------
    >>> fitted_date_days("day", pd.Series(["2021-03-04", "1970-01-02T12:00"]), np.array([True, True])).tolist()
    [18690.0, 1.5]
    >>> fitted_date_days("city", pd.Series(["Oslo", "Lima"]), np.array([True, True])) is None
    True
    >>> fitted_date_days("day", pd.Series(["03/04/2021", "04/04/2021"]), np.array([True, True]))
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: column 'day' holds dates in a layout whose day and month cannot be told apart (row 0: '03/04/2021'; counting from 0, header excluded); expected ISO 8601 dates such as '2021-04-03'. Write them as ISO 8601 dates (YYYY-MM-DD, with an optional time) or drop the column (`drop=['day']`).
    """
    if is_date_dtype(column.dtype):
        return _days(pd.to_datetime(column, utc=True))
    values = column[present]
    if len(values) == 0:
        return None
    if all(isinstance(value, datetime.date) for value in values):
        return _days(pd.to_datetime(column.where(present, None).astype(object), utc=True))
    if not all(isinstance(value, str) for value in values):
        return None
    text = values.str.strip()
    iso, other = text.str.match(_ISO).to_numpy(dtype=bool), text.str.match(_OTHER).to_numpy(dtype=bool)
    if not (iso | other).any():
        return None
    if other.any():
        label, value = values.index[np.argmax(other)], values.iloc[np.argmax(other)]
        raise DataError(
            f"column {show(name)} holds dates in a layout whose day and month cannot be told apart "
            f"({rows_values([(label, value)])}); expected ISO 8601 dates such as '2021-04-03'. "
            + _FIX.format(name=show(name))
        )
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    dates = iso & parsed.notna().to_numpy(dtype=bool)
    if not dates.any():
        return None  # shaped like dates, but none is one ("2021-13"): text
    if not dates.all():
        date_row, text_row = values.index[np.argmax(dates)], values.index[np.argmax(~dates)]
        raise DataError(
            f"column {show(name)} mixes dates and text ({rows_values([(date_row, values[date_row]), (text_row, values[text_row])])}); "
            "expected only dates or only text in a column. " + _FIX.format(name=show(name))
        )
    days = np.full(len(column), np.nan)
    days[present] = _days(parsed)
    return days


def date_days(name: Any, column: pd.Series, present: np.ndarray) -> np.ndarray:
    """The days since 1970-01-01 of a column that held dates at fit (at transform).

    Raises
    ------
    DataError
        If a value is not a date (a datetime value, a Python date, or ISO 8601 text).

    Examples
    --------
    >>> date_days("day", pd.Series(["1970-01-03", None]), np.array([True, False]))
    array([ 2., nan])
    >>> date_days("day", pd.Series(["soon"]), np.array([True]))
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: column 'day' holds a value that is not a date (row 0: 'soon'; counting from 0, header excluded); expected ISO 8601 dates such as '2021-04-03', as at fit.
    """
    if is_date_dtype(column.dtype):
        return _days(pd.to_datetime(column, utc=True))
    values = column[present].astype(object)
    days = np.full(len(values), np.nan)
    objects = values.map(lambda value: isinstance(value, datetime.date)).to_numpy(dtype=bool)
    texts = values.map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
    if objects.any():
        days[objects] = _days(pd.to_datetime(values[objects], utc=True))
    if texts.any():
        text = values[texts].str.strip()
        iso = text.where(text.str.match(_ISO))
        days[texts] = _days(pd.to_datetime(iso, format="ISO8601", utc=True, errors="coerce"))
    if np.isnan(days).any():
        label = values.index[np.argmax(np.isnan(days))]
        raise DataError(
            f"column {show(name)} holds a value that is not a date ({rows_values([(label, values[label])])}); "
            "expected ISO 8601 dates such as '2021-04-03', as at fit."
        )
    result = np.full(len(column), np.nan)
    result[present] = days
    return result


def _days(stamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((stamps - EPOCH) / _DAY, dtype=np.float64)
