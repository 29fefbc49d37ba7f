"""``netreg train``: rows held out for a test score, a model trained on the rest (alpha chosen
by cross-validation when given a grid), its evidence and the model written."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import log_loss, mean_squared_error, root_mean_squared_error
from sklearn.model_selection import train_test_split

from netreg.estimators import NetRegClassifier, NetRegRegressor
from netreg.exceptions import DataError, DataWarning, invalid
from netreg.grid import DEFAULT_N_ALPHAS
from netreg.io.models import check_model_folder, save_model
from netreg.io.run_folder import RunFolder
from netreg.runs.common import make_estimator_params, recipe, with_trackers, write_run_files
from netreg.runs.training_table import TrainingTable, ValidationTable, fit_table, read_validation_table
from netreg.runs.tune import cv_estimator, sweep_settings
from netreg.tables import fingerprints
from netreg.tables.preprocessing import TablePreprocessor

__all__ = ["held_out_scores", "train_table"]


def held_out_scores(estimator: Any, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """A fitted model's scores on rows it did not see: ``accuracy`` and ``log_loss`` for a
    classifier (``inf`` if a row's class was not among the training rows), ``r2`` and
    ``mean_squared_error`` and ``root_mean_squared_error`` (of the predictions in the target's
    units: the RMSE in those units, the MSE in their square) for a regressor.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> model = NetRegClassifier((8,), solver="lbfgs", random_state=0).fit(X[::2], y[::2])
    >>> sorted(held_out_scores(model, X[1::2], y[1::2]))
    ['accuracy', 'log_loss']
    """
    if hasattr(estimator, "predict_proba"):
        # A class the model never saw has probability 0: its rows' log-loss is infinite.
        unseen = not np.isin(y, estimator.classes_).all()
        loss = math.inf if unseen else log_loss(y, estimator.predict_proba(X), labels=estimator.classes_)
        return {"accuracy": float(estimator.score(X, y)), "log_loss": float(loss)}
    predictions = estimator.predict(X)
    return {
        "r2": float(estimator.score(X, y)),
        "mean_squared_error": float(mean_squared_error(y, predictions)),
        "root_mean_squared_error": float(root_mean_squared_error(y, predictions)),
    }


def train_table(
    data: TrainingTable,
    out_dir: str | os.PathLike,
    *,
    alpha: float | str | None = None,
    alphas: int | Sequence[float] | None = None,
    cv: int = 5,
    selection: str = "min",
    scoring: str | None = None,
    search: str = "grid",
    factor: int = 3,
    min_epochs: int | None = None,
    refit: bool | str = True,
    hidden: Sequence[int] = (100,),
    solver: str = "adam",
    max_iter: int = 200,
    test_size: float = 0.2,
    seed: int = 0,
    estimator_params: Mapping[str, Any] | None = None,
    standardize_target: bool = True,
    force: bool = False,
    callback: Any = None,
    log: Sequence[tuple[str, str]] = (),
    validation: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Hold out ``test_size`` of the rows, train on the rest, score the held-out rows, save the model.

    With ``alpha`` one model is trained (``"auto"``: alpha learned in that fit from the Laplace
    evidence, per layer: ``alpha`` is then ``{parameter name: alpha}``, and ``log_evidence`` and
    ``alpha_history`` are returned too). Otherwise alpha is chosen on the training rows from
    ``alphas`` (default: the data-scaled grid of :data:`~netreg.grid.DEFAULT_N_ALPHAS` alphas) as
    :func:`~netreg.runs.tune_table` chooses it, and the run leaves the same files (``sweep.sqlite``,
    resumed by a rerun, ``results.csv``, ``run.json`` with the held-out ``test`` scores). The
    other parameters are :func:`~netreg.runs.tune_table`'s.

    ``validation`` is a file of your own validation rows for the one model of ``alpha`` (the
    columns of ``data``'s file, target included), encoded by the preprocessing fitted on the
    training rows and given to ``fit`` as ``X_val``, ``y_val``: with
    ``estimator_params={"early_stopping": True}`` the fit stops on it; otherwise its score is
    recorded each epoch. The saved model is the one scored: trained on the rows not held out.

    Returns
    -------
    dict
        ``alpha``, ``test`` (:func:`held_out_scores`), ``test_score`` and ``metric``
        (accuracy or R^2), ``n_train``, ``n_test``, ``model``; with a grid also ``sweep``,
        ``cv_results``, ``best_index``, ``scoring``, ``selection`` and ``paths``; with
        ``validation`` also ``validation``: its ``rows`` and the model's ``best_validation_score``
        and ``validation_scores`` (per epoch), and ``dropped_rows`` (the file's rows
        dropped for a missing value when ``data`` was read with ``drop_missing``: its rows are
        read as ``data``'s were).
    """
    if validation is not None and alpha is None:
        raise invalid(
            "validation",
            "None when alpha is chosen from a grid (a grid's alphas are compared on cross-validation folds, its "
            "validation sets)",
            str(validation),
            "Pass `alpha` (a number, or 'auto') to train one model on the file's rows with your validation rows.",
        )
    if alpha is None and alphas is None:
        alphas = DEFAULT_N_ALPHAS
    out = RunFolder(out_dir)
    out.check_writable()
    callback = with_trackers(callback, log)
    params = make_estimator_params(
        data,
        hidden=hidden,
        solver=solver,
        max_iter=max_iter,
        seed=seed,
        standardize_target=standardize_target,
        extra=estimator_params,
    )
    sweep = {
        "alphas": alphas,
        "cv": cv,
        "selection": selection,
        "scoring": scoring,
        "search": search,
        "factor": factor,
        "min_epochs": min_epochs,
        "refit": refit,
    }
    settings = sweep_settings(**sweep) if alphas is not None else {"alphas": None, "cv": cv}
    held: ValidationTable | None = None
    if validation is not None:
        held = read_validation_table(validation, data)
        # Recorded only when given (earlier runs keep their recipe): another validation file is another model.
        settings["validation"] = fingerprints.fingerprint(held.features, held.y)
    fingerprint = recipe(data, command="train", alpha=alpha, test_size=test_size, **settings, **params)
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
    preprocessor, X_train, X_test = _preprocess_split(data, train, test)
    given_val = {} if held is None else {"X_val": _encode_validation(preprocessor, held), "y_val": held.y}
    result: dict[str, Any] = {}
    if alphas is not None:
        model = cv_estimator(data, params, **sweep, store=out.store)
        model.fit(X_train, data.y[train], callback=callback)
        chosen, fitted = float(model.alpha_), model.best_estimator_
    else:
        cls = NetRegClassifier if classifier else NetRegRegressor
        given = alpha if alpha == "auto" else float(alpha)
        fitted = cls(alpha=given, **params).fit(X_train, data.y[train], callback=callback, **given_val)
        chosen = fitted.alpha_ if given == "auto" else given
        if given == "auto":
            result.update(log_evidence=fitted.log_evidence_, alpha_history=fitted.alpha_history_)
        if held is not None:
            result["validation"] = {
                "rows": len(held.y),
                "dropped_rows": held.dropped_rows,
                "best_validation_score": fitted.best_validation_score_,
                "validation_scores": fitted.validation_scores_,
            }
    scores = held_out_scores(fitted, X_test, data.y[test])
    metric, main = ("accuracy", scores["accuracy"]) if classifier else ("R^2", scores["r2"])
    if alphas is not None:
        test_record = {"rows": len(test), f"alpha = {chosen:.3g} (chosen), trained on {len(train)} rows": scores}
        info = {"data": data.path, "target": data.target_name, "task": data.task, "command": "train"}
        result["paths"] = write_run_files(out.path, model.sweep_, {**info, "test": test_record})
        result.update(
            sweep=model.sweep_,
            cv_results=model.cv_results_,
            best_index=model.best_index_,
            scoring=model.scoring_,
            selection=selection,
            missing=model.sweep_.missing,
        )
    model_path = save_model(
        fitted,
        out.model,
        preprocessor=preprocessor,
        target=data.target_name,
        extra={"test_score": main, "test_metric": metric, "test": scores, "test_size": test_size, "data": data.path},
        fingerprint=fingerprint,
        force=force,
    )
    return {
        **result,
        "alpha": chosen,
        "test": scores,
        "test_score": main,
        "metric": metric,
        "n_train": len(train),
        "n_test": len(test),
        "model": model_path,
    }


def _preprocess_split(
    data: TrainingTable, train: np.ndarray, test: np.ndarray
) -> tuple[TablePreprocessor, np.ndarray, np.ndarray]:
    """The table's preprocessing fitted on the training rows alone, and both sets of rows through it.

    As a scikit-learn ``Pipeline`` inside the split: the held-out rows take no part in the
    means, scales, fills, categories or the columns' kinds, so their score is that of new rows.
    """
    preprocessor = clone(data.preprocessor)
    with warnings.catch_warnings():
        # The columns were judged on the whole file when it was read, and the notes given then.
        warnings.simplefilter("ignore", DataWarning)
        X_train = fit_table(preprocessor, data.features.iloc[train], data.path)
    try:
        X_test = preprocessor.transform(data.features.iloc[test])
    except DataError as error:
        raise DataError(f"`{data.path}`: the held-out rows: {error}") from None
    return preprocessor, X_train, X_test


def _encode_validation(preprocessor: TablePreprocessor, held: ValidationTable) -> np.ndarray:
    """The validation rows through the preprocessing fitted on the training rows, as the held-out rows go."""
    try:
        return preprocessor.transform(held.features)
    except DataError as error:
        raise DataError(f"`{held.path}`: {error}") from None


def _can_stratify(y: np.ndarray, test_size: float) -> bool:
    _, counts = np.unique(y, return_counts=True)
    return counts.min() >= 2 and len(y) * test_size >= len(counts)
