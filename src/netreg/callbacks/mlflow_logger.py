"""A sweep in MLflow: a run per sweep, a nested run per alpha with its curves, the chosen model."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netreg.callbacks._common import epoch_scalars, require
from netreg.exceptions import invalid
from netreg.io.models import save_model
from netreg.tuning.records import MemberRecord
from netreg.tuning.sweep_hooks import SweepCallback
from netreg.tuning.sweep_result import SweepResult

__all__ = ["MLflowCallback"]

#: MLflow's limits: values of a parameter, metrics of one ``log_batch``.
_MAX_PARAM_CHARS, _MAX_BATCH = 6000, 1000


class MLflowCallback(SweepCallback):
    """Log a CV estimator's sweep to MLflow (through ``MlflowClient``, not MLflow's active run).

    Given to a CV estimator's ``fit(callback=...)``, it makes:

    - a run for the sweep (``run_name``), with the estimator's parameters
      (``get_params()``, each as text), ``cv_results_`` as the artifact ``cv_results.csv``,
      the metrics ``alpha`` (the chosen one) and ``best_score`` (``best_score_``), and the
      chosen model (``best_estimator_``, when ``refit``) as the artifact folder ``model``,
      written by :func:`netreg.io.save_model` (read it back with :func:`netreg.io.load_model`);
    - a nested run per alpha (tagged ``mlflow.parentRunId``, named ``alpha=<value>``) with
      the parameter ``alpha``, each fold's per-epoch curves as metrics whose step is the
      epoch (``fold_<k>/train_loss``, ``fold_<k>/val_score``,
      ``fold_<k>/weight_norm/<parameter>``, ...; :mod:`netreg.history`) and the alpha's
      ``mean_test_score`` and ``std_test_score``.

    Members are logged when kept (on the driver, so whatever the backend); the members a
    resumed sweep found in its store, when it ends.
    Given to a plain estimator's ``fit``, it makes one run with the curves (no model).

    Parameters
    ----------
    tracking_uri : str, optional
        Where MLflow writes (``http://...``, ``sqlite:///mlflow.db``, ``file:/path``);
        None: MLflow's default (``MLFLOW_TRACKING_URI``, else ``./mlruns``).
    experiment_name : str, default="netreg"
        Made if missing.
    run_name : str, optional
        The name of the sweep's run (MLflow makes one up without it).

    Raises
    ------
    MissingDependencyError
        If MLflow is not installed (``pip install "netreg[mlflow]"``).
    InvalidParameterError
        If a parameter is not text, or MLflow refuses ``tracking_uri``.

    Examples
    --------
    With a tracking server: ``NetRegClassifierCV().fit(X, y,
    callback=MLflowCallback("http://localhost:5000", run_name="digits"))``. MLflow 3 refuses
    a ``file:`` store unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set (its message says so).

    >>> MLflowCallback(5000)
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `tracking_uri` must be text or None. Got tracking_uri=5000.
    """

    def __init__(
        self, tracking_uri: str | None = None, *, experiment_name: str = "netreg", run_name: str | None = None
    ) -> None:
        for name, value in (("tracking_uri", tracking_uri), ("run_name", run_name)):
            if value is not None and not isinstance(value, str):
                raise invalid(name, "text or None", value)
        if not isinstance(experiment_name, str) or not experiment_name:
            raise invalid("experiment_name", "non-empty text", experiment_name)
        tracking = require("mlflow.tracking", what="MLflowCallback", package="MLflow", extra="mlflow")
        self._entities = require("mlflow.entities", what="MLflowCallback", package="MLflow", extra="mlflow")
        self.tracking_uri, self.experiment_name, self.run_name = tracking_uri, experiment_name, run_name
        try:
            self.client = tracking.MlflowClient(tracking_uri)
            experiment = self.client.get_experiment_by_name(experiment_name)
            self.experiment_id = (
                experiment.experiment_id if experiment else self.client.create_experiment(experiment_name)
            )
        except Exception as error:  # MLflow's own exceptions; its message says what to do
            raise invalid("tracking_uri", "a tracking URI MLflow accepts", tracking_uri, str(error)) from None
        self.run_id: str | None = None
        self.alpha_runs: dict[int, str] = {}
        self._in_sweep = False
        self._logged: set[tuple[int, int]] = set()

    # A plain fit: one run, its curves.
    def on_train_begin(self, info: Mapping[str, Any]) -> None:
        if not self._in_sweep:
            self.run_id = self._create_run(self.run_name)

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        if self._in_sweep or self.run_id is None:
            return
        many = len(records) > 1
        self._log_metrics(
            self.run_id,
            [
                (f"member_{member}/{name}" if many else name, value, epoch)
                for member, record in records.items()
                for name, value in epoch_scalars(record)
            ],
        )

    def on_train_end(self, result: Any) -> None:
        if not self._in_sweep and self.run_id is not None:
            self.client.set_terminated(self.run_id)

    # A sweep: its run, a nested run per alpha.
    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        self._in_sweep = True
        self.run_id = self._create_run(self.run_name)
        self.alpha_runs = {}
        self._logged = set()

    def on_member_stored(self, record: MemberRecord) -> None:
        self._logged.add(record.key)
        run_id = self.alpha_runs.get(record.alpha_index)
        if run_id is None:
            run_id = self._create_run(f"alpha={record.alpha:.6g}", {"mlflow.parentRunId": self.run_id})
            self.client.log_param(run_id, "alpha", repr(record.alpha))
            self.alpha_runs[record.alpha_index] = run_id
        self._log_metrics(
            run_id,
            [
                (f"fold_{record.fold}/{name}", value, int(entry["epoch"]))
                for entry in record.history
                for name, value in epoch_scalars(entry)
            ],
        )

    def on_sweep_end(self, result: SweepResult) -> None:
        for record in result.members:  # those a resumed sweep read from its store
            if record.key not in self._logged:
                self.on_member_stored(record)
        self._in_sweep = False
        for index, run_id in self.alpha_runs.items():
            summary = [(name, result.cv_results[name][index], 0) for name in ("mean_test_score", "std_test_score")]
            self._log_metrics(run_id, [(n, float(v), s) for n, v, s in summary if math.isfinite(v)])
            self.client.set_terminated(run_id)
        if result.alpha is not None:
            self.client.log_metric(self.run_id, "alpha", float(result.alpha))
        self.client.set_terminated(self.run_id)

    def on_fit_end(self, estimator: Any) -> None:
        import pandas as pd

        params = {name: str(value)[:_MAX_PARAM_CHARS] for name, value in estimator.get_params(deep=False).items()}
        self.client.log_batch(self.run_id, params=[self._entities.Param(k, v) for k, v in params.items()])
        self.client.log_text(self.run_id, pd.DataFrame(estimator.cv_results_).to_csv(index=False), "cv_results.csv")
        if math.isfinite(estimator.best_score_):
            self.client.log_metric(self.run_id, "best_score", float(estimator.best_score_))
        if getattr(estimator, "best_estimator_", None) is not None:
            with tempfile.TemporaryDirectory() as folder:
                model = save_model(estimator.best_estimator_, Path(folder) / "model")
                self.client.log_artifacts(self.run_id, str(model), "model")

    def _create_run(self, name: str | None, tags: dict[str, str] | None = None) -> str:
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags or {})
        return run.info.run_id

    def _log_metrics(self, run_id: str, values: list[tuple[str, float, int]]) -> None:
        now = int(time.time() * 1000)
        metrics = [self._entities.Metric(name, value, now, step) for name, value, step in values]
        for start in range(0, len(metrics), _MAX_BATCH):
            self.client.log_batch(run_id, metrics=metrics[start : start + _MAX_BATCH])
