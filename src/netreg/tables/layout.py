"""Which columns of a table are features: the columns left out (``drop``) and the one that labels the rows (``id_column``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from netreg.exceptions import bad_data, invalid
from netreg.message_text import show
from netreg.tables._readers import suggest
from netreg.tables.columns import check_frame, is_column_name

__all__ = ["check_left_out", "feature_frame", "row_ids"]


def check_left_out(drop: Any, id_column: Any) -> list[Any]:
    """``drop`` as a list, after checking it and ``id_column``.

    Raises
    ------
    InvalidParameterError
        If ``drop`` is not a list or tuple of distinct column names, or ``id_column`` is not
        None or a column name outside ``drop``.

    Examples
    --------
    >>> check_left_out(("notes",), "name")
    ['notes']
    >>> check_left_out("notes", None)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `drop` must be a list of distinct column names (str or int). Got drop='notes'.
    """
    names = list(drop) if isinstance(drop, list | tuple) else None
    if names is None or not all(is_column_name(name) for name in names) or len(set(names)) != len(names):
        raise invalid("drop", "a list of distinct column names (str or int)", drop)
    if id_column is not None and (not is_column_name(id_column) or id_column in names):
        raise invalid("id_column", "None or a column name (str or int) that is not in `drop`", id_column)
    return names


def feature_frame(features: Any, drop: Sequence[Any], id_column: Any, *, at_fit: bool) -> pd.DataFrame:
    """The table without the columns of ``drop`` and ``id_column``; at fit, they must be there.

    Raises
    ------
    DataError
        If ``features`` is not a DataFrame, or (``at_fit``) lacks a column to leave out.

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ["a"], "x": [1.0], "notes": ["?"]})
    >>> list(feature_frame(frame, ["notes"], "name", at_fit=True).columns)
    ['x']
    >>> list(feature_frame(frame[["x"]], ["notes"], "name", at_fit=False).columns)
    ['x']
    """
    frame = check_frame(features)
    left_out = [*drop, *([] if id_column is None else [id_column])]
    if at_fit:
        for name in left_out:
            if name not in frame.columns:
                found = f"no id column {show(name)}" if name == id_column else f"no column {show(name)} to drop"
                raise bad_data(found, "a column of the table", suggest(str(name), frame.columns, "Columns").strip())
    return frame.drop(columns=[name for name in left_out if name in frame.columns])


def row_ids(features: Any, id_column: Any) -> pd.Series | None:
    """The ``id_column`` of a table, which labels its rows (None without one).

    Raises
    ------
    DataError
        If the table has no such column.

    Examples
    --------
    >>> row_ids(pd.DataFrame({"name": ["c"], "x": [3]}), "name").tolist()
    ['c']
    >>> row_ids(pd.DataFrame({"Name": ["c"], "x": [3]}), "name")
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: no id column 'name'; expected the column that labels the rows, as at fit (`id_column='name'`). Did you mean 'Name'? Columns: 'Name', 'x'.
    """
    frame = check_frame(features)
    if id_column is None:
        return None
    if id_column not in frame.columns:
        raise bad_data(
            f"no id column {show(id_column)}",
            f"the column that labels the rows, as at fit (`id_column={id_column!r}`)",
            suggest(str(id_column), frame.columns, "Columns").strip(),
        )
    return frame[id_column]
