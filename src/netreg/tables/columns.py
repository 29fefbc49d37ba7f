"""Column typing: which columns of a table are numbers, dates and categories, checked.

netreg's own step before scikit-learn's transformers; the rules are stated in
:class:`netreg.tables.TablePreprocessor`'s docstring.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from netreg.exceptions import DataError, bad_data
from netreg.message_text import columns_text, names_text, rows_text, rows_values, show
from netreg.tables.dates import date_days, fitted_date_days, is_date_dtype

__all__ = [
    "CATEGORICAL",
    "DATE",
    "NUMERIC",
    "check_frame",
    "check_table",
    "fit_kinds",
    "is_column_name",
    "missing_mask",
    "typed_frame",
]

NUMERIC, CATEGORICAL, DATE = "numeric", "categorical", "date"


def check_frame(features: Any) -> pd.DataFrame:
    """``features`` if it is a DataFrame, else raise :class:`netreg.DataError`.

    Examples
    --------
    >>> check_frame([[1.0]])
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: features are a list; expected a pandas DataFrame.
    """
    if not isinstance(features, pd.DataFrame):
        raise bad_data(f"features are a {type(features).__name__}", "a pandas DataFrame")
    return features


def is_column_name(name: Any) -> bool:
    """Whether ``name`` can name a column: a str or an int (not a bool).

    Examples
    --------
    >>> is_column_name("a"), is_column_name(3), is_column_name(True), is_column_name(1.5)
    (True, True, False, False)
    """
    return isinstance(name, str) or (isinstance(name, int | np.integer) and not isinstance(name, bool | np.bool_))


def missing_mask(frame: pd.DataFrame) -> np.ndarray:
    """``(n_rows, n_columns)`` booleans: NaN, None, NaT, or text that is blank or ``"nan"``.

    Examples
    --------
    >>> missing_mask(pd.DataFrame({"a": [1.0, None], "b": [" ", "x"]})).tolist()
    [[False, True], [True, False]]
    """
    mask = frame.isna().to_numpy(dtype=bool, copy=True)
    for j, (_, column) in enumerate(frame.items()):
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype | pd.CategoricalDtype):
            mask[:, j] |= column.astype(object).map(_is_missing_text).to_numpy(dtype=bool)
    return mask


def check_table(features: Any, columns: list[Any] | None = None, *, allow_missing: bool = False) -> pd.DataFrame:
    """The features after the checks that fit and transform share; columns in ``columns`` order.

    Parameters
    ----------
    features : pandas.DataFrame
        The table.
    columns : list, optional
        The columns seen at fit: ``features`` must have exactly these, in any order.
    allow_missing : bool, default=False
        Whether missing values are accepted (to be imputed).

    Returns
    -------
    pandas.DataFrame
        ``features``, its columns reordered to ``columns`` when given.

    Raises
    ------
    DataError
        If ``features`` is not a DataFrame, has no rows or no columns, a name that is not
        a str or an int, two columns of the same name (also as text: ``0`` and ``"0"``),
        other columns than ``columns``, a column of an unsupported dtype, or missing values
        (without ``allow_missing``).

    Examples
    --------
    >>> check_table(pd.DataFrame({"a": [1.0], "b": ["x"]}), columns=["b", "a"]).columns.tolist()
    ['b', 'a']
    """
    frame = check_frame(features)
    for name in frame.columns:
        if not is_column_name(name):
            raise bad_data(f"column name {show(name)} is a {type(name).__name__}", "a str or an int")
    counts = frame.columns.value_counts()
    if (counts > 1).any():
        name = counts.index[np.argmax(counts.to_numpy() > 1)]
        raise bad_data(f"column {show(name)} appears {counts[name]} times", "distinct column names")
    as_text = pd.Index([str(name) for name in frame.columns])
    if as_text.has_duplicates:
        same = [name for name in frame.columns if str(name) == as_text[as_text.duplicated()][0]]
        raise DataError(
            f"columns {names_text(same)} have the same name as text; expected distinct column names. Rename one."
        )
    if frame.shape[1] == 0:
        raise bad_data("the features have no columns", "at least one feature column besides the target")
    if frame.shape[0] == 0:
        raise bad_data(f"the features have columns {names_text(frame.columns)} but no rows", "at least one")
    if columns is not None:
        frame = _in_order(frame, columns)
    for name, column in frame.items():
        if not _is_supported(column.dtype):
            raise DataError(
                f"column {show(name)} has dtype {column.dtype}, which netreg cannot use as a feature; expected "
                f"numbers, dates or text. Convert it to numbers or drop the column (`drop=[{show(name)}]`)."
            )
    missing_cells = missing_mask(frame)
    if missing_cells.any() and not allow_missing:
        columns_hit = frame.columns[missing_cells.any(axis=0)]
        rows_hit = frame.index[missing_cells.any(axis=1)]
        fix = (
            "Pass `impute='mean'` (or 'median', 'most_frequent') to fill them in, or `drop_missing=True` to drop "
            "such rows."
            if columns is None
            else "The preprocessing was fitted without imputation: pass `drop_missing=True` to skip such rows."
        )
        raise DataError(
            f"missing values in {columns_text(columns_hit)} ({rows_text(list(rows_hit))}); expected a value in every "
            f"cell. {fix}"
        )
    return frame


def fit_kinds(frame: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """The kind of each column of a checked table (:func:`check_table`) and the typed table.

    Returns
    -------
    kinds : list of str
        ``"numeric"``, ``"date"`` or ``"categorical"`` per column, in order.
    typed : pandas.DataFrame
        Numeric columns as float64, date columns as float64 days since 1970-01-01,
        categorical ones as text; missing values as NaN; columns named by their text.

    Raises
    ------
    DataError
        If a column mixes numbers and text (or dates and text), holds a value that is
        neither, holds dates in another layout than ISO 8601, or a numeric column holds
        an infinite value.

    Examples
    --------
    >>> frame = pd.DataFrame({"age": ["42", "7"], "city": ["Oslo", "Lima"], 3: [True, False], "on": ["1970-01-02", ""]})
    >>> kinds, typed = fit_kinds(frame)
    >>> kinds
    ['numeric', 'categorical', 'numeric', 'date']
    >>> typed.to_dict("list")
    {'age': [42.0, 7.0], 'city': ['Oslo', 'Lima'], '3': [1.0, 0.0], 'on': [1.0, nan]}
    """
    kinds, values = [], {}
    for name, column in frame.items():
        kind, values[name] = _fit_column(name, column)
        kinds.append(kind)
    return kinds, _typed(frame, values, kinds)


def typed_frame(frame: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
    """A checked table (:func:`check_table`, columns in fit order) typed as at fit.

    Raises
    ------
    DataError
        If a column numeric at fit holds text that is not a number, or an infinite value,
        or a date column a value that is not a date.

    Examples
    --------
    >>> typed_frame(pd.DataFrame({"a": ["1.5", 2], "b": [1, 2]}), ["numeric", "categorical"]).to_dict("list")
    {'a': [1.5, 2.0], 'b': ['1', '2']}
    """
    typers = {
        NUMERIC: _numeric_values,
        DATE: lambda name, column: date_days(name, column, ~missing_mask(column.to_frame())[:, 0]),
        CATEGORICAL: lambda name, column: _as_text(column),
    }
    values = {name: typers[kind](name, column) for (name, column), kind in zip(frame.items(), kinds, strict=True)}
    return _typed(frame, values, kinds)


def _typed(frame: pd.DataFrame, values: dict[Any, Any], kinds: list[str]) -> pd.DataFrame:
    """The typed table of each column's ``values`` (floats or text), once no number is infinite."""
    _check_finite(
        {name: values[name] for name, kind in zip(frame.columns, kinds, strict=True) if kind == NUMERIC}, frame.index
    )
    typed = pd.DataFrame(
        {
            str(name): pd.Series(values[name], dtype=np.float64 if isinstance(values[name], np.ndarray) else object)
            for name in frame.columns
        }
    )
    typed.index = frame.index
    return typed


