"""``netreg predict``: a saved model, its preprocessing included, applied to a data file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from netreg.exceptions import DataError, DataWarning, bad_data, warn
from netreg.io.models import MODEL_FILE, load_model
from netreg.io.run_folder import RunFolder
from netreg.message_text import show
from netreg.runs.training_table import PREDICTION_COLUMN, PROBABILITY_PREFIX
from netreg.tables.columns import missing_mask
from netreg.tables.preprocessing import TablePreprocessor
from netreg.tables.tables import read_table

__all__ = ["ROW_COLUMN", "Predictions", "predict_table"]

#: The column that labels the predictions by the rows' positions when the file lacks the id column.
ROW_COLUMN = "row"


@dataclass
class Predictions:
    """What ``predict_table`` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per row predicted, in file order: the id column first (if the model was
        trained with ``id_column``; if the file lacks it, the rows' positions in the file, in
        column ``row``), then ``prediction`` and, for a classifier, one ``proba_{class}``
        column per class.
    skipped_rows : list of int
        Positions in the file (counted from 0 at the first row of data) of the rows left
        out by ``drop_missing=True``.
    """

    table: pd.DataFrame
    skipped_rows: list[int] = field(default_factory=list)


def predict_table(
    model_dir: str | os.PathLike, data_path: str | os.PathLike, *, drop_missing: bool = False
) -> Predictions:
    """Predictions (and class probabilities for classifiers) for the rows of a data file.

    ``model_dir`` is a model folder, or the run folder ``train`` or ``tune`` wrote (its
    ``model/``). The saved preprocessing is applied as it was at training time: the
    target column, if the file has it, and the dropped columns are ignored; a file with
    other feature columns is refused. A model trained with ``id_column`` labels the
    predictions with that column of the file; a file without it (an id is not needed to
    predict) gets its rows' positions instead, with a :class:`netreg.DataWarning`.

    Missing values are filled in as the model's preprocessing filled them in at training
    (``impute``). A model trained without imputation refuses a row with a missing value,
    naming it; with ``drop_missing=True`` such rows are skipped instead (and listed in
    :attr:`Predictions.skipped_rows`).

    Raises
    ------
    DataError
        If the file cannot be read, has other feature columns, or values the
        preprocessing refuses; the message starts with the file.
    ModelFormatError
        If the model folder cannot be loaded.
    """
    folder = Path(model_dir)
    if RunFolder(folder).model.is_dir() and not (folder / MODEL_FILE).exists():
        folder = RunFolder(folder).model
    saved = load_model(folder)
    preprocessor = saved.preprocessor
    if preprocessor is None:
        raise bad_data(
            f"the model in {str(model_dir)!r} was not trained from a table",
            "a model that `netreg train` or `netreg tune` saved",
            "Load it with netreg.io.models.load_model.",
        )
    features = read_table(data_path).features
    if saved.target is not None and saved.target in features.columns:
        features = features.drop(columns=[saved.target])
    ids = _row_labels(preprocessor, features, data_path)
    skipped: list[int] = []
    if drop_missing and preprocessor.impute is None:
        used = [name for name in preprocessor.columns_ if name in features.columns]
        missing = missing_mask(features[used]).any(axis=1)
        skipped = [int(position) for position in features.index[missing]]
        features = features[~missing]
        ids = None if ids is None else ids[~missing]
        if len(features) == 0:
            raise bad_data(
                f"`{data_path}`: every row has a missing value, so `drop_missing=True` leaves nothing",
                "rows to predict",
            )
    try:
        X = preprocessor.transform(features)
    except DataError as error:
        raise DataError(f"`{data_path}`: {error}") from None
    estimator = saved.estimator
    table = pd.DataFrame({PREDICTION_COLUMN: estimator.predict(X)})
    if hasattr(estimator, "predict_proba") and saved.meta["task"] in ("binary", "multiclass"):
        for label, column in zip(estimator.classes_, estimator.predict_proba(X).T, strict=True):
            table[f"{PROBABILITY_PREFIX}{label}"] = column
    if ids is not None:
        table.insert(0, str(ids.name), ids.to_numpy())
    return Predictions(table, skipped)


def _row_labels(preprocessor: TablePreprocessor, features: pd.DataFrame, data_path: Any) -> pd.Series | None:
    """The id column that labels the predictions; without it in the file, the rows' positions, with a note.

    An id labels predictions; it takes no part in making them, so new data need not have it.
    """
    name = preprocessor.id_column
    if name is None or name in features.columns:
        return preprocessor.row_ids(features)
    warn(
        f"`{data_path}` has no id column {show(name)} (`id_column={name!r}` at training): the predictions are "
        f"labeled by the rows' positions in column {ROW_COLUMN!r} instead (counting from 0, header excluded).",
        DataWarning,
    )
    return pd.Series(features.index, name=ROW_COLUMN)
