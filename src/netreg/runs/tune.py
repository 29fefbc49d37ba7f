"""``netreg tune``: alpha chosen by cross-validation on every row, refit, the run folder written."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from netreg.grid import DEFAULT_N_ALPHAS
from netreg.io.models import check_model_folder, save_model
from netreg.io.run_folder import RunFolder
from netreg.report.learned import learned_record
from netreg.runs.common import make_estimator_params, recipe, with_trackers, write_run_files
from netreg.runs.training_table import TrainingTable
from netreg.search.cv_estimators import NetRegClassifierCV, NetRegRegressorCV

__all__ = ["sweep_settings", "cv_estimator", "tune_table"]


def sweep_settings(**given: Any) -> dict[str, Any]:
    """The sweep's settings as recorded (a run's recipe): ``factor`` and ``min_epochs`` only with halving.

    Examples
    --------
    >>> sweep_settings(alphas=8, cv=5, selection="min", scoring=None, search="grid", factor=3, min_epochs=None)
    {'alphas': 8, 'cv': 5, 'selection': 'min', 'scoring': None, 'search': 'grid'}
    """
    settings = {key: given[key] for key in ("alphas", "cv", "selection", "scoring", "search")}
    if given.get("refit", True) is not True:
        settings["refit"] = given["refit"]  # recorded only when not the default: earlier runs keep their recipe
    if given["search"] == "halving":
        settings.update(factor=given["factor"], min_epochs=given["min_epochs"])
    return settings


def cv_estimator(data: TrainingTable, params: Mapping[str, Any], **sweep: Any) -> Any:
    """The :class:`netreg.NetRegClassifierCV` or :class:`netreg.NetRegRegressorCV` of a run's data.

    ``sweep`` holds the CV estimator's own parameters (``alphas``, ``cv``, ``selection``,
    ``scoring``, ``search``, ``factor``, ``min_epochs``, ``store``, ``backend``, ``chunk_size``).
    """
    cls = NetRegClassifierCV if data.task == "classification" else NetRegRegressorCV
    return cls(**sweep, **params)


def tune_table(
    data: TrainingTable,
    out_dir: str | os.PathLike,
    *,
    hidden: Sequence[int] = (100,),
    alphas: int | Sequence[float] = DEFAULT_N_ALPHAS,
    cv: int = 5,
    selection: str = "min",
    scoring: str | None = None,
    search: str = "grid",
    factor: int = 3,
    min_epochs: int | None = None,
    refit: bool | str = True,
    solver: str = "adam",
    max_iter: int = 200,
    seed: int = 0,
    estimator_params: Mapping[str, Any] | None = None,
    standardize_target: bool = True,
    backend: Any = "local",
    chunk_size: int | None = None,
    force: bool = False,
    callback: Any = None,
    log: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Sweep alpha over ``cv`` folds, refit with the chosen alpha, write the run folder.

    The sweep's store is ``out_dir/sweep.sqlite``: rerunning the same command resumes it.
    ``alphas``, ``cv``, ``selection``, ``scoring``, ``search``, ``factor`` and ``min_epochs``
    and ``refit`` (``"folds"``: the chosen alpha's fold models are the saved model) are
    those of :class:`netreg.NetRegClassifierCV` (successive halving; alpha by the
    evidence); ``hidden`` (``hidden_layer_sizes``), ``solver``, ``max_iter`` and ``seed``
    (``random_state``) those of the network, and ``estimator_params`` any other parameter
    of :class:`netreg.NetRegClassifier` or :class:`netreg.NetRegRegressor` by its name
    (``{"batch_size": 32, "dropout": 0.1, "penalty": "l1", "learning_rate_init": 0.01,
    "early_stopping": True, "device": "cpu"}``). A regression target is standardized for
    training (``transformer=StandardScaler()``; predictions come back in its units) unless
    ``standardize_target=False``. ``log`` adds trackers, ``[("tensorboard", folder),
    ("mlflow", tracking_uri)]`` (:mod:`netreg.callbacks`), to ``callback``.

    Returns
    -------
    dict
        ``sweep`` (the :class:`~netreg.tuning.SweepResult`), ``cv_results``, ``alpha``,
        ``best_index``, ``scoring``, ``selection``, ``missing`` and the ``paths`` written; with
        ``search="hybrid"`` also ``learned``, what its ``alpha="auto"`` fit learned
        (:func:`netreg.report.learned.learned_record`).
    """
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
    search_cv = cv_estimator(data, params, **sweep, store=out.store, backend=backend, chunk_size=chunk_size)
    fingerprint = recipe(data, command="tune", **sweep_settings(**sweep), **params)
    check_model_folder(out.model, fingerprint, force=force)
    search_cv.fit(data.X, data.y, callback=callback)
    info = {"data": data.path, "target": data.target_name, "task": data.task, "command": "tune"}
    learned = learned_record(search_cv)
    if learned is not None:  # search="hybrid": the report draws what the one fit learned
        info["learned"] = learned
    paths = write_run_files(out.path, search_cv.sweep_, info)
    paths["model"] = save_model(
        search_cv.best_estimator_,
        out.model,
        preprocessor=data.preprocessor,
        target=data.target_name,
        extra={"alpha": search_cv.alpha_, "cv_score": search_cv.best_score_, "scoring": search_cv.scoring_},
        fingerprint=fingerprint,
        force=force,
    )
    return {
        **({"learned": learned} if learned is not None else {}),
        "sweep": search_cv.sweep_,
        "cv_results": search_cv.cv_results_,
        "alpha": search_cv.alpha_,
        "best_index": search_cv.best_index_,
        "scoring": search_cv.scoring_,
        "selection": selection,
        "missing": search_cv.sweep_.missing,
        "paths": paths,
    }
