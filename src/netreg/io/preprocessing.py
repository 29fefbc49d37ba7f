"""From a table of features to a matrix of numbers, through scikit-learn, with a fitted state that is plain data.

:class:`TablePreprocessor` types the columns (:mod:`netreg.io.columns`), then a
scikit-learn ``ColumnTransformer`` standardizes the numeric columns (``StandardScaler``)
and one-hot encodes the others (``OneHotEncoder(handle_unknown="ignore")``). Its fitted
state round-trips through JSON (:meth:`TablePreprocessor.to_config`,
:meth:`TablePreprocessor.from_config`), so a saved model is loaded without pickle.

Errors are :class:`netreg.DataError` messages that start with what is wrong (the
command line puts the file name in front), then say what was expected::

    column 'age' mixes numbers and text (row 3: 'n/a'; row 0: '42'); expected only numbers or only text in a column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer

from netreg.exceptions import DataError, NotFittedError, invalid
from netreg.io._text import rows_text, show
from netreg.io.columns import CATEGORICAL, NUMERIC, check_table, fit_kinds, is_column_name, typed_frame
from netreg.io.json_fields import ANY, FINITE_NUMBER, Const, Items, Keys, Tagged, Value, check_fields
from netreg.io.transformers import (
    fit_table_transformer,
    numeric_positions,
    restore_table_transformer,
    transformer_state,
)
from netreg.io.widths import check_encoded_size

__all__ = ["CONFIG_SPEC", "CONFIG_TYPE", "CONFIG_VERSION", "TablePreprocessor"]

CONFIG_TYPE, CONFIG_VERSION = "TablePreprocessor", 1
NOT_FITTED_MSG = "This TablePreprocessor instance is not fitted yet. Call 'fit' with the training features first."

_NAME = Value("a str or an int", is_column_name)
_DISTINCT_TEXT = Value(
    "a non-empty list of distinct str",
    lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(c, str) for c in v) and len(set(v)) == len(v),
)
#: The layout of ``to_config``'s output (version 1, as netreg 0.1 wrote it).
CONFIG_SPEC = Keys(
    {
        "type": Const(CONFIG_TYPE),
        "version": Const(CONFIG_VERSION),
        "standardize": Value("a bool", lambda v: isinstance(v, bool)),
        "columns": Items(
            Tagged(
                "kind",
                {
                    NUMERIC: Keys(
                        {
                            "name": _NAME,
                            "kind": ANY,
                            "mean": FINITE_NUMBER,
                            "scale": Value("a finite number > 0", lambda v: FINITE_NUMBER.test(v) and v > 0),
                        }
                    ),
                    CATEGORICAL: Keys({"name": _NAME, "kind": ANY, "categories": _DISTINCT_TEXT}),
                },
            ),
            distinct="name",
        ),
    }
)
#: Without standardization the numeric columns pass through: their saved mean and scale are 0 and 1.
_UNSTANDARDIZED_SPEC = Keys(
    {
        "columns": Items(
            Tagged(
                "kind",
                {
                    NUMERIC: Keys(
                        {
                            "mean": Value("0 when `standardize` is false", lambda v: v == 0),
                            "scale": Value("1 when `standardize` is false", lambda v: v == 1),
                        },
                        others=True,
                    ),
                    CATEGORICAL: Keys({}, others=True),
                },
            )
        )
    },
    others=True,
)


class TablePreprocessor(TransformerMixin, BaseEstimator):
    """Standardize the numeric columns of a DataFrame and one-hot encode its text columns.

    Column by column, in input order:

    * a numeric column (int, float or bool dtype, or text whose every value is a number
      such as ``"42"``) gives one output column: ``(x - mean) / scale`` with the mean and
      standard deviation seen at fit (scale 1 for a constant column), as scikit-learn's
      ``StandardScaler`` computes them, or ``x`` itself with ``standardize=False``;
    * a text column (object or string dtype, values that are not numbers), or any column
      of pandas ``category`` dtype, gives one 0/1 column per category seen at fit, in
      sorted order, by scikit-learn's ``OneHotEncoder``. Categories are compared as
      text (``str(value)``); one not seen at fit gives a row of zeros
      (``handle_unknown="ignore"``).

    The work is done by a scikit-learn ``ColumnTransformer`` (attribute ``transformer_``,
    built by :func:`netreg.io.transformers.fit_table_transformer`). Its scalers are fitted
    on each column divided by a power of two near its largest magnitude, which changes no
    bit of the means and scales but keeps values near the float limits (1e308) from
    overflowing.

    Missing values (NaN, None, empty or blank text, the text ``"nan"``), infinite numbers,
    columns mixing numbers and text, and other dtypes (dates, complex numbers) are refused
    with a :class:`netreg.DataError` that names the columns and the rows (by index label:
    for a table from :func:`netreg.io.read_table`, the position in the file).

    Parameters
    ----------
    standardize : bool, default=True
        Whether to standardize the numeric columns.

    Attributes
    ----------
    transformer_ : sklearn.compose.ColumnTransformer
        The fitted transformer of the typed columns.
    columns_ : list of str or int
        The input columns, in the order of the output. ``transform`` accepts them in any order.
    column_kinds_ : list of str
        ``"numeric"`` or ``"categorical"``, per column of ``columns_``.
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

    def fit(self, features: pd.DataFrame, y: Any = None) -> TablePreprocessor:
        """Learn the kind of each column, the means and scales, and the categories.

        Parameters
        ----------
        features : pandas.DataFrame
            At least one column and one row.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        self

        Raises
        ------
        DataError
            If the table is empty, has duplicate column names, an unsupported dtype,
            missing or infinite values, a column that mixes numbers and text, or would
            encode into a matrix too large for memory
            (:func:`netreg.io.widths.check_encoded_size`, checked before it is built).
        """
        if not isinstance(self.standardize, bool):
            raise invalid("standardize", "a bool", self.standardize)
        frame = check_table(features)
        kinds, typed = fit_kinds(frame)
        # scikit-learn's ColumnTransformer.fit encodes the table: size it from the categories first.
        counts = [(name, typed[str(name)].nunique()) for name, kind in zip(frame.columns, kinds) if kind == CATEGORICAL]
        check_encoded_size(len(frame), kinds.count(NUMERIC) + sum(count for _, count in counts), counts)
        transformer = fit_table_transformer(typed, kinds, standardize=self.standardize)
        self._set_state(transformer, columns=list(frame.columns), kinds=kinds, standardize=self.standardize)
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """Return the features as a float64 matrix of shape ``(n_rows, len(feature_names_out_))``.

        The columns may come in any order; they must be those seen at fit.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        DataError
            If the columns differ from those seen at fit, or for the reasons ``fit`` gives,
            or a value is too far from those seen at fit to be standardized.
        """
        self._check_fitted()
        frame = check_table(features, columns=self.columns_)
        counts = [(name, len(values)) for name, values in zip(self.categorical_columns_, self.categories_)]
        check_encoded_size(len(frame), len(self.feature_names_out_), counts)
        typed = typed_frame(frame, self.column_kinds_)
        with np.errstate(over="ignore", invalid="ignore"):
            output = np.asarray(self.transformer_.transform(typed), dtype=np.float64)
        if not np.isfinite(output).all():
            self._standardize_far_values(output, typed, frame.index)
        return output

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The names of the output columns (``feature_names_out_``) as an array of str.

        ``input_features``, if given, must be the text of ``columns_``.
        """
        self._check_fitted()
        return self.transformer_.get_feature_names_out(input_features)

    def to_config(self) -> dict[str, Any]:
        """Return the fitted state as JSON-serializable plain data (str, int, float, bool, list, dict).

        Examples
        --------
        >>> import pandas as pd
        >>> TablePreprocessor().fit(pd.DataFrame({"a": [0.0, 2.0], "b": ["x", "y"]})).to_config()
        {'type': 'TablePreprocessor', 'version': 1, 'standardize': True, 'columns': [{'name': 'a', 'kind': 'numeric', 'mean': 1.0, 'scale': 1.0}, {'name': 'b', 'kind': 'categorical', 'categories': ['x', 'y']}]}
        """
        self._check_fitted()
        stats = iter(zip(self.means_.tolist(), self.scales_.tolist()))
        categories = iter(self.categories_)
        columns = []
        for name, kind in zip(self.columns_, self.column_kinds_):
            if kind == NUMERIC:
                mean, scale = next(stats)
                columns.append({"name": name, "kind": NUMERIC, "mean": mean, "scale": scale})
            else:
                columns.append({"name": name, "kind": CATEGORICAL, "categories": list(next(categories))})
        return {"type": CONFIG_TYPE, "version": CONFIG_VERSION, "standardize": self.standardize, "columns": columns}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TablePreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_config`'s output; it transforms identically.

        The ``ColumnTransformer`` is fitted on one placeholder row, then its scalers take
        the saved means and scales (``var_`` is ``scale_ ** 2``; ``n_samples_seen_`` is
        not saved and is 0) and its encoders the saved categories.

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
        check_fields(config, CONFIG_SPEC, source="preprocessor config", root="config")
        if not config["standardize"]:
            check_fields(config, _UNSTANDARDIZED_SPEC, source="preprocessor config", root="config")
        entries = config["columns"]
        columns, kinds = [entry["name"] for entry in entries], [entry["kind"] for entry in entries]
        transformer = restore_table_transformer(
            [str(name) for name in columns],
            kinds,
            standardize=config["standardize"],
            means=[entry["mean"] for entry in entries if entry["kind"] == NUMERIC],
            scales=[entry["scale"] for entry in entries if entry["kind"] == NUMERIC],
            categories=[entry["categories"] for entry in entries if entry["kind"] == CATEGORICAL],
        )
        preprocessor = cls(standardize=config["standardize"])
        preprocessor._set_state(transformer, columns=columns, kinds=kinds, standardize=config["standardize"])
        return preprocessor

    def _set_state(self, transformer: ColumnTransformer, *, columns: list[Any], kinds: list[str], standardize: bool):
        # The one place fitted attributes are set, by fit and by from_config alike.
        self.standardize = standardize
        self.transformer_ = transformer
        self.columns_ = [int(name) if isinstance(name, np.integer) else name for name in columns]
        self.column_kinds_ = list(kinds)
        self.numeric_columns_ = [name for name, kind in zip(self.columns_, kinds) if kind == NUMERIC]
        self.categorical_columns_ = [name for name, kind in zip(self.columns_, kinds) if kind == CATEGORICAL]
        self.means_, self.scales_, self.categories_ = transformer_state(transformer, len(self.numeric_columns_))
        self.n_features_in_ = len(columns)
        self.feature_names_out_ = [str(name) for name in transformer.get_feature_names_out()]

    def _check_fitted(self) -> None:
        if not hasattr(self, "transformer_"):
            raise NotFittedError(NOT_FITTED_MSG)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "transformer_")

    def _standardize_far_values(self, output: np.ndarray, typed: pd.DataFrame, index: pd.Index) -> None:
        """Recompute the entries whose ``x - mean`` overflowed, in units of the largest term; raise if
        a value stays too far from those seen at fit."""
        positions = numeric_positions(self.transformer_)
        for name, position, mean, scale in zip(self.numeric_columns_, positions, self.means_, self.scales_):
            rows = np.flatnonzero(~np.isfinite(output[:, position]))
            if len(rows) == 0:
                continue
            values = typed[str(name)].to_numpy()[rows]
            unit = max(abs(mean), scale)
            with np.errstate(over="ignore", invalid="ignore"):
                output[rows, position] = (values / unit - mean / unit) / (scale / unit)
            still = np.flatnonzero(~np.isfinite(output[rows, position]))
            if len(still):
                raise DataError(
                    f"column {show(name)} holds a value too far from those seen at fit to be standardized "
                    f"({rows_text([index[rows[still[0]]]])}: {show(values[still[0]])}, mean {mean:g}, "
                    f"scale {scale:g}); expected values of a similar magnitude."
                )

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 - BaseEstimator's signature
        # The parameter is always shown (scikit-learn shows only those changed from the default).
        return f"TablePreprocessor(standardize={self.standardize!r})"
