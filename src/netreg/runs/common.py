"""What the runs share: the estimator's parameters of a command, the files of a sweep, the recipe of a model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.preprocessing import StandardScaler

from netreg._checks import check_seed
from netreg.callbacks import tracker_callbacks
from netreg.engine.hooks import check_callbacks
from netreg.estimators.params import CLASSIFIER_PARAMS
from netreg.exceptions import invalid
from netreg.io.run_folder import RESULTS_FILE, RunFolder
from netreg.runs.training_table import TrainingTable
from netreg.tables import fingerprints

__all__ = ["OWN_KEYWORDS", "make_estimator_params", "recipe", "write_run_files", "with_trackers"]

#: The estimator parameters a run takes as keywords of its own, not in ``estimator_params``.
OWN_KEYWORDS = ("alpha", "hidden_layer_sizes", "solver", "max_iter", "random_state")


def make_estimator_params(
    data: TrainingTable,
    *,
    hidden: Sequence[int],
    solver: str,
    max_iter: int,
    seed: int,
    standardize_target: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The parameters of the :class:`netreg.NetRegClassifier` or :class:`netreg.NetRegRegressor` a run trains.

    ``extra`` (a run's ``estimator_params``) holds any other parameter of the estimator by its name
    (``batch_size``, ``dropout``, ``penalty``, ``l1_ratio``, ``learning_rate_init``,
    ``early_stopping``, ``device``, a classifier's ``class_weight``, ...); the estimator checks
    their values when it fits.
    A regression target is standardized for training (``transformer=StandardScaler()``)
    unless ``standardize_target=False``.

    Raises
    ------
    InvalidParameterError
        If ``seed`` is not a valid seed (:func:`netreg._checks.check_seed`), or ``extra``
        names a parameter the estimators do not have, one the run takes as a keyword of its
        own (:data:`OWN_KEYWORDS`), or ``transformer``, or a ``class_weight`` for a regression.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from netreg.runs import load_training_table
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = path.write_text("x,y\\n1,0.5\\n2,1.5\\n3,2.5\\n")
    >>> params = make_estimator_params(
    ...     load_training_table(path, "y"), hidden=(8,), solver="adam", max_iter=50, seed=0, extra={"dropout": 0.1}
    ... )
    >>> params["dropout"], params["transformer"]
    (0.1, StandardScaler())
    """
    check_seed(seed)
    params: dict[str, Any] = {
        "hidden_layer_sizes": tuple(hidden),
        "solver": solver,
        "max_iter": max_iter,
        "random_state": seed,
    }
    allowed = [param.name for param in CLASSIFIER_PARAMS if param.name not in OWN_KEYWORDS]
    extra = dict(extra or {})
    if data.task == "regression" and extra.get("class_weight") is not None:
        raise invalid(
            "class_weight",
            "None for a regression target (it weighs the classes of a classification)",
            extra["class_weight"],
        )
    unknown = [name for name in extra if name not in allowed]
    if unknown:
        raise invalid(
            "estimator_params",
            f"a mapping of parameters of the estimator other than {', '.join(OWN_KEYWORDS)} (which have keywords "
            "of their own) and transformer (see `standardize_target`)",
            got=f"{unknown[0]!r}",
        )
    params.update(extra)
    if data.task == "regression" and standardize_target:
        # Far from unit scale the network barely leaves the mean (netreg.estimators.target_scale).
        params["transformer"] = StandardScaler()
    return params


def write_run_files(out: Path, result: Any, info: dict[str, Any]) -> dict[str, Path]:
    """Write ``run.json`` and ``results.csv`` for a finished (or partial) sweep.

    ``info`` is recorded in ``run.json`` beside the sweep's scoring, selection rule and
    chosen alpha: the data, the target, the task, the command, and for ``train`` and
    ``demo`` the held-out ``test`` scores (``{"rows": n, "<model>": {"<metric>": value}}``),
    which the report shows. ``run.json`` comes first: its mark says the folder is a run's
    (:meth:`netreg.io.RunFolder.check_writable`).
    """
    folder = RunFolder(out)
    run = {
        **info,
        "scoring": result.scoring,
        "selection": result.selection,
        "alpha": result.alpha,
        "threshold": result.threshold,
        "n_folds": result.n_folds,
        "missing": [list(key) for key in result.missing],
    }
    folder.write_run_json(run)
    frame = pd.DataFrame(result.cv_results)
    frame.insert(1, "chosen", frame.index == result.best_index)
    folder.write_text(RESULTS_FILE, frame.to_csv(index=False))
    return {"results": folder.results, "run": folder.run_json, "store": folder.store}


def recipe(data: TrainingTable, **settings: Any) -> str:
    """A digest of the data, its preprocessing and the settings of a command: what a model folder was made from.

    Rerunning a command with the same data and settings may replace its own model; any
    other model in the folder is refused (:func:`netreg.io.models.check_model_folder`).
    Estimator objects among the settings (a target transformer) count by their ``repr``;
    ``n_jobs`` (how many cores train, not what) does not count.
    """
    plain = {
        key: repr(value) if hasattr(value, "get_params") else value
        for key, value in settings.items()
        if key != "n_jobs"
    }
    plain["preprocessing"] = data.preprocessor.to_config()
    return fingerprints.fingerprint(plain, data.X, data.y)


def with_trackers(callback: Any, log: Sequence[tuple[str, str]]) -> list[Any]:
    """A run's callbacks: ``callback`` (one, a list or None) and the trackers of ``log``.

    ``log`` holds ``(tracker, target)`` pairs, ``("tensorboard", folder)`` or ``("mlflow",
    tracking URI)`` (:func:`netreg.callbacks.tracker_callbacks`), made here, before the run
    trains, so that a missing library is refused first.

    Examples
    --------
    >>> with_trackers(None, [])
    []
    """
    return [*check_callbacks(callback, "callback"), *tracker_callbacks(log)]
