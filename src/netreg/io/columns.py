"""Column typing: which columns of a table are numbers and which are categories, checked.

netreg's own step before scikit-learn's transformers (:mod:`netreg.io.preprocessing`):

* a column of int, float or bool dtype, or of text whose every value is a number such as
  ``"42"``, is **numeric**: its values become float64;
* a column of text (object or string dtype, values that are not numbers), or any column of
  pandas ``category`` dtype, is **categorical**: its values become text (``str(value)``).

Missing values (NaN, None, NaT, empty or blank text, the text ``"nan"``), infinite numbers,
columns that mix numbers and text, values that are neither, and other dtypes (dates,
complex numbers) are refused with a :class:`netreg.DataError` naming the columns and rows::

    column 'age' mixes numbers and text (row 3: 'n/a'; row 0: '42'); expected only numbers or only text in a column.

The typed table has the same rows, its columns named by the text of their names
(``0`` becomes ``"0"``), as scikit-learn expects of a DataFrame.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from netreg.exceptions import DataError, bad_data
from netreg.io._text import columns_text, names_text, rows_text, show

__all__ = [
    "CATEGORICAL",
    "NUMERIC",
    "check_frame",
    "check_table",
    "fit_kinds",
    "is_column_name",
    "missing_mask",
    "typed_frame",
]

NUMERIC, CATEGORICAL = "numeric", "categorical"


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


def check_table(features: Any, columns: list[Any] | None = None) -> pd.DataFrame:
    """The features after the checks that fit and transform share; columns in ``columns`` order.

    Parameters
    ----------
    features : pandas.DataFrame
        The table.
    columns : list, optional
        The columns seen at fit: ``features`` must have exactly these, in any order.

    Returns
    -------
    pandas.DataFrame
        ``features``, its columns reordered to ``columns`` when given.

    Raises
    ------
    DataError
        If ``features`` is not a DataFrame, has no rows or no columns, a name that is not
        a str or an int, two columns of the same name (also as text: ``0`` and ``"0"``),
        other columns than ``columns``, a column of an unsupported dtype, or missing values.

    Examples
    --------
    >>> check_table(pd.DataFrame({"a": [1.0], "b": ["x"]}), columns=["b", "a"]).columns.tolist()
    ['b', 'a']
    """
    frame = check_frame(features)
    for name in frame.columns:
        if not is_column_name(name):
            raise DataError(f"column name {show(name)} is a {type(name).__name__}; expected a str or an int.")
    counts = frame.columns.value_counts()
    if (counts > 1).any():
        name = counts.index[np.argmax(counts.to_numpy() > 1)]
        raise DataError(f"column {show(name)} appears {counts[name]} times; expected distinct column names.")
    as_text = pd.Index([str(name) for name in frame.columns])
    if as_text.has_duplicates:
        same = [name for name in frame.columns if str(name) == as_text[as_text.duplicated()][0]]
        raise DataError(
            f"columns {names_text(same)} have the same name as text; expected distinct column names. Rename one."
        )
    if frame.shape[1] == 0:
        raise DataError("the features have no columns; expected at least one feature column besides the target.")
    if frame.shape[0] == 0:
        raise DataError(f"the features have columns {names_text(frame.columns)} but no rows; expected at least one.")
    if columns is not None:
        frame = _in_order(frame, columns)
    for name, column in frame.items():
        if not _is_supported(column.dtype):
            raise DataError(
                f"column {show(name)} has dtype {column.dtype}, which netreg cannot use as a feature; expected "
                "numbers or text. Convert it to numbers (for example days since a date) or drop the column."
            )
    missing_cells = missing_mask(frame)
    if missing_cells.any():
        columns_hit = frame.columns[missing_cells.any(axis=0)]
        rows_hit = frame.index[missing_cells.any(axis=1)]
        raise DataError(
            f"missing values in {columns_text(columns_hit)} ({rows_text(list(rows_hit))}); expected a value in every "
            "cell. Impute them, or pass `drop_missing=True` to drop such rows."
        )
    return frame


def fit_kinds(frame: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """The kind of each column of a checked table (:func:`check_table`) and the typed table.

    Returns
    -------
    kinds : list of str
        ``"numeric"`` or ``"categorical"`` per column, in order.
    typed : pandas.DataFrame
        Numeric columns as float64, categorical ones as text; columns named by their text.

    Raises
    ------
    DataError
        If a column mixes numbers and text, holds a value that is neither, or a numeric
        column holds an infinite value.

    Examples
    --------
    >>> frame = pd.DataFrame({"age": ["42", "7"], "city": ["Oslo", "Lima"], 3: [True, False]})
    >>> kinds, typed = fit_kinds(frame)
    >>> kinds
    ['numeric', 'categorical', 'numeric']
    >>> typed.to_dict("list")
    {'age': [42.0, 7.0], 'city': ['Oslo', 'Lima'], '3': [1.0, 0.0]}
    """
    kinds, values = [], {}
    for name, column in frame.items():
        kind, values[name] = _fit_column(name, column)
        kinds.append(kind)
    _check_finite({name: values[name] for name, kind in zip(frame.columns, kinds) if kind == NUMERIC}, frame.index)
    return kinds, _typed(frame, values)


def typed_frame(frame: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
    """A checked table (:func:`check_table`, columns in fit order) typed as at fit.

    Raises
    ------
    DataError
        If a column numeric at fit holds text that is not a number, or an infinite value.

    Examples
    --------
    >>> typed_frame(pd.DataFrame({"a": ["1.5", 2], "b": [1, 2]}), ["numeric", "categorical"]).to_dict("list")
    {'a': [1.5, 2.0], 'b': ['1', '2']}
    """
    values = {
        name: _numeric_values(name, column) if kind == NUMERIC else _as_text(column)
        for (name, column), kind in zip(frame.items(), kinds)
    }
    _check_finite({name: values[name] for name, kind in zip(frame.columns, kinds) if kind == NUMERIC}, frame.index)
    return _typed(frame, values)


def _typed(frame: pd.DataFrame, values: dict[Any, Any]) -> pd.DataFrame:
    columns = {str(name): values[name] for name in frame.columns}
    typed = pd.DataFrame({name: pd.Series(value, dtype=_dtype(value)) for name, value in columns.items()})
    typed.index = frame.index
    return typed


def _dtype(values: Any) -> Any:
    return np.float64 if isinstance(values, np.ndarray) else object


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
    return getattr(dtype, "kind", None) in ("b", "i", "u", "f")


def _fit_column(name: Any, column: pd.Series) -> tuple[str, Any]:
    """The kind of a column and its values: floats for a numeric one, text for a categorical one."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return CATEGORICAL, _as_text(column)
    if column.dtype.kind in "biuf":
        return NUMERIC, column.to_numpy(dtype=np.float64, na_value=np.nan)
    first_number = first_text = None
    for label, value in column.items():
        number = _number(value)
        if number is None and not isinstance(value, str):
            raise DataError(
                f"column {show(name)} holds a value of type {type(value).__name__} ({rows_text([label])}: "
                f"{show(value)}); expected numbers or text."
            )
        if number is None and first_text is None:
            first_text = (label, value)
        elif number is not None and first_number is None:
            first_number = (label, value)
        if first_text is not None and first_number is not None:
            (text_row, text), (number_row, number_text) = first_text, first_number
            raise DataError(
                f"column {show(name)} mixes numbers and text ({rows_text([text_row])}: {show(text)}; "
                f"{rows_text([number_row])}: {show(number_text)}); expected only numbers or only text in a column."
            )
    if first_text is not None:
        return CATEGORICAL, _as_text(column)
    return NUMERIC, np.array([_number(value) for value in column], dtype=np.float64)


def _numeric_values(name: Any, column: pd.Series) -> np.ndarray:
    """A column fitted as numeric, as floats; text in it is an error."""
    if column.dtype.kind in "biuf" and not isinstance(column.dtype, pd.CategoricalDtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.empty(len(column))
    for i, (label, value) in enumerate(column.items()):
        number = _number(value)
        if number is None:
            raise DataError(
                f"column {show(name)} holds a value that is not a number ({rows_text([label])}: {show(value)}); "
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


def _as_text(column: pd.Series) -> list[str]:
    return [str(value.item() if isinstance(value, np.generic) else value) for value in column.astype(object)]


def _check_finite(numeric: dict[Any, np.ndarray], index: pd.Index) -> None:
    """Raise if a numeric column holds an infinite value, naming the columns and rows."""
    infinite = {name: ~np.isfinite(values) for name, values in numeric.items()}
    hit = [name for name, mask in infinite.items() if mask.any()]
    if hit:
        rows = index[np.logical_or.reduce([infinite[name] for name in hit])]
        raise DataError(
            f"infinite values in {columns_text(hit)} ({rows_text(list(rows))}); expected finite numbers. "
            "Replace them, or drop those rows."
        )
