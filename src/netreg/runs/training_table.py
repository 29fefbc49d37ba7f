"""A data file read for training: the feature matrix, the target, and how the matrix was made."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netreg.exceptions import DataError, DataWarning, bad_data, invalid
from netreg.message_text import columns_text, names_text, show
from netreg.tables.cardinality import ROW_NUMBERS, warn_row_numbers
from netreg.tables.columns import check_table, fit_kinds
from netreg.tables.preprocessing import TablePreprocessor
from netreg.tables.tables import Table, check_classification_target, drop_missing_rows, infer_task, read_table

__all__ = ["TASKS", "TrainingTable", "ValidationTable", "fit_table", "load_training_table", "read_validation_table"]

TASKS = ("auto", "classification", "regression")
#: The columns ``predict_table`` writes; an id column must not take their names.
PREDICTION_COLUMN, PROBABILITY_PREFIX = "prediction", "proba_"


@dataclass
class TrainingTable:
    """A data file read for training: the feature matrix, the target, and how X was made.

    ``dropped_rows`` are the positions in the file (counted from 0 at the first row of
    data) of the rows ``drop_missing`` dropped. ``features`` is the table of the rows kept,
    as read (the columns left out included), from which ``X`` was made: ``train`` fits a
    preprocessing of its own on its training rows from it. ``drop_missing`` says whether
    rows with a missing value were dropped: a validation file is read as this file was
    (:func:`read_validation_table`).
    """

    path: str
    target_name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    preprocessor: TablePreprocessor
    feature_names: list[str]
    dropped_rows: list[int]
    features: pd.DataFrame
    drop_missing: bool = False


def load_training_table(
    path: str | os.PathLike,
    target: str,
    *,
    task: str = "auto",
    standardize: bool = True,
    impute: str | None = None,
    drop: Sequence[str] = (),
    id_column: str | None = None,
    drop_missing: bool = False,
) -> TrainingTable:
    """Read a CSV, Parquet or NPZ file and turn it into ``X`` and ``y`` for training.

    The features are typed and encoded by a :class:`netreg.tables.TablePreprocessor` of
    ``standardize``, ``impute``, ``drop`` and ``id_column`` (its docstring states the rules).
    ``task="auto"`` infers classification or regression from the target
    (:func:`netreg.tables.infer_task`).

    Rows with a missing value are an error that names them, or, with ``drop_missing=True``,
    are dropped: the rows missing the target, and (without ``impute``) the rows missing a
    feature. A missing feature is filled in when ``impute`` is given.

    Raises
    ------
    DataError
        For any problem with the file or its contents; the message starts with the file.
    InvalidParameterError
        For a parameter outside the values it accepts.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cars.csv"
    >>> _ = path.write_text("name,year,mpg\\nvw,1970,26.5\\nford,,15\\nfiat,1972,\\nbmw,1974,21.5\\n")
    >>> data = load_training_table(path, "mpg", impute="median", id_column="name", drop_missing=True)
    >>> data.task, data.X.shape, data.y.tolist(), data.dropped_rows
    ('regression', (3, 1), [26.5, 15.0, 21.5], [2])
    """
    if task not in TASKS:
        raise invalid("task", f"one of {', '.join(map(repr, TASKS))}", task)
    for name, given in (("drop", target in list(drop)), ("id_column", target == id_column)):
        if given:
            raise bad_data(f"`{path}`: `{name}` names the target column {show(target)}", "other columns")
    if id_column == PREDICTION_COLUMN or str(id_column).startswith(PROBABILITY_PREFIX):
        raise bad_data(
            f"`{path}`: the id column {show(id_column)} has the name of a column of the predictions",
            f"another name than {PREDICTION_COLUMN!r} or {PROBABILITY_PREFIX}...",
            "Rename the column.",
        )
    preprocessor = TablePreprocessor(standardize=standardize, impute=impute, drop=tuple(drop), id_column=id_column)
    table = read_table(path, target=target, keep_missing_target=drop_missing)
    features, labels, dropped = table.features, table.target, []
    if drop_missing:
        used, features, labels, dropped = _complete_rows(path, table, preprocessor, "rows to train on")
        if dropped:
            _judge_row_numbers(used)
    kind = infer_task(labels) if task == "auto" else task
    if kind == "classification":
        try:
            check_classification_target(labels)
        except DataError as error:
            raise DataError(f"`{path}`: {error}") from None
    elif not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        raise bad_data(
            f"`{path}`: target {show(target)} is not numeric (dtype {labels.dtype})",
            "numbers for a regression target",
            "Pass `task='classification'` to classify it.",
        )
    with warnings.catch_warnings():
        if dropped:  # the rows left cannot show a column of row numbers: judged above, on the whole file
            warnings.filterwarnings("ignore", f".*{ROW_NUMBERS}", DataWarning)
        X = fit_table(preprocessor, features, path)
    y = labels.to_numpy()
    y = y.astype(np.float64) if kind == "regression" else _class_labels(y)
    names = list(preprocessor.feature_names_out_)
    return TrainingTable(str(path), target, X, y, kind, preprocessor, names, dropped, features, drop_missing)


@dataclass
class ValidationTable:
    """A validation file read for a :class:`TrainingTable`: its rows as read, in the training
    file's column order, and its target encoded as the training target is. ``dropped_rows``
    are the positions in the file (counted from 0 at the first row of data) of the rows
    dropped for a missing value, as the training file's were (``drop_missing``)."""

    path: str
    features: pd.DataFrame
    y: np.ndarray
    dropped_rows: list[int] = field(default_factory=list)


