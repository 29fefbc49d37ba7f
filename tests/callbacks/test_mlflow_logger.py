"""MLflowCallback: the file store, read back with MLflow's own client, holds a run per sweep,
a nested run per alpha with the members' histories, cv_results_ and the chosen model."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from netreg import NetRegClassifier, NetRegClassifierCV
from netreg.callbacks import MLflowCallback, tracker_callbacks
from netreg.exceptions import InvalidParameterError, MissingDependencyError
from netreg.io import load_model

MlflowClient = pytest.importorskip("mlflow.tracking", reason="the test extra installs mlflow-skinny").MlflowClient


@pytest.fixture()
def store(tmp_path, monkeypatch):
    """A local file store (no network); MLflow 3 asks for its file store to be allowed."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = f"file:{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture()
def data():
    return make_classification(50, 4, random_state=0)


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def history_of(client, run_id, key):
    """``(step, value)`` of a metric; MLflow keeps the float64 values exactly."""
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


def test_a_sweep_is_a_run_with_a_nested_run_per_alpha_and_the_chosen_model(store, data, tmp_path):
    X, y = data
    search = fit_quietly(
        NetRegClassifierCV(hidden_layer_sizes=(3,), alphas=[0.01, 1.0], cv=2, max_iter=3, random_state=0),
        X,
        y,
        callback=MLflowCallback(store, experiment_name="sweeps", run_name="digits"),
    )
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("sweeps")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    assert parent.info.run_name == "digits" and parent.info.status == "FINISHED"
    assert parent.data.metrics == pytest.approx({"alpha": search.alpha_, "best_score": search.best_score_})
    assert parent.data.params["cv"] == "2" and parent.data.params["alphas"] == "[0.01, 1.0]"
    assert parent.data.params.keys() == search.get_params(deep=False).keys()

    by_alpha = {float(run.data.params["alpha"]): run for run in children}
    assert sorted(by_alpha) == [0.01, 1.0]
    for member in search.sweep_.members:
        run = by_alpha[member.alpha]
        assert run.info.run_name == f"alpha={member.alpha:g}"
        for name in ("train_loss", "penalty", "val_score"):
            logged = history_of(client, run.info.run_id, f"fold_{member.fold}/{name}")
            assert logged == [(e["epoch"], e[name]) for e in member.history]
        norms = history_of(client, run.info.run_id, f"fold_{member.fold}/weight_norm/layers.0.weight")
        assert norms == [(e["epoch"], e["weight_norms"]["layers.0.weight"]) for e in member.history]
    for i, alpha in enumerate(search.cv_results_["param_alpha"]):
        assert by_alpha[alpha].data.metrics["mean_test_score"] == pytest.approx(
            search.cv_results_["mean_test_score"][i]
        )

    table = pd.read_csv(client.download_artifacts(parent.info.run_id, "cv_results.csv", str(tmp_path)))
    np.testing.assert_allclose(table["mean_test_score"], search.cv_results_["mean_test_score"])
    np.testing.assert_allclose(table["param_alpha"], [0.01, 1.0])
    model = load_model(client.download_artifacts(parent.info.run_id, "model", str(tmp_path))).estimator
    np.testing.assert_array_equal(model.predict(X), search.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), search.predict_proba(X))


def test_a_resumed_sweep_logs_every_alpha(store, data, tmp_path):
    X, y = data
    params = dict(hidden_layer_sizes=(3,), alphas=[0.01, 1.0], cv=2, max_iter=2, random_state=0, n_jobs=1)
    fit_quietly(NetRegClassifierCV(**params, store=tmp_path / "sweep.sqlite"), X, y)
    tracker = MLflowCallback(store)
    search = fit_quietly(NetRegClassifierCV(**params, store=tmp_path / "sweep.sqlite"), X, y, callback=tracker)
    client = MlflowClient(store)
    children = client.search_runs([tracker.experiment_id], f"tags.mlflow.parentRunId = '{tracker.run_id}'")
    assert sorted(float(run.data.params["alpha"]) for run in children) == [0.01, 1.0]
    for member in search.sweep_.members:
        run_id = tracker.alpha_runs[member.alpha_index]
        assert history_of(client, run_id, f"fold_{member.fold}/train_loss") == [
            (e["epoch"], e["train_loss"]) for e in member.history
        ]


def test_a_plain_fit_is_one_run_with_its_history(store, data):
    X, y = data
    tracker = MLflowCallback()  # the tracking URI of the environment
    model = fit_quietly(NetRegClassifier((3,), max_iter=4, random_state=0), X, y, callback=tracker)
    client = MlflowClient(store)
    (run,) = client.search_runs([tracker.experiment_id])
    assert run.info.run_id == tracker.run_id and run.info.status == "FINISHED"
    for name in ("train_loss", "penalty", "objective"):
        assert history_of(client, run.info.run_id, name) == [(e["epoch"], e[name]) for e in model.history_]


def test_without_mlflow_it_is_refused_with_the_install_line(monkeypatch, refused):
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)  # import fails
    message = 'MLflowCallback needs MLflow, which is not installed. Install it with: pip install "netreg[mlflow]"'
    with refused(message, MissingDependencyError):
        MLflowCallback("http://localhost:5000")
    with refused(message, MissingDependencyError):
        tracker_callbacks([("mlflow", "http://localhost:5000")])


def test_bad_parameters_are_refused_before_mlflow_is_touched(refused):
    with refused("`experiment_name` must be non-empty text. Got experiment_name=''.", InvalidParameterError):
        MLflowCallback("http://localhost:5000", experiment_name="")
