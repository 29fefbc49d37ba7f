"""From a table of features to a matrix of numbers, with a fitted state that is plain data.

:class:`TablePreprocessor` standardizes numeric columns and one-hot encodes text
columns. Its fitted state round-trips through JSON (:meth:`TablePreprocessor.to_config`,
:meth:`TablePreprocessor.from_config`), so a saved model is loaded without pickle.

Errors are :class:`netreg.DataError` messages that start with what is wrong (the
command line puts the file name in front), then say what was expected::

    column 'age' mixes numbers and text (row 3: 'n/a'; row 0: '42'); expected only numbers or only text in a column.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from netreg._checks import invalid
from netreg._tables import check_frame, missing_mask, names_text, rows_text, show
from netreg.exceptions import DataError, NotFittedError

__all__ = ["TablePreprocessor"]

NUMERIC, CATEGORICAL = "numeric", "categorical"
CONFIG_TYPE, CONFIG_VERSION = "TablePreprocessor", 1
NOT_FITTED_MSG = "This TablePreprocessor instance is not fitted yet. Call 'fit' with the training features first."
_KEYS = {
    None: ("type", "version", "standardize", "columns"),
    NUMERIC: ("name", "kind", "mean", "scale"),
    CATEGORICAL: ("name", "kind", "categories"),
}


class TablePreprocessor:
    """Standardize the numeric columns of a DataFrame and one-hot encode its text columns.

    Column by column, in input order:

    * a numeric column (int, float or bool dtype, or text whose every value is a number
      such as ``"42"``) gives one output column: ``(x - mean) / scale`` with the mean and
      standard deviation seen at fit (scale 1 for a constant column, as scikit-learn's
      ``StandardScaler`` does), or ``x`` itself with ``standardize=False``;
    * a text column (object or string dtype, values that are not numbers), or any column
      of pandas ``category`` dtype, gives one 0/1 column per category seen at fit, in
      sorted order, as scikit-learn's ``OneHotEncoder`` does. Categories are compared as
      text (``str(value)``); one not seen at fit gives a row of zeros
      (``handle_unknown="ignore"``).

    Missing values (NaN, None, empty or blank text, the text ``"nan"``), infinite numbers,
    columns mixing numbers and text, and other dtypes (dates, complex numbers) are refused
    with a :class:`netreg.DataError` that names the columns and the rows (by index label:
    for a table from :func:`netreg.tabular.read_table`, the position in the file).

    Parameters
    ----------
    standardize : bool, default=True
        Whether to standardize the numeric columns.

    Attributes
    ----------
    columns_ : list of str or int
        The input columns, in the order of the output. ``transform`` accepts them in any order.
    numeric_columns_ : list of str or int
        The numeric columns.
    categorical_columns_ : list of str or int
        The one-hot encoded columns.
    means_ : ndarray of shape (len(numeric_columns_),)
        Mean of each numeric column (0 when ``standardize=False``).
    scales_ : ndarray of shape (len(numeric_columns_),)
        Standard deviation of each numeric column, 1 for a constant column (and when
        ``standardize=False``).
    categories_ : list of list of str
        The sorted categories of each categorical column.
    feature_names_out_ : list of str
        One name per output column: the column for a numeric column, ``"{column}_{category}"``
        for a one-hot column.
    n_features_in_ : int
        Number of input columns.

    Examples
    --------
    >>> import pandas as pd
    >>> features = pd.DataFrame({"size": [1.0, 2.0, 3.0], "color": ["red", "blue", "red"]})
    >>> preprocessor = TablePreprocessor().fit(features)
    >>> preprocessor.feature_names_out_
    ['size', 'color_blue', 'color_red']
    >>> preprocessor.transform(pd.DataFrame({"color": ["blue", "green"], "size": [2.0, 5.0]}))
    array([[0.        , 1.        , 0.        ],
           [3.67423461, 0.        , 0.        ]])
    >>> TablePreprocessor.from_config(preprocessor.to_config()).categories_
    [['blue', 'red']]
    """

    def __init__(self, *, standardize: bool = True) -> None:
        self.standardize = standardize

    def fit(self, features: pd.DataFrame) -> TablePreprocessor:
        """Learn the kind of each column, the means and scales, and the categories.

        Parameters
        ----------
        features : pandas.DataFrame
            At least one column and one row.

        Returns
        -------
        self

        Raises
        ------
        DataError
            If the table is empty, has duplicate column names, an unsupported dtype,
            missing or infinite values, or a column that mixes numbers and text.
        """
        if not isinstance(self.standardize, bool):
            raise invalid("standardize", "a bool", self.standardize)
        frame = _check_table(features)
        kinds, numeric, text = [], {}, {}
        for name, column in frame.items():
            kind, values = _fit_column(name, column)
            kinds.append(kind)
            (numeric if kind == NUMERIC else text)[name] = values
        _check_finite(numeric, frame.index)
        stats = [_mean_and_scale(values) if self.standardize else (0.0, 1.0) for values in numeric.values()]
        self._set_state(
            standardize=self.standardize,
            columns=list(frame.columns),
            kinds=kinds,
            means=[mean for mean, _ in stats],
            scales=[scale for _, scale in stats],
            categories=[sorted(set(values)) for values in text.values()],
        )
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """Return the features as a float64 matrix of shape ``(n_rows, len(feature_names_out_))``.

        The columns may come in any order; they must be those seen at fit.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        DataError
            If the columns differ from those seen at fit, or for the reasons ``fit`` gives.
        """
        if not hasattr(self, "columns_"):
            raise NotFittedError(NOT_FITTED_MSG)
        frame = _check_table(features, columns=self.columns_)
        numeric = {name: _numeric_values(name, frame[name]) for name in self.numeric_columns_}
        _check_finite(numeric, frame.index)
        stats = dict(zip(self.numeric_columns_, zip(self.means_, self.scales_)))
        categories_of = dict(zip(self.categorical_columns_, self.categories_))
        output = np.zeros((len(frame), len(self.feature_names_out_)))
        offset = 0
        for name in self.columns_:
            if name in numeric:
                output[:, offset] = _standardize(name, frame[name], numeric[name], *stats[name])
                offset += 1
            else:
                categories = categories_of[name]
                position = {category: k for k, category in enumerate(categories)}
                codes = np.array([position.get(value, -1) for value in _as_text(frame[name])], dtype=np.int64)
                known = codes >= 0
                output[np.flatnonzero(known), offset + codes[known]] = 1.0
                offset += len(categories)
        return output

    def fit_transform(self, features: pd.DataFrame) -> np.ndarray:
        """``fit`` then ``transform`` the same features."""
        return self.fit(features).transform(features)

    def to_config(self) -> dict[str, Any]:
        """Return the fitted state as JSON-serializable plain data (str, int, float, bool, list, dict).

        Examples
        --------
        >>> import pandas as pd
        >>> TablePreprocessor().fit(pd.DataFrame({"a": [0.0, 2.0], "b": ["x", "y"]})).to_config()
        {'type': 'TablePreprocessor', 'version': 1, 'standardize': True, 'columns': [{'name': 'a', 'kind': 'numeric', 'mean': 1.0, 'scale': 1.0}, {'name': 'b', 'kind': 'categorical', 'categories': ['x', 'y']}]}
        """
        if not hasattr(self, "columns_"):
            raise NotFittedError(NOT_FITTED_MSG)
        stats = dict(zip(self.numeric_columns_, zip(self.means_, self.scales_)))
        categories_of = dict(zip(self.categorical_columns_, self.categories_))
        columns = []
        for name in self.columns_:
            if name in stats:
                mean, scale = stats[name]
                columns.append({"name": name, "kind": NUMERIC, "mean": float(mean), "scale": float(scale)})
            else:
                columns.append({"name": name, "kind": CATEGORICAL, "categories": list(categories_of[name])})
        return {"type": CONFIG_TYPE, "version": CONFIG_VERSION, "standardize": self.standardize, "columns": columns}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TablePreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_config`'s output; it transforms identically.

        Raises
        ------
        DataError
            If the config is malformed: not a dict, missing or unexpected keys, values
            of the wrong type or out of range.

        Examples
        --------
        >>> import json
        >>> config = {"type": "TablePreprocessor", "version": 1, "standardize": True,
        ...           "columns": [{"name": "a", "kind": "numeric", "mean": 1.0, "scale": 2.0}]}
        >>> TablePreprocessor.from_config(json.loads(json.dumps(config))).means_
        array([1.])
        >>> TablePreprocessor.from_config({**config, "version": 2})
        Traceback (most recent call last):
        ...
        netreg.exceptions.DataError: preprocessor config: `version` must be 1; got 2.
        """
        _check_keys(config, "config", _KEYS[None])
        _require(config["type"] == CONFIG_TYPE, "type", repr(CONFIG_TYPE), config["type"])
        version = config["version"]
        _require(_is_int(version) and version == CONFIG_VERSION, "version", str(CONFIG_VERSION), version)
        _require(isinstance(config["standardize"], bool), "standardize", "a bool", config["standardize"])
        entries = config["columns"]
        _require(isinstance(entries, list) and len(entries) > 0, "columns", "a non-empty list", entries)
        state: dict[str, list[Any]] = {"columns": [], "kinds": [], "means": [], "scales": [], "categories": []}
        seen: set[Any] = set()
        for i, entry in enumerate(entries):
            where = f"columns[{i}]"
            kind = entry.get("kind") if isinstance(entry, dict) else None
            _require(kind in (NUMERIC, CATEGORICAL), f"{where}.kind", "'numeric' or 'categorical'", kind)
            _check_keys(entry, where, _KEYS[kind])
            name = entry["name"]
            _require(_is_name(name), f"{where}.name", "a str or an int", name)
            _require(name not in seen, f"{where}.name", "distinct from the other names", name)
            seen.add(name)
            state["columns"].append(name)
            state["kinds"].append(kind)
            if kind == NUMERIC:
                mean, scale = entry["mean"], entry["scale"]
                _require(_is_finite(mean), f"{where}.mean", "a finite number", mean)
                _require(_is_finite(scale) and scale > 0, f"{where}.scale", "a finite number > 0", scale)
                state["means"].append(float(mean))
                state["scales"].append(float(scale))
            else:
                categories = entry["categories"]
                valid = isinstance(categories, list) and len(categories) > 0
                valid = (
                    valid and all(isinstance(c, str) for c in categories) and len(set(categories)) == len(categories)
                )
                _require(valid, f"{where}.categories", "a non-empty list of distinct str", categories)
                state["categories"].append(list(categories))
        preprocessor = cls(standardize=config["standardize"])
        preprocessor._set_state(standardize=config["standardize"], **state)
        return preprocessor

    def _set_state(
        self,
        *,
        standardize: bool,
        columns: list[Any],
        kinds: list[str],
        means: list[float],
        scales: list[float],
        categories: list[list[str]],
    ) -> None:
        # The one place fitted attributes are set, by fit and by from_config alike.
        self.standardize = standardize
        columns = [int(name) if isinstance(name, np.integer) else name for name in columns]
        self.columns_ = columns
        self.numeric_columns_ = [name for name, kind in zip(columns, kinds) if kind == NUMERIC]
        self.categorical_columns_ = [name for name, kind in zip(columns, kinds) if kind == CATEGORICAL]
        self.means_ = np.asarray(means, dtype=np.float64)
        self.scales_ = np.asarray(scales, dtype=np.float64)
        self.categories_ = [list(values) for values in categories]
        self.n_features_in_ = len(columns)
        names, cats = [], iter(self.categories_)
        for name, kind in zip(columns, kinds):
            names += [str(name)] if kind == NUMERIC else [f"{name}_{category}" for category in next(cats)]
        self.feature_names_out_ = names

    def __repr__(self) -> str:
        return f"TablePreprocessor(standardize={self.standardize!r})"


