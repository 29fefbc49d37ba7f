"""From a table of features to a matrix of numbers, through scikit-learn, with a fitted state that is plain data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer

from netreg.exceptions import NotFittedError, bad_data, invalid
from netreg.message_text import names_text
from netreg.tables.cardinality import check_cardinality, warn_unseen_categories
from netreg.tables.columns import (
    CATEGORICAL,
    DATE,
    NUMERIC,
    check_table,
    fit_kinds,
    typed_frame,
)
from netreg.tables.layout import check_left_out, feature_frame, row_ids
from netreg.tables.preprocessing_config import FittedTable, read_config, write_config
from netreg.tables.transformers import (
    IMPUTE_STRATEGIES,
    fit_table_transformer,
    restore_table_transformer,
    standardize_far_values,
    transformer_state,
)
from netreg.tables.widths import check_encoded_size

__all__ = ["TablePreprocessor"]

NOT_FITTED_MSG = "This TablePreprocessor instance is not fitted yet. Call 'fit' with the training features first."


class TablePreprocessor(TransformerMixin, BaseEstimator):
    """Standardize the numeric and date columns of a DataFrame and one-hot encode its text columns.

    The column-typing rules, stated here once. Column by column, in input order, leaving
    out the columns named in ``drop`` and ``id_column`` (wherever they are present):

    * a numeric column (int, float or bool dtype, or text whose every value is a number
      such as ``"42"``) gives one output column: ``(x - mean) / scale`` with the mean and
      standard deviation seen at fit (scale 1 for a constant column), as scikit-learn's
      ``StandardScaler`` computes them, or ``x`` itself with ``standardize=False``;
    * a date column (datetime dtype, with a time zone or not; Python dates and times; or text
      whose every value is an ISO 8601 date or time: ``"2021-03-04"``, ``"2021-03"``,
      ``"2021-03-04 10:30:00+01:00"``) gives one output column: its days since 1970-01-01
      00:00 UTC (fractional for a time of day; a time without a zone is read as UTC),
      standardized as a numeric column (no month or weekday is derived);
    * a text column (object or string dtype, values that are not numbers), or any column
      of pandas ``category`` dtype, gives one 0/1 column per category seen at fit, in
      sorted order, by scikit-learn's ``OneHotEncoder``. Categories are compared as
      text (``str(value)``); one not seen at fit gives a row of zeros
      (``handle_unknown="ignore"``) and a :class:`netreg.DataWarning` naming the columns.

    Missing values (NaN, None, NaT, empty or blank text, the text ``"nan"``) are refused,
    unless ``impute`` names a scikit-learn ``SimpleImputer`` strategy: then each numeric
    and date column is filled in with its mean, median or most frequent value at fit, and
    each text column with its most frequent category, before scaling or encoding.

    Infinite numbers, columns mixing numbers and text (or dates and text), dates in another
    layout than ISO 8601 (``"03/04/2021"``: day and month cannot be told apart), other dtypes
    (durations, complex numbers), and text columns of more than 20
    (:data:`~netreg.tables.cardinality.MIN_DISTINCT`) values, all distinct (ids, free text) are
    refused with a :class:`netreg.DataError` that names the columns and the rows (by index
    label; an integer label is a position, counted from 0 at the first row of data, as for
    a table from :func:`netreg.tables.read_table`)::

        column 'age' mixes numbers and text (row 3: 'n/a'; row 0: '42'; counting from 0, header excluded); expected only numbers or only text in a column.

    Used, with a :class:`netreg.DataWarning`: a text column of more than 20 distinct values,
    more than half its rows (:data:`~netreg.tables.cardinality.MAX_SHARE`), and a numeric
    column holding the whole numbers ``a, a + 1, ..., b``, each once (a row number). Each
    message names the fix: ``drop`` the column or make it the ``id_column``.

    The work is done by a scikit-learn ``ColumnTransformer`` (attribute ``transformer_``,
    :func:`netreg.tables.transformers.fit_table_transformer`, which keeps columns of
    magnitudes beyond 1e154 or below 1e-154 from overflowing or underflowing).

    Parameters
    ----------
    standardize : bool, default=True
        Whether to standardize the numeric and date columns.
    impute : {"mean", "median", "most_frequent"} or None, default=None
        How missing values are filled in; None refuses them.
    drop : sequence of str or int, default=()
        Columns left out: they must be present at fit, and are ignored by ``transform``.
    id_column : str or int, optional
        A column that labels the rows (a name, an id): left out of the features, like
        ``drop``, and recorded so that predictions can be labeled by it.

    Attributes
    ----------
    transformer_ : sklearn.compose.ColumnTransformer
        The fitted transformer of the typed columns.
    columns_ : list of str or int
        The feature columns, in the order of the output. ``transform`` accepts them in any order.
    column_kinds_ : list of str
        ``"numeric"``, ``"date"`` or ``"categorical"``, per column of ``columns_``.
    numeric_columns_, date_columns_, categorical_columns_ : list of str or int
        The columns of each kind (the last one-hot encoded).
    means_ : ndarray of shape (len(numeric_columns_) + len(date_columns_),)
        Mean of each numeric or date column, in the order of ``columns_`` (0 when
        ``standardize=False``).
    scales_ : ndarray of the same shape
        Standard deviation of each numeric or date column, 1 for a constant column (and
        when ``standardize=False``).
    categories_ : list of list of str
        The sorted categories of each categorical column.
    fills_ : list or None
        The value filled in for each column of ``columns_`` (None without ``impute``).
    feature_names_out_ : list of str
        One name per output column: the column for a numeric or date column,
        ``"{column}_{category}"`` for a one-hot column.
    n_features_in_ : int
        Number of feature columns.

    Examples
    --------
    >>> import pandas as pd
    >>> features = pd.DataFrame({"size": [1.0, 2.0, 3.0], "color": ["red", "blue", "red"]})
    >>> preprocessor = TablePreprocessor().fit(features)
    >>> preprocessor.feature_names_out_
    ['size', 'color_blue', 'color_red']
    >>> preprocessor.transform(pd.DataFrame({"color": ["blue", "red"], "size": [2.0, 5.0]}))
    array([[0.        , 1.        , 0.        ],
           [3.67423461, 0.        , 1.        ]])
    >>> TablePreprocessor.from_config(preprocessor.to_config()).categories_
    [['blue', 'red']]
    >>> imputing = TablePreprocessor(impute="median", id_column="name").fit(features.assign(name=["a", "b", "c"]))
    >>> imputing.transform(pd.DataFrame({"size": [None], "color": [None]}))
    array([[0., 0., 1.]])
    """

    def __init__(
        self,
        *,
        standardize: bool = True,
        impute: str | None = None,
        drop: Sequence[str | int] = (),
        id_column: str | int | None = None,
    ) -> None:
        self.standardize = standardize
        self.impute = impute
        self.drop = drop
        self.id_column = id_column

    def fit(self, features: pd.DataFrame, y: Any = None) -> TablePreprocessor:
        """Learn the kind of each column, the means and scales, the categories and the imputed values.

        Parameters
        ----------
        features : pandas.DataFrame
            At least one feature column and one row.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        self

        Raises
        ------
        DataError
            If a column of ``drop`` or ``id_column`` is absent, the table is empty, has
            duplicate column names, breaks the rules above (with ``impute``, a column
            with no value at all), or would encode into a matrix too large for memory
            (:func:`netreg.tables.widths.check_encoded_size`, checked before it is built).
        InvalidParameterError
            If a parameter is not one of the values it accepts.

        Warns
        -----
        DataWarning
            For a text column with many distinct values, or a column of row numbers
            (:mod:`netreg.tables.cardinality`).
        """
        if not isinstance(self.standardize, bool):
            raise invalid("standardize", "a bool", self.standardize)
        if self.impute is not None and self.impute not in IMPUTE_STRATEGIES:
            raise invalid("impute", f"None or one of {', '.join(map(repr, IMPUTE_STRATEGIES))}", self.impute)
        drop, id_column = check_left_out(self.drop, self.id_column), self.id_column
        frame = feature_frame(features, drop, id_column, at_fit=True)
        frame = check_table(frame, allow_missing=self.impute is not None)
        kinds, typed = fit_kinds(frame)
        empty = [name for name, (_, column) in zip(frame.columns, typed.items(), strict=True) if column.isna().all()]
        if empty:
            raise bad_data(
                f"{'column' if len(empty) == 1 else 'columns'} {names_text(empty)} "
                f"{'has' if len(empty) == 1 else 'have'} no value at all",
                "at least one value to impute from",
                f"Pass `drop={list(empty)!r}` to leave {'it' if len(empty) == 1 else 'them'} out.",
            )
        check_cardinality(typed, kinds, list(frame.columns))
        # scikit-learn's ColumnTransformer.fit encodes the table: size it from the categories first.
        counts = [
            (name, typed[str(name)].nunique())
            for name, kind in zip(frame.columns, kinds, strict=True)
            if kind == CATEGORICAL
        ]
        check_encoded_size(len(frame), sum(kind != CATEGORICAL for kind in kinds) + sum(n for _, n in counts), counts)
        transformer = fit_table_transformer(typed, kinds, standardize=self.standardize, impute=self.impute)
        means, scales, categories, fills = transformer_state(transformer, sum(kind != CATEGORICAL for kind in kinds))
        state = FittedTable(
            standardize=self.standardize,
            impute=self.impute,
            drop=drop,
            id_column=id_column,
            columns=list(frame.columns),
            kinds=kinds,
            means=means.tolist(),
            scales=scales.tolist(),
            categories=categories,
            fills=fills,
        )
        self._set_state(transformer, state)
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """Return the features as a float64 matrix of shape ``(n_rows, len(feature_names_out_))``.

        The columns may come in any order; they must be those seen at fit (columns of
        ``drop`` and ``id_column`` may be present or not).

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        DataError
            If the columns differ from those seen at fit, or for the reasons ``fit`` gives,
            or a value is too far from those seen at fit to be standardized.

        Warns
        -----
        DataWarning
            Once per call, if text columns hold categories not seen at fit: how many rows,
            which columns and categories. Those rows are all zeros in the columns' one-hot
            features.
        """
        self._check_fitted()
        imputing = self.impute is not None
        frame = feature_frame(features, self.drop, self.id_column, at_fit=False)
        frame = check_table(frame, columns=self.columns_, allow_missing=imputing)
        counts = [(name, len(values)) for name, values in zip(self.categorical_columns_, self.categories_, strict=True)]
        check_encoded_size(len(frame), len(self.feature_names_out_), counts)
        typed = typed_frame(frame, self.column_kinds_)
        warn_unseen_categories(typed, self.categorical_columns_, self.categories_)
        with np.errstate(over="ignore", invalid="ignore"):
            output = np.asarray(self.transformer_.transform(typed), dtype=np.float64)
        if not np.isfinite(output).all():
            scaled = [name for name, kind in zip(self.columns_, self.column_kinds_, strict=True) if kind != CATEGORICAL]
            standardize_far_values(output, typed, self.transformer_, scaled, self.means_, self.scales_)
        return output

    def row_ids(self, features: pd.DataFrame) -> pd.Series | None:
        """The ``id_column`` of a table to transform, which labels its rows (None without one).

        Raises
        ------
        DataError
            If the table has no such column (:func:`netreg.tables.layout.row_ids`).

        Examples
        --------
        >>> import pandas as pd
        >>> preprocessor = TablePreprocessor(id_column="name").fit(pd.DataFrame({"name": ["a", "b"], "x": [1, 2]}))
        >>> preprocessor.row_ids(pd.DataFrame({"name": ["c"], "x": [3]})).tolist()
        ['c']
        """
        return row_ids(features, self.id_column)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The names of the output columns (``feature_names_out_``) as an array of str.

        ``input_features``, if given, must be the text of ``columns_``.
        """
        self._check_fitted()
        return self.transformer_.get_feature_names_out(input_features)

    def to_config(self) -> dict[str, Any]:
        """Return the fitted state as JSON-serializable plain data (str, int, float, bool, list, dict).

        In the oldest version that holds it (:mod:`netreg.tables.preprocessing_config`).

        Examples
        --------
        >>> import pandas as pd
        >>> TablePreprocessor().fit(pd.DataFrame({"a": [0.0, 2.0], "b": ["x", "y"]})).to_config()
        {'type': 'TablePreprocessor', 'version': 1, 'standardize': True, 'columns': [{'name': 'a', 'kind': 'numeric', 'mean': 1.0, 'scale': 1.0}, {'name': 'b', 'kind': 'categorical', 'categories': ['x', 'y']}]}
        """
        self._check_fitted()
        return write_config(self._state)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TablePreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_config`'s output (version 1 or 2); it transforms identically.

        The ``ColumnTransformer`` is rebuilt by :func:`netreg.tables.transformers.restore_table_transformer`.

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
        >>> TablePreprocessor.from_config({**config, "version": 3})
        Traceback (most recent call last):
        ...
        netreg.exceptions.DataError: preprocessor config: `version` must be 1 or 2; got 3.
        """
        state = read_config(config)
        transformer = restore_table_transformer(
            [str(name) for name in state.columns],
            state.kinds,
            standardize=state.standardize,
            means=state.means,
            scales=state.scales,
            categories=state.categories,
            impute=state.impute,
            fills=state.fills,
        )
        preprocessor = cls(
            standardize=state.standardize, impute=state.impute, drop=tuple(state.drop), id_column=state.id_column
        )
        preprocessor._set_state(transformer, state)
        return preprocessor

    def _set_state(self, transformer: ColumnTransformer, state: FittedTable) -> None:
        # The one place fitted attributes are set, by fit and by from_config alike.
        self.standardize = state.standardize
        self._state = state
        self.transformer_ = transformer
        self.columns_ = [int(name) if isinstance(name, np.integer) else name for name in state.columns]
        self.column_kinds_ = list(state.kinds)
        kinds = dict(zip(self.columns_, state.kinds, strict=True))
        self.numeric_columns_ = [name for name in self.columns_ if kinds[name] == NUMERIC]
        self.date_columns_ = [name for name in self.columns_ if kinds[name] == DATE]
        self.categorical_columns_ = [name for name in self.columns_ if kinds[name] == CATEGORICAL]
        n_scaled = len(self.numeric_columns_) + len(self.date_columns_)
        self.means_, self.scales_, self.categories_, self.fills_ = transformer_state(transformer, n_scaled)
        self.n_features_in_ = len(state.columns)
        self.feature_names_out_ = [str(name) for name in transformer.get_feature_names_out()]

    def _check_fitted(self) -> None:
        if not hasattr(self, "transformer_"):
            raise NotFittedError(NOT_FITTED_MSG)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "transformer_")

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 - BaseEstimator's signature
        # standardize is always shown (scikit-learn shows only the parameters changed from their default).
        shown = [f"standardize={self.standardize!r}"]
        defaults = {"impute": None, "drop": (), "id_column": None}
        shown += [f"{key}={getattr(self, key)!r}" for key, default in defaults.items() if getattr(self, key) != default]
        return f"TablePreprocessor({', '.join(shown)})"