def _in_order(frame: pd.DataFrame, columns: list[Any]) -> pd.DataFrame:
    expected = set(columns)
    missing = [name for name in columns if name not in frame.columns]
    unexpected = [name for name in frame.columns if name not in expected]
    if missing or unexpected:
        found = "; ".join(
            f"{label} {names_text(names)}"
            for label, names in (("missing", missing), ("unexpected", unexpected))
            if names
        )
        raise DataError(
            f"the columns differ from those seen at fit ({found}); expected {names_text(columns)}, in any order."
        )
    return frame[columns]


def _is_missing_text(value: Any) -> bool:
    # Text that reads as no value: "" or blanks, and "nan" (as pandas.read_csv reads it).
    return isinstance(value, str) and (not value.strip() or value.strip().lower() in ("nan", "-nan", "+nan"))


def _is_supported(dtype: Any) -> bool:
    if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        return True
    if is_date_dtype(dtype):
        return True
    return getattr(dtype, "kind", None) in ("b", "i", "u", "f")


def _fit_column(name: Any, column: pd.Series) -> tuple[str, Any]:
    """The kind of a column and its values: floats for a numeric or date one, text for a categorical one."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return CATEGORICAL, _as_text(column)
    if column.dtype.kind in "biuf":
        return NUMERIC, column.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~missing_mask(column.to_frame())[:, 0]
    days = fitted_date_days(name, column, present)
    if days is not None:
        return DATE, days
    first_number = first_text = None
    for (label, value), here in zip(column.items(), present, strict=True):
        if not here:
            continue
        number = _number(value)
        if number is None and not isinstance(value, str):
            raise DataError(
                f"column {show(name)} holds a value of type {type(value).__name__} ({rows_values([(label, value)])}); "
                "expected numbers or text."
            )
        if number is None and first_text is None:
            first_text = (label, value)
        elif number is not None and first_number is None:
            first_number = (label, value)
        if first_text is not None and first_number is not None:
            raise DataError(
                f"column {show(name)} mixes numbers and text ({rows_values([first_text, first_number])}); "
                "expected only numbers or only text in a column."
            )
    if first_text is not None:
        return CATEGORICAL, _as_text(column)
    return NUMERIC, np.array(
        [_number(v) if here else np.nan for v, here in zip(column, present, strict=True)], dtype=np.float64
    )


def _numeric_values(name: Any, column: pd.Series) -> np.ndarray:
    """A column fitted as numeric, as floats (NaN where missing); text in it is an error."""
    if column.dtype.kind in "biuf" and not isinstance(column.dtype, pd.CategoricalDtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~missing_mask(column.to_frame())[:, 0]
    values = np.full(len(column), np.nan)
    for i, (label, value) in enumerate(column.items()):
        if not present[i]:
            continue
        number = _number(value)
        if number is None:
            raise DataError(
                f"column {show(name)} holds a value that is not a number ({rows_values([(label, value)])}); "
                "expected numbers, as at fit."
            )
        values[i] = number
    return values


def _number(value: Any) -> float | None:
    """The value as a float if it is a number or the text of one (``"42"``), else None."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, numbers.Number | np.bool_):
        try:
            return float(value)
        except OverflowError:  # an int beyond the float range
            return math.inf if value > 0 else -math.inf
        except (TypeError, ValueError):  # complex
            return None
    return None


def _as_text(column: pd.Series) -> list[Any]:
    """The values as text; a missing value as NaN (what scikit-learn's imputers look for)."""
    present = ~missing_mask(column.to_frame())[:, 0]
    return [
        str(value.item() if isinstance(value, np.generic) else value) if here else np.nan
        for value, here in zip(column.astype(object), present, strict=True)
    ]


def _check_finite(numeric: dict[Any, np.ndarray], index: pd.Index) -> None:
    """Raise if a numeric column holds an infinite value, naming the columns and rows (NaN is missing, not infinite)."""
    infinite = {name: np.isinf(values) for name, values in numeric.items()}
    hit = [name for name, mask in infinite.items() if mask.any()]
    if hit:
        rows = index[np.logical_or.reduce([infinite[name] for name in hit])]
        raise DataError(
            f"infinite values in {columns_text(hit)} ({rows_text(list(rows))}); expected finite numbers. "
            "Replace them, or drop those rows."
        )