# ---------------------------------------------------------------------------------------
# Checks of the table and of its columns.


def _check_table(features: Any, columns: list[Any] | None = None) -> pd.DataFrame:
    """The features, columns in fit order, after the checks shared by fit and transform."""
    frame = check_frame(features)
    for name in frame.columns:
        if not _is_name(name):
            raise DataError(f"column name {show(name)} is a {type(name).__name__}; expected a str or an int.")
    counts = frame.columns.value_counts()
    if (counts > 1).any():
        name = counts.index[np.argmax(counts.to_numpy() > 1)]
        raise DataError(f"column {show(name)} appears {counts[name]} times; expected distinct column names.")
    if frame.shape[1] == 0:
        raise DataError("the features have no columns; expected at least one feature column besides the target.")
    if frame.shape[0] == 0:
        raise DataError(f"the features have columns {names_text(frame.columns)} but no rows; expected at least one.")
    if columns is not None:
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
        frame = frame[columns]
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
            f"missing values in {_columns(columns_hit)} ({rows_text(list(rows_hit))}); expected a value in every "
            "cell. Impute them, or use --drop-missing to drop such rows."
        )
    return frame


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
            f"infinite values in {_columns(hit)} ({rows_text(list(rows))}); expected finite numbers. "
            "Replace them, or drop those rows."
        )


