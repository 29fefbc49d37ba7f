"""`netreg tune` with successive halving and with alpha by the evidence: the table, the run
folder, the report and predictions."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.datasets import load_digits

from netreg.cli import main
from netreg.io import RunFolder
from netreg.tuning import SweepStore


@pytest.fixture()
def digits_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = load_digits(as_frame=True).frame.iloc[:300]
    frame.to_csv("digits.csv", index=False)
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


COMMON = ["tune", "digits.csv", "--target", "target", "--hidden", "8", "--alphas", "0.01,0.1,1,10,100", "--cv", "3"]


def test_tune_with_halving_marks_the_stopped_alphas_and_reports_them(digits_csv, capsys):
    # Penalties far apart, so that the rung at epoch 3 tells some of them from the best beyond the folds' noise.
    alphas = ["--alphas", "0.01,0.1,1,3000,30000", "--batch-size", "32"]
    argv = [*COMMON, *alphas, "--max-iter", "9", "--search", "halving", "--min-epochs", "3", "--out", "run"]
    status, out, _ = run(capsys, *argv)
    assert status == 0, out
    assert "Epochs marked * stopped at a rung of successive halving: partial scores, not chosen." in out
    folder = RunFolder("run")
    results = pd.read_csv(folder.results)
    n_stopped = int(results["stopped_at_epoch"].notna().sum())
    # 5 alphas: at least ceil(5 / 3) = 2 go on after the rung at epoch 3, and those within noise of the best.
    assert 1 <= n_stopped <= 3 and out.count("3* ") == n_stopped
    assert not results.loc[results["chosen"], "stopped_at_epoch"].notna().any()
    assert "Crosses mark the alphas successive halving stopped" in folder.report.read_text(encoding="utf-8")
    with SweepStore.read(folder.store) as store:
        assert sum(m.status == "stopped" for m in store.members()) == 3 * n_stopped


def test_tune_by_the_evidence_trains_each_alpha_once_and_predicts(digits_csv, capsys):
    status, out, _ = run(capsys, *COMMON, "--max-iter", "30", "--selection", "evidence", "--out", "run")
    assert status == 0, out
    assert "Log evidence (higher is better)" in out and "(evidence rule, scoring neg_log_loss)" in out
    folder = RunFolder("run")
    assert json.loads(folder.run_json.read_text())["selection"] == "evidence"
    with SweepStore.read(folder.store) as store:
        assert len(store.members()) == 5  # one member per alpha, no folds
    assert folder.figure("evidence").exists()
    status, out, _ = run(capsys, "predict", "run", "digits.csv")
    assert status == 0 and len(pd.read_csv(pd.io.common.StringIO(out))) == 300


def test_tune_with_refit_folds_saves_the_fold_models_and_predict_averages_them(digits_csv, capsys):
    from netreg.io.models import load_model

    status, out, _ = run(capsys, *COMMON, "--max-iter", "10", "--refit", "folds", "--no-report", "--out", "run")
    assert status == 0, out
    saved = load_model(RunFolder("run").model)
    assert saved.meta["members"] == 3
    status, out, _ = run(capsys, "predict", "run", "digits.csv", "--out", "predictions.csv")
    assert status == 0, out
    frame = load_digits(as_frame=True).frame.iloc[:300]
    X = saved.preprocessor.transform(frame.drop(columns=["target"]))
    predictions = pd.read_csv("predictions.csv")
    members = saved.estimator.estimators_
    expected = sum(member.predict_proba(X) for member in members) / len(members)
    assert (predictions["prediction"].to_numpy() == expected.argmax(1)).all()
    assert abs(predictions[[f"proba_{k}" for k in range(10)]].to_numpy() - expected).max() < 1e-6
