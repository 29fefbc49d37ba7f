"""Columns that look like ids, row numbers or free text rather than features, and categories unseen at fit.

One-hot encoding gives a text column one feature per distinct value, so an id column is hundreds of
features that no new row matches. The rules are stated in
:class:`netreg.tables.TablePreprocessor`'s docstring.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from netreg.exceptions import DataWarning, bad_data, warn
from netreg.message_text import names_text, show
from netreg.tables.columns import CATEGORICAL, NUMERIC

__all__ = [
    "MAX_SHARE",
    "MIN_DISTINCT",
    "ROW_NUMBERS",
    "check_cardinality",
    "warn_row_numbers",
    "warn_unseen_categories",
]

#: Columns with at most this many distinct values are never questioned.
MIN_DISTINCT = 20
#: A text column with more distinct values than this share of its rows gets a warning.
MAX_SHARE = 0.5
#: The words of the warning about a column of row numbers.
ROW_NUMBERS = "holds the whole numbers"


def check_cardinality(typed: pd.DataFrame, kinds: list[str], names: list[Any]) -> None:
    """Refuse a text column of all-distinct values; warn of many distinct values or a row number.

    Parameters
    ----------
    typed : pandas.DataFrame
        The typed table (:func:`netreg.tables.columns.fit_kinds`), missing values as NaN.
    kinds : list of str
        The kind of each column.
    names : list
        The columns' names as given (``typed`` names them by their text).

    Raises
    ------
    DataError
        If a text column has more than :data:`MIN_DISTINCT` values, all distinct.

    Warns
    -----
    DataWarning
        For a text column with more distinct values than :data:`MAX_SHARE` of its rows,
        or a numeric column of consecutive whole numbers, each once.

    Examples
    --------
    >>> typed = pd.DataFrame({"name": [f"n{i}" for i in range(30)], "size": np.arange(30.0) % 3})
    >>> check_cardinality(typed, ["categorical", "numeric"], ["name", "size"])
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: column 'name' has a different value in each of its 30 rows, like an id or free text; expected a text column whose values repeat, to be one-hot encoded. Pass `drop=['name']` to leave it out, or `id_column='name'` to carry it into the predictions.
    """
    for (_, column), kind, name in zip(typed.items(), kinds, names, strict=True):
        values = column.dropna()
        distinct = values.nunique()
        if distinct <= MIN_DISTINCT:
            continue
        fix = _fix(name)
        if kind == CATEGORICAL and distinct == len(values):
            raise bad_data(
                f"column {show(name)} has a different value in each of its {len(values)} rows, like an id or free text",
                "a text column whose values repeat, to be one-hot encoded",
                fix,
            )
        if kind == CATEGORICAL and distinct > MAX_SHARE * len(values):
            warn(
                f"column {show(name)} has {distinct} distinct values in {len(values)} rows: one-hot encoded into "
                f"{distinct} features, most of them seen in a row or two. If it is an id or free text: {fix}",
                DataWarning,
            )
        if kind == NUMERIC:
            _warn_row_numbers(values, name, fix)


def warn_row_numbers(typed: pd.DataFrame, kinds: list[str], names: list[Any]) -> None:
    """The :class:`netreg.DataWarning` of :func:`check_cardinality` for a numeric column of row numbers, alone.

    For a table about to lose rows (``drop_missing``): an R-style ``rownames`` column
    ``1..n`` is consecutive in the file, not in the rows left, so it is judged here on the
    whole table first. The warning's text contains
    :data:`ROW_NUMBERS`, by which a later fit's repeat of it can be told apart.

    Parameters
    ----------
    typed, kinds, names
        As for :func:`check_cardinality`.

    Examples
    --------
    >>> import warnings
    >>> typed = pd.DataFrame({"rownames": np.arange(1.0, 31.0), "size": np.arange(30.0) % 3})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_row_numbers(typed, ["numeric", "numeric"], ["rownames", "size"])
    >>> print(caught[0].message)
    column 'rownames' holds the whole numbers 1 to 30, each once, like a row number or an id; it is used as a feature. If it is one: Pass `drop=['rownames']` to leave it out, or `id_column='rownames'` to carry it into the predictions.
    """
    for (_, column), kind, name in zip(typed.items(), kinds, names, strict=True):
        values = column.dropna()
        if kind == NUMERIC and values.nunique() > MIN_DISTINCT:
            _warn_row_numbers(values, name, _fix(name))


def warn_unseen_categories(typed: pd.DataFrame, names: list[Any], categories: list[list[str]]) -> None:
    """One :class:`netreg.DataWarning` for the categories not seen at fit: how many rows, which columns
    and categories (those rows are all zeros in the columns' one-hot features).

    Parameters
    ----------
    typed : pandas.DataFrame
        The typed table (categorical columns as text, missing values as NaN).
    names : list
        The categorical columns, as given (``typed`` names them by their text).
    categories : list of list of str
        The categories seen at fit, per column of ``names``.

    Examples
    --------
    >>> import warnings
    >>> typed = pd.DataFrame({"city": ["Oslo", "Tokyo", "Rome"], "tag": ["a", "a", "b"]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_unseen_categories(typed, ["city", "tag"], [["Lima", "Oslo"], ["a", "b"]])
    >>> str(caught[0].message)
    "2 rows hold categories not seen at fit, encoded as all zeros: column 'city' ('Tokyo', 'Rome')."
    """
    rows = np.zeros(len(typed), dtype=bool)
    found = []
    for name, seen in zip(names, categories, strict=True):
        values = typed[str(name)]
        unseen = values.notna().to_numpy() & ~values.isin(seen).to_numpy()
        if unseen.any():
            rows |= unseen
            found.append(f"column {show(name)} ({names_text(pd.unique(values[unseen]))})")
    if found:
        n = int(rows.sum())
        warn(
            f"{n} {'row holds' if n == 1 else 'rows hold'} categories not seen at fit, encoded as all zeros: "
            f"{', '.join(found)}.",
            DataWarning,
        )


def _fix(name: Any) -> str:
    return f"Pass `drop=[{show(name)}]` to leave it out, or `id_column={show(name)}` to carry it into the predictions."


def _warn_row_numbers(values: pd.Series, name: Any, fix: str) -> None:
    if _counts_rows(values.to_numpy(dtype=np.float64)):
        warn(
            f"column {show(name)} {ROW_NUMBERS} {values.min():.0f} to {values.max():.0f}, each once, like a row "
            f"number or an id; it is used as a feature. If it is one: {fix}",
            DataWarning,
        )


def _counts_rows(values: np.ndarray) -> bool:
    """Whether ``values`` are the whole numbers of one range, each once (in any order)."""
    if not np.all(values == np.round(values)):
        return False
    return len(np.unique(values)) == len(values) and values.max() - values.min() + 1 == len(values)
