"""Runs: from a data file to a regularized model, a results table and a report, in a folder.

What ``netreg tune``, ``netreg train``, ``netreg predict`` and ``netreg demo`` do, as library
functions: they return plain data and write files, and report progress through callbacks;
the command line only parses arguments and renders what they return.

A *run folder* holds the results store, ``results.csv``, ``run.json``, ``model/`` and the
report (:class:`netreg.io.RunFolder` names them).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from netreg._checks import check_seed
from netreg.estimators import NetRegClassifier, NetRegRegressor
from netreg.exceptions import DataError, bad_data, invalid
from netreg.io import fingerprints
from netreg.io.models import MODEL_FILE, check_model_folder, load_model, save_model
from netreg.io.preprocessing import TablePreprocessor
from netreg.io.run_folder import RESULTS_FILE, RUN_FILE, RunFolder
from netreg.io.tables import check_classification_target, drop_missing_rows, infer_task, read_table
from netreg.tuning.estimators import NetRegClassifierCV, NetRegRegressorCV

__all__ = ["TrainingTable", "load_training_table", "tune_table", "train_table", "predict_table", "write_run_files"]

TASKS = ("auto", "classification", "regression")


@dataclass
class TrainingTable:
    """A data file read for training: the feature matrix, the target, and how X was made."""

    path: str
    target_name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    preprocessor: TablePreprocessor
    feature_names: list[str]
    dropped_rows: list[int]


def load_training_table(
    path: str | os.PathLike, target: str, *, task: str = "auto", standardize: bool = True, drop_missing: bool = False
) -> TrainingTable:
    """Read a CSV, Parquet or NPZ file and turn it into ``X`` and ``y`` for training.

    Numeric columns are standardized (unless ``standardize=False``), text columns one-hot
    encoded; ``task="auto"`` infers classification or regression from the target
    (:func:`netreg.io.infer_task`). Rows with missing values are an error that names
    them, or are dropped with ``drop_missing=True``.

    Raises
    ------
    DataError
        For any problem with the file or its contents; the message starts with the file.
    """
    if task not in TASKS:
        raise invalid("task", f"one of {', '.join(map(repr, TASKS))}", task)
    table = read_table(path, target=target)
    features, labels, dropped = table.features, table.target, []
    if drop_missing:
        features, labels, dropped = drop_missing_rows(features, labels)
        if len(features) == 0:
            raise bad_data(
                f"`{path}`: every row has a missing value, so `drop_missing=True` leaves nothing",
                "rows to train on",
            )
    kind = infer_task(labels) if task == "auto" else task
    if kind == "classification":
        try:
            check_classification_target(labels)
        except DataError as error:
            raise DataError(f"`{path}`: {error}") from None
    elif not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        raise bad_data(
            f"`{path}`: target {target!r} is not numeric (dtype {labels.dtype})",
            "numbers for a regression target",
            "Pass `task='classification'` to classify it.",
        )
    preprocessor = TablePreprocessor(standardize=standardize)
    try:
        X = preprocessor.fit_transform(features)
    except DataError as error:
        raise DataError(f"`{path}`: {error}") from None
    y = labels.to_numpy()
    if kind == "regression":
        y = y.astype(np.float64)
    else:
        y = _class_labels(y)
    return TrainingTable(str(path), target, X, y, kind, preprocessor, list(preprocessor.feature_names_out_), dropped)


def _estimator_params(
    data: TrainingTable,
    *,
    hidden: Sequence[int],
    solver: str,
    max_iter: int,
    seed: int,
    standardize_target: bool = True,
    penalty: str = "l2",
    dropout: float = 0.0,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "hidden_layer_sizes": tuple(hidden),
        "solver": solver,
        "max_iter": max_iter,
        "random_state": seed,
        "penalty": penalty,
        "dropout": dropout,
    }
    if data.task == "regression" and standardize_target:
        # A target in the hundreds (or thousands) is far from the unit scale the default
        # learning rate and initialization are made for: trained as it is, the network
        # barely leaves the mean in 200 epochs (diabetes: held-out R^2 -1.5 against 0.4).
        params["transformer"] = StandardScaler()
    return params


def tune_table(
    data: TrainingTable,
    out_dir: str | os.PathLike,
    *,
    hidden: Sequence[int] = (100,),
    alphas: int | Sequence[float] = 16,
    cv: int = 5,
    selection: str = "min",
    scoring: str | None = None,
    search: str = "grid",
    factor: int = 3,
    min_epochs: int | None = None,
    solver: str = "adam",
    max_iter: int = 200,
    seed: int = 0,
    standardize_target: bool = True,
    backend: Any = "local",
    chunk_size: int | None = None,
    force: bool = False,
    callback: Any = None,
) -> dict[str, Any]:
    """Sweep alpha over ``cv`` folds, refit with the chosen alpha, write the run folder.

    The sweep's store is ``out_dir/sweep.sqlite``: rerunning the same command resumes it.
    A regression target is standardized for training (``transformer=StandardScaler()``;
    predictions come back in its units) unless ``standardize_target=False``. ``search``,
    ``factor``, ``min_epochs`` and ``selection`` are those of
    :class:`netreg.NetRegClassifierCV` (successive halving; alpha by the evidence).

    Returns
    -------
    dict
        ``sweep`` (the :class:`~netreg.tuning.SweepResult`), ``cv_results``, ``alpha``,
        ``best_index``, ``scoring``, ``selection`` and the paths written.
    """
    out = RunFolder(out_dir)
    out.check_writable()
    check_seed(seed)
    params = _estimator_params(
        data, hidden=hidden, solver=solver, max_iter=max_iter, seed=seed, standardize_target=standardize_target
    )
    cls = NetRegClassifierCV if data.task == "classification" else NetRegRegressorCV
    search = cls(
        alphas=alphas,
        cv=cv,
        selection=selection,
        scoring=scoring,
        search=search,
        factor=factor,
        min_epochs=min_epochs,
        store=out.store,
        backend=backend,
        chunk_size=chunk_size,
        **params,
    )
    sweep = {"alphas": alphas, "cv": cv, "selection": selection, "scoring": scoring, "search": search}
    if search == "halving":
        sweep.update(factor=factor, min_epochs=min_epochs)
    fingerprint = recipe(data, command="tune", **sweep, **params)
    check_model_folder(out.model, fingerprint, force=force)
    search.fit(data.X, data.y, callback=callback)
    paths = write_run_files(
        out.path,
        search.sweep_,
        {"data": data.path, "target": data.target_name, "task": data.task, "command": "tune"},
    )
    paths["model"] = save_model(
        search.best_estimator_,
        out.model,
        preprocessor=data.preprocessor,
        target=data.target_name,
        extra={"alpha": search.alpha_, "cv_score": search.best_score_, "scoring": search.scoring_},
        fingerprint=fingerprint,
        force=force,
    )
    return {
        "sweep": search.sweep_,
        "cv_results": search.cv_results_,
        "alpha": search.alpha_,
        "best_index": search.best_index_,
        "scoring": search.scoring_,
        "selection": selection,
        "missing": search.sweep_.missing,
        "paths": paths,
    }


def train_table(
    data: TrainingTable,
    out_dir: str | os.PathLike,
    *,
    alpha: float | None = None,
    alphas: int | Sequence[float] | None = None,
    hidden: Sequence[int] = (100,),
    solver: str = "adam",
    max_iter: int = 200,
    cv: int = 5,
    test_size: float = 0.2,
    seed: int = 0,
    standardize_target: bool = True,
    force: bool = False,
    callback: Any = None,
) -> dict[str, Any]:
    """Hold out ``test_size`` of the rows, train on the rest (tuning alpha when given a grid),
    score the held-out rows, save the model to ``out_dir/model``.

    The saved model is the one that was scored: trained on the rows not held out. A
    regression target is standardized for training as in :func:`tune_table`.
    """
    from sklearn.model_selection import train_test_split

    out = RunFolder(out_dir)
    out.check_writable()
    check_seed(seed)
    params = _estimator_params(
        data, hidden=hidden, solver=solver, max_iter=max_iter, seed=seed, standardize_target=standardize_target
    )
    fingerprint = recipe(data, command="train", alpha=alpha, alphas=alphas, cv=cv, test_size=test_size, **params)
    check_model_folder(out.model, fingerprint, force=force)
    classifier = data.task == "classification"
    n_test = math.ceil(test_size * len(data.y))
    if len(data.y) - n_test < 2:
        raise DataError(
            f"`{data.path}`: {len(data.y)} rows are too few to hold out {test_size:.0%} for a test score and train "
            "on the rest; expected at least 2 rows left for training."
        )
    stratify = data.y if classifier and _can_stratify(data.y, test_size) else None
    train, test = train_test_split(np.arange(len(data.y)), test_size=test_size, random_state=seed, stratify=stratify)
    if alphas is not None:
        cls = NetRegClassifierCV if classifier else NetRegRegressorCV
        model = cls(alphas=alphas, cv=cv, **params).fit(data.X[train], data.y[train], callback=callback)
        chosen = float(model.alpha_)
        fitted = model.best_estimator_
    else:
        cls = NetRegClassifier if classifier else NetRegRegressor
        chosen = 0.0001 if alpha is None else float(alpha)
        fitted = cls(alpha=chosen, **params).fit(data.X[train], data.y[train], callback=callback)
    score = float(fitted.score(data.X[test], data.y[test]))
    metric = "accuracy" if classifier else "R^2"
    model_path = save_model(
        fitted,
        out.model,
        preprocessor=data.preprocessor,
        target=data.target_name,
        extra={"test_score": score, "test_metric": metric, "test_size": test_size, "data": data.path},
        fingerprint=fingerprint,
        force=force,
    )
    return {
        "alpha": chosen,
        "test_score": score,
        "metric": metric,
        "n_train": len(train),
        "n_test": len(test),
        "model": model_path,
    }


def predict_table(model_dir: str | os.PathLike, data_path: str | os.PathLike) -> pd.DataFrame:
    """Predictions (and class probabilities for classifiers) for every row of a data file.

    The target column, if the file has it, is ignored. The saved preprocessing is applied
    as it was at training time; a file with other feature columns is refused. ``model_dir``
    is a model folder, or the run folder ``train`` or ``tune`` wrote (its ``model/``).
    """
    folder = Path(model_dir)
    if RunFolder(folder).model.is_dir() and not (folder / MODEL_FILE).exists():
        folder = RunFolder(folder).model
    saved = load_model(folder)
    table = read_table(data_path)
    features = table.features
    if saved.target is not None and saved.target in features.columns:
        features = features.drop(columns=[saved.target])
    if saved.preprocessor is None:
        raise bad_data(
            f"the model in {str(model_dir)!r} was not trained from a table",
            "a model that `netreg train` or `netreg tune` saved",
            "Load it with netreg.io.models.load_model.",
        )
    try:
        X = saved.preprocessor.transform(features)
    except DataError as error:
        raise DataError(f"`{data_path}`: {error}") from None
    estimator = saved.estimator
    predictions = pd.DataFrame({"prediction": estimator.predict(X)})
    if hasattr(estimator, "predict_proba") and saved.meta["task"] in ("binary", "multiclass"):
        probabilities = estimator.predict_proba(X)
        for label, column in zip(estimator.classes_, probabilities.T):
            predictions[f"proba_{label}"] = column
    return predictions


def write_run_files(out: Path, result: Any, info: dict[str, Any]) -> dict[str, Path]:
    """Write ``results.csv`` and ``run.json`` for a finished (or partial) sweep."""
    folder = RunFolder(out)
    frame = pd.DataFrame(result.cv_results)
    frame.insert(1, "chosen", frame.index == result.best_index)
    folder.write_text(RESULTS_FILE, frame.to_csv(index=False))
    run = {
        **info,
        "scoring": result.scoring,
        "selection": result.selection,
        "alpha": result.alpha,
        "threshold": result.threshold,
        "n_folds": result.n_folds,
        "missing": [list(key) for key in result.missing],
    }
    folder.write_text(RUN_FILE, json.dumps(run, indent=2, default=str))
    return {"results": folder.results, "run": folder.run_json, "store": folder.store}


def recipe(data: TrainingTable, **settings: Any) -> str:
    """A digest of the data and the settings of a command: what a model folder was made from.

    Rerunning a command with the same data and settings may replace its own model; any
    other model in the folder is refused (:func:`netreg.io.models.check_model_folder`).
    Estimator objects among the settings (a target transformer) count by their ``repr``.
    """
    plain = {key: repr(value) if hasattr(value, "get_params") else value for key, value in settings.items()}
    return fingerprints.fingerprint(plain, data.X, data.y)


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


def _can_stratify(y: np.ndarray, test_size: float) -> bool:
    _, counts = np.unique(y, return_counts=True)
    return counts.min() >= 2 and len(y) * test_size >= len(counts)