def _columns(names: Any) -> str:
    names = list(names)
    return f"{'column' if len(names) == 1 else 'columns'} {names_text(names)}"


def _mean_and_scale(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of finite values, scale 1 for a constant column.

    The constant test is scikit-learn's (``_is_constant_feature``). Values are divided
    by the largest magnitude first, so that no sum overflows even near the float limits.
    """
    peak = float(np.max(np.abs(values)))
    if peak == 0.0:
        return 0.0, 1.0
    scaled = values / peak
    mean, var = float(np.mean(scaled)), float(np.var(scaled))
    n, eps = len(values), float(np.finfo(np.float64).eps)
    scale = math.sqrt(var) * peak
    constant = var <= n * eps * var + (n * mean * eps) ** 2 or scale == 0.0  # 0.0: underflow of tiny values
    return mean * peak, 1.0 if constant else scale


def _standardize(name: Any, column: pd.Series, values: np.ndarray, mean: float, scale: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        result = (values - mean) / scale
        bad = ~np.isfinite(result)
        if bad.any():  # (x - mean) overflowed: compute the same in units of the largest term
            unit = max(abs(mean), scale)
            result[bad] = (values[bad] / unit - mean / unit) / (scale / unit)
    bad = ~np.isfinite(result)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {show(name)} holds a value too far from those seen at fit to be standardized "
            f"({rows_text([column.index[i]])}: {show(values[i])}, mean {mean:g}, scale {scale:g}); "
            "expected values of a similar magnitude."
        )
    return result


def _is_name(name: Any) -> bool:
    return isinstance(name, str) or _is_int(name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_keys(entry: Any, where: str, expected: tuple[str, ...]) -> None:
    _require(isinstance(entry, dict), where, "a dict", entry)
    missing = [key for key in expected if key not in entry]
    unexpected = [key for key in entry if key not in expected]
    if missing or unexpected:
        found = "misses" if missing else "has unexpected"
        keys = missing or unexpected
        raise DataError(
            f"preprocessor config: `{where}` {found} {'key' if len(keys) == 1 else 'keys'} {names_text(keys)}; "
            f"expected keys {names_text(expected)}."
        )


def _require(condition: bool, where: str, expected: str, value: Any) -> None:
    if not condition:
        shown = show(value)
        if len(shown) > 60:  # a long list or text: its kind and length say enough
            shown = f"a {type(value).__name__} of length {len(value)}" if hasattr(value, "__len__") else shown[:60]
        raise DataError(f"preprocessor config: `{where}` must be {expected}; got {shown}.")