def read_validation_table(path: str | os.PathLike, data: TrainingTable) -> ValidationTable:
    """Read a validation file for ``data``: the same columns as ``data``'s file, the target included.

    Its rows are left as read, for the preprocessing fitted on the training rows to encode
    (:meth:`netreg.tables.TablePreprocessor.transform`); its target is encoded as ``data.y``
    was. When ``data`` was read with ``drop_missing=True``, the rows missing a value are
    dropped as they were from ``data``'s file (the target's, and without ``impute`` a
    feature's), and listed in :attr:`ValidationTable.dropped_rows`. The estimator checks the rest when it fits (``X_val``, ``y_val``): classes the
    training rows lack, values the preprocessing refuses.

    Raises
    ------
    DataError
        If the file cannot be read, lacks the target, has other columns than ``data``'s
        file, a target of another kind, or (with ``drop_missing``) no row without a missing
        value; the message starts with the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "d.csv").write_text("x,y\\n1,0.5\\n2,1.5\\n3,2.5\\n")
    >>> _ = (folder / "v.csv").write_text("y,x\\n1.0,4\\n")
    >>> validation = read_validation_table(folder / "v.csv", load_training_table(folder / "d.csv", "y"))
    >>> list(validation.features.columns), validation.y.tolist()
    (['x'], [1.0])
    """
    table = read_table(path, target=data.target_name, keep_missing_target=data.drop_missing)
    expected, given = list(data.features.columns), list(table.features.columns)
    if set(given) != set(expected):
        missing = [name for name in expected if name not in given]
        extra = [name for name in given if name not in expected]
        received = " and ".join(
            part
            for part in (
                f"lacks {columns_text(missing)}" if missing else "",
                f"has {columns_text(extra)}" if extra else "",
            )
            if part
        )
        raise bad_data(f"`{path}` {received}", f"the columns of `{data.path}`: {names_text(expected)}")
    features, target, dropped = table.features, table.target, []
    if data.drop_missing:
        _, features, target, dropped = _complete_rows(path, table, data.preprocessor, "rows to validate on")
    labels = target.to_numpy()
    if data.task == "regression":
        if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
            raise bad_data(
                f"`{path}`: target {show(data.target_name)} is not numeric (dtype {target.dtype})",
                f"numbers, as in `{data.path}`",
            )
        y = labels.astype(np.float64)
    else:
        y = _class_labels(labels)
        classes = [str(label) for label in np.unique(data.y)]
        unseen = sorted({str(label) for label in y} - set(classes))
        if unseen:
            raise bad_data(
                f"`{path}`: target {show(data.target_name)} has {_classes(unseen)} that `{data.path}` has not",
                f"the classes of `{data.path}`: {names_text(classes)}",
            )
        if data.y.dtype == object:  # text classes: 1 and '1' are one class, as in the training file
            y = np.asarray([str(label) for label in y], dtype=object)
    return ValidationTable(str(path), features[expected], y, dropped)


def fit_table(preprocessor: TablePreprocessor, features: pd.DataFrame, path: str | os.PathLike) -> np.ndarray:
    """``preprocessor.fit_transform(features)``, a :class:`netreg.DataError` prefixed with the file.

    Examples
    --------
    >>> fit_table(TablePreprocessor(), pd.DataFrame({"x": [1.0, 3.0]}), "d.csv").ravel().tolist()
    [-1.0, 1.0]
    """
    try:
        return preprocessor.fit_transform(features)
    except DataError as error:
        raise DataError(f"`{path}`: {error}") from None


def _complete_rows(
    path: str | os.PathLike, table: Table, preprocessor: TablePreprocessor, purpose: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, list[int]]:
    """The rows of ``table`` with no missing value where ``preprocessor`` needs one (``drop_missing``).

    Returns the columns ``preprocessor`` uses, of every row; the features and target of the
    rows kept; the positions of the rows dropped. ``purpose`` says what rows are for, in the
    error when none is left.
    """
    left_out = {*preprocessor.drop, preprocessor.id_column}
    used = table.features[[name for name in table.features.columns if name not in left_out]]
    kept, target, dropped = drop_missing_rows(used, table.target, in_features=preprocessor.impute is None)
    if len(kept) == 0:
        raise bad_data(f"`{path}`: every row has a missing value, so `drop_missing=True` leaves nothing", purpose)
    return used, table.features.loc[kept.index], target, dropped


def _judge_row_numbers(used: pd.DataFrame) -> None:
    """Warn of a column of row numbers among the features of the whole file, before rows are dropped."""
    try:
        kinds, typed = fit_kinds(check_table(used, allow_missing=True))
    except DataError:  # the fit says what is wrong with the table, after the rows are dropped
        return
    warn_row_numbers(typed, kinds, list(used.columns))


def _classes(labels: list[str]) -> str:
    return f"{'class' if len(labels) == 1 else 'classes'} {names_text(labels)}"


def _class_labels(y: np.ndarray) -> np.ndarray:
    """Class labels scikit-learn reads as classes: whole floats become ints, other values text.

    A float column read from a file holds ``1.0, 2.0, ...`` for classes 1, 2; scikit-learn
    would take such floats (or a float too large for an int) for a continuous target.
    """
    if y.dtype.kind == "f":
        if np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all(np.abs(y) < 2**53):
            return y.astype(np.int64)
        return y.astype(str)
    if y.dtype.kind in "biu":
        return y
    return np.asarray([str(v) for v in y], dtype=object)
