"""Reading tables of data: from a CSV, Parquet or NPZ file to features and a target.

Every bad input raises a :class:`netreg.DataError` whose message starts with the file; turning
the features into numbers is :class:`netreg.tables.TablePreprocessor`'s job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from netreg.exceptions import bad_data, invalid
from netreg.message_text import show
from netreg.tables import _readers
from netreg.tables._readers import FORMATS
from netreg.tables.columns import check_frame, missing_mask

__all__ = [
    "FORMATS",
    "MAX_CLASSES",
    "Table",
    "read_table",
    "infer_task",
    "check_classification_target",
    "drop_missing_rows",
]

#: A numeric target with at most this many distinct integer values is a classification target.
MAX_CLASSES = 20


@dataclass(frozen=True, eq=False)
class Table:
    """A table read from a file: the feature columns and, if asked for, the target column.

    Both have a fresh ``RangeIndex``: the label of a row is its position in the file.

    Attributes
    ----------
    features : pandas.DataFrame
        Every column but the target, in file order, missing values kept.
    target : pandas.Series or None
        The target column (without missing values, unless read with ``keep_missing_target``), or None
        when no target was asked for.
    path : str
        The file, as given.
    format : str
        ``"csv"``, ``"parquet"`` or ``"npz"``.

    Examples
    --------
    >>> import pandas as pd
    >>> Table(features=pd.DataFrame({"a": [1, 2]}), target=None, path="data.csv", format="csv")
    Table(path='data.csv', format='csv', n_rows=2, features=['a'], target=None)
    """

    features: pd.DataFrame
    target: pd.Series | None
    path: str
    format: str

    def __repr__(self) -> str:
        target = None if self.target is None else self.target.name
        return (
            f"Table(path={self.path!r}, format={self.format!r}, n_rows={len(self.features)}, "
            f"features={list(self.features.columns)!r}, target={target!r})"
        )


def read_table(path: str | os.PathLike[str], *, target: str | None = None, keep_missing_target: bool = False) -> Table:
    """Read a CSV, Parquet or NPZ file into features and an optional target.

    The format follows the extension: ``.csv`` (:func:`pandas.read_csv`, which reads
    empty fields and the usual markers such as ``NA`` or ``n/a`` as missing),
    ``.parquet`` or ``.pq`` (:func:`pandas.read_parquet`), ``.npz``
    (:func:`numpy.load` with ``allow_pickle=False``). In an NPZ file the target is the
    array named ``target``; the features are the array ``X`` if there is one (its
    columns named ``x0``, ``x1``, ...; other arrays are then ignored), else every other
    array: a 1-D array is one column named after it, a 2-D array ``a`` of shape
    ``(n, k)`` gives columns ``a0`` ... ``a{k-1}``.

    Missing values in the features are kept (see :func:`drop_missing_rows` and
    :class:`netreg.tables.TablePreprocessor`); in the target they are an error, unless
    ``keep_missing_target`` keeps them for :func:`drop_missing_rows` to drop.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    target : str, optional
        Name of the target column (or NPZ array). None reads features only.
    keep_missing_target : bool, default=False
        Keep the rows whose target is missing (as NaN or None) instead of refusing them.

    Returns
    -------
    Table

    Raises
    ------
    DataError
        If the file is missing, a directory, unreadable, of an unknown extension, empty,
        has a header but no rows, cannot be parsed, has no column ``target``, or has
        infinite values in the target, or missing ones (without ``keep_missing_target``).

    Examples
    --------
    >>> import pathlib, shutil, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "data.csv").write_text("size,color,label\\n1.5,red,yes\\n2.0,,no\\n")
    >>> table = read_table(folder / "data.csv", target="label")
    >>> table.features
       size color
    0   1.5   red
    1   2.0   NaN
    >>> table.target.tolist()
    ['yes', 'no']
    >>> read_table(folder / "data.csv", target="lable")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: `.../data.csv`: no target column 'lable'; expected a column of that name. Did you mean 'label'? Columns: 'size', 'color', 'label'.
    >>> shutil.rmtree(folder)
    """
    if target is not None and not isinstance(target, str):
        raise invalid("target", "a column name (str) or None", target)
    name = os.fspath(path) if isinstance(path, str | os.PathLike) else None
    if not isinstance(name, str):
        raise invalid("path", "a str or os.PathLike", path)
    file_format = _readers.check_file(name)
    if file_format == "npz":
        features, target_values = _readers.read_npz(name, target)
    else:
        frame = _readers.read_csv(name) if file_format == "csv" else _readers.read_parquet(name)
        frame = frame.reset_index(drop=True)  # a pandas index stored in Parquet is not a feature
        _readers.check_names(name, [str(column) for column in frame.columns])
        _readers.check_has_rows(name, frame.columns, len(frame))
        features, target_values = _readers.split_target(name, frame, target)
    if target_values is not None:
        kind = "array" if file_format == "npz" else "column"
        _readers.check_target_values(name, target_values, kind, keep_missing=keep_missing_target)
    return Table(features=features, target=target_values, path=name, format=file_format)


def infer_task(target: pd.Series) -> str:
    """Return ``"classification"`` or ``"regression"`` for a target column.

    The rule: a target that is not numeric (text, categories) or is boolean is a
    classification target. A numeric target whose values are all integers (``3`` or
    ``3.0``) with at most 20 distinct values (:data:`MAX_CLASSES`) is a classification
    target too. Any other numeric target is a regression target. Missing values are
    ignored.

    Raises
    ------
    DataError
        If the target has no values.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_task(pd.Series(["cat", "dog"])), infer_task(pd.Series([0, 1, 1, 2]))
    ('classification', 'classification')
    >>> infer_task(pd.Series([0.5, 1.0])), infer_task(pd.Series(range(21)))
    ('regression', 'regression')
    """
    values = _check_series(target, "target").dropna()
    if len(values) == 0:
        raise bad_data(f"{_target_name(target)} has no values", "at least one")
    if values.dtype == object:
        values = values.infer_objects()  # an object column of numbers is numeric
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or dtype.kind not in "iufc":
        return "classification"  # text, categories and booleans (kind "b") are labels
    if dtype.kind == "c":
        return "regression"  # complex numbers are numbers, never integers
    numbers = values.to_numpy(dtype=np.float64)
    integral = dtype.kind in "iu" or bool(np.all(np.isfinite(numbers) & (numbers == np.floor(numbers))))
    if integral and len(np.unique(numbers)) <= MAX_CLASSES:
        return "classification"
    return "regression"


def check_classification_target(target: pd.Series) -> None:
    """Raise if a classification target has fewer than two classes.

    Raises
    ------
    DataError
        If the target has a single class (missing values are not a class).

    Examples
    --------
    >>> import pandas as pd
    >>> check_classification_target(pd.Series(["a", "b", "a"], name="label"))
    >>> check_classification_target(pd.Series(["a", "a"], name="label"))
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: target column 'label' has a single class ('a'); expected at least two classes to classify. Choose another target column, or add rows of other classes.
    """
    classes = pd.unique(_check_series(target, "target").dropna())
    if len(classes) == 0:
        raise bad_data(f"{_target_name(target)} has no values", "at least two classes")
    if len(classes) == 1:
        raise bad_data(
            f"{_target_name(target)} has a single class ({show(classes[0])})",
            "at least two classes to classify",
            "Choose another target column, or add rows of other classes.",
        )


def drop_missing_rows(
    features: pd.DataFrame, target: pd.Series | None = None, *, in_features: bool = True
) -> tuple[pd.DataFrame, pd.Series | None, list[int]]:
    """Drop the rows where the target or a feature is missing: NaN, None, or text that is blank or ``"nan"``.

    Kept rows keep their index labels.

    Parameters
    ----------
    features : pandas.DataFrame
        The feature columns.
    target : pandas.Series, optional
        The target, one value per row (:func:`read_table` with ``keep_missing_target=True``
        keeps its missing values).
    in_features : bool, default=True
        Whether a missing feature drops its row; False when the features are imputed
        (:class:`netreg.tables.TablePreprocessor` with ``impute``), so that only a missing
        target does.

    Returns
    -------
    features : pandas.DataFrame
        The complete rows.
    target : pandas.Series or None
        The target on the same rows (None if None was given).
    dropped : list of int
        Positions (counted from 0) of the dropped rows in the input.

    Examples
    --------
    >>> import pandas as pd
    >>> features = pd.DataFrame({"a": [1.0, None, 3.0, 4.0], "b": ["x", "y", " ", "z"]})
    >>> kept, target, dropped = drop_missing_rows(features, pd.Series([0, 1, 0, None]))
    >>> kept
         a  b
    0  1.0  x
    >>> target.tolist(), dropped
    ([0.0], [1, 2, 3])
    >>> drop_missing_rows(features, pd.Series([0, 1, 0, None]), in_features=False)[2]
    [3]
    """
    frame = check_frame(features)
    missing = missing_mask(frame).any(axis=1) if in_features else np.zeros(len(frame), dtype=bool)
    if target is not None:
        _check_series(target, "target")
        if len(target) != len(frame):
            raise bad_data(
                f"features with {len(frame)} rows and a target with {len(target)} rows", "one target value per row"
            )
        missing |= missing_mask(target.to_frame())[:, 0]
    keep = ~missing
    dropped = [int(position) for position in np.flatnonzero(missing)]
    return frame[keep], None if target is None else target[keep], dropped


def _check_series(target: object, name: str) -> pd.Series:
    """``target`` if it is a Series, else raise."""
    if not isinstance(target, pd.Series):
        raise bad_data(f"{name} is a {type(target).__name__}", "a pandas Series")
    return target


def _target_name(target: pd.Series) -> str:
    """``"target column 'y'"``, or ``"target"`` for a Series without a name."""
    return "target" if target.name is None else f"target column {show(target.name)}"
