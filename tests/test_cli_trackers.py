"""netreg tune/train --log: the trackers from the command line, and its refusals."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from expected_messages import usage
from netreg.callbacks import TRACKERS
from netreg.cli import main
from netreg.cli.arguments import LOG_TRACKERS
from netreg.io import load_model

EventAccumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="the test extra installs tensorboard"
).EventAccumulator
MlflowClient = pytest.importorskip("mlflow.tracking", reason="the test extra installs mlflow-skinny").MlflowClient

FAST = ["--hidden", "3", "--max-iter", "3"]


@pytest.fixture()
def table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 40))
    pd.DataFrame({"a": a, "b": b, "label": np.where(a + b > 0, "x", "y")}).to_csv("ok.csv", index=False)
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.err.strip()


def test_the_flag_names_the_trackers_of_the_library():
    assert LOG_TRACKERS == tuple(TRACKERS)


@pytest.mark.parametrize("value", ["wandb:runs", "tensorboard:", "mlflow", "tensorboard: "])
def test_a_malformed_log_is_refused_in_one_line(table, capsys, value):
    status, err = run(capsys, "tune", "ok.csv", "--target", "label", "--out", "run", "--log", value, *FAST)
    assert status == 2
    assert (
        err
        == f"netreg tune: error: argument --log: expected tensorboard:DIR or mlflow:URI; got {value!r} {usage('tune')}"
    )
    assert not (table / "run").exists()


def test_without_the_library_the_command_names_the_install_line(table, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)  # import fails
    status, err = run(capsys, "train", "ok.csv", "--target", "label", "--out", "run", "--log", "mlflow:mlruns", *FAST)
    assert status == 2
    assert err.splitlines()[-1] == (
        'netreg train: error: MLflowCallback needs MLflow, which is not installed. Install it with: pip install "netreg[mlflow]"'
    )
    assert not (table / "run" / "model").exists()


def test_tune_logs_to_both_trackers(table, capsys):
    uri = f"file:{table / 'mlruns'}"
    argv = ["tune", "ok.csv", "--target", "label", "--out", "run", "--alphas", "0.1,1", "--cv", "2", "--no-report"]
    status, _ = run(capsys, *argv, "--log", "tensorboard:tb", "--log", f"mlflow:{uri}", *FAST)
    assert status == 0
    events = EventAccumulator("tb")
    events.Reload()
    prefixes = {tag.rsplit("/", 1)[0] for tag in events.Tags()["scalars"] if tag.endswith("/train_loss")}
    assert prefixes == {f"alpha={alpha}/fold={fold}" for alpha in ("0.1", "1") for fold in (0, 1)}
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("netreg").experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(runs) == 3
    logged = load_model(client.download_artifacts(parent.info.run_id, "model", str(table))).estimator
    saved = load_model("run/model").estimator
    X = np.random.default_rng(1).normal(size=(5, 2))
    np.testing.assert_allclose(logged.predict_proba(X), saved.predict_proba(X))
    assert parent.data.metrics["alpha"] == saved.alpha


def test_train_with_one_alpha_logs_the_fit_curves(table, capsys):
    status, _ = run(
        capsys,
        "train",
        "ok.csv",
        "--target",
        "label",
        "--out",
        "run",
        "--alpha",
        "0.1",
        "--log",
        "tensorboard:tb",
        *FAST,
    )
    assert status == 0
    events = EventAccumulator("tb")
    events.Reload()
    history = load_model("run/model").estimator.history_
    logged = [(e.step, e.value) for e in events.Scalars("train_loss")]
    assert [step for step, _ in logged] == [entry["epoch"] for entry in history]
    np.testing.assert_allclose([v for _, v in logged], [entry["train_loss"] for entry in history], rtol=1e-6)
