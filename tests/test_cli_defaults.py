"""The command line speaks the library's language: ``train`` chooses alpha unless told one,
``--scoring`` takes any scorer name, ``--n-jobs`` is the estimators' ``n_jobs``, and a
regression's held-out error is also given as an RMSE in the target's units."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from netreg.cli import main
from netreg.cli.parser import parse_args

FAST = ["--hidden", "4", "--max-iter", "3", "--cv", "2"]


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    n = 60
    data = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "label": rng.choice(["x", "y"], n)})
    data.to_csv("ok.csv", index=False)
    load_diabetes(as_frame=True).frame.to_csv("diabetes.csv", index=False)
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


def test_train_without_alpha_chooses_it_over_the_default_grid_and_says_so(files, capsys):
    status, out, _ = run(capsys, "train", "ok.csv", "--target", "label", "--out", "run", "--no-report", *FAST)
    assert status == 0, out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[1] == (
        "No --alpha given: choosing alpha from the default grid of 16 alphas by 2-fold cross-validation on the "
        "training rows (--alpha trains one alpha)."
    )
    results = pd.read_csv(files / "run" / "results.csv")
    assert len(results) == 16 and results["alpha"].nunique() == 16
    chosen = results.loc[results["chosen"], "alpha"].item()
    assert chosen == results.loc[results["mean_test_score"].idxmax(), "alpha"]  # the min rule: the best mean
    assert json.loads((files / "run" / "model" / "model.json").read_text())["alpha"] == pytest.approx(chosen)
    assert any(line.startswith(f"Chosen alpha = {chosen:g} (min rule, scoring neg_log_loss") for line in lines)


def test_train_with_alpha_trains_that_alpha_alone(files, capsys):
    status, out, _ = run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "0.5", "--out", "run", *FAST)
    assert status == 0 and "No --alpha given" not in out and "Chosen alpha" not in out
    assert not (files / "run" / "results.csv").exists()
    assert json.loads((files / "run" / "model" / "model.json").read_text())["alpha"] == 0.5


@pytest.mark.parametrize("command", ["tune", "train"])
def test_scoring_takes_any_scikit_learn_scorer_name(files, capsys, command):
    status, out, err = run(
        capsys, command, "ok.csv", "--target", "label", "--alphas", "0,1", "--scoring", "roc_auc", "--out", "run",
        "--no-report", *FAST,
    )  # fmt: skip
    assert status == 0, err
    assert "Cross-validated roc_auc (higher is better)" in out
    assert "scoring roc_auc" in " ".join(out.split())


def test_a_scorer_of_the_other_task_is_refused_in_the_librarys_words(files, capsys):
    status, out, err = run(capsys, "tune", "ok.csv", "--target", "label", "--scoring", "r2", "--out", "run", *FAST)
    assert (status, err) == (
        2,
        "netreg tune: error: --scoring must be 'neg_log_loss', 'accuracy', another scikit-learn scorer name or a "
        "callable scorer(estimator, X, y) for a classifier. Got scoring='r2'.",
    )


@pytest.mark.parametrize("command", ["tune", "train"])
def test_n_jobs_is_the_estimators_n_jobs(files, capsys, command):
    args = parse_args([command, "ok.csv", "--target", "label", "--out", "run", "--n-jobs", "-1"])
    assert args.n_jobs == -1
    status, _, err = run(capsys, command, "ok.csv", "--target", "label", "--out", "run", "--n-jobs", "1", *FAST)
    assert status == 0, err
    assert json.loads((files / "run" / "model" / "model.json").read_text())["params"]["n_jobs"] == 1
    # How many cores train is not what is trained: the same command with another --n-jobs is the same model.
    status, _, err = run(capsys, command, "ok.csv", "--target", "label", "--out", "run", "--n-jobs", "2", *FAST)
    assert status == 0, err


def test_a_regressions_held_out_rmse_is_in_the_targets_units(files, capsys):
    argv = ["train", "diabetes.csv", "--target", "target", "--hidden", "none", "--solver", "lbfgs"]
    status, out, _ = run(capsys, *argv, "--alpha", "1", "--out", "run")
    assert status == 0, out
    frame = pd.read_csv("diabetes.csv")
    _, test = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=0)  # train's split (seed 0)
    status, predictions, _ = run(capsys, "predict", "run", "diabetes.csv")
    predicted = pd.read_csv(pd.io.common.StringIO(predictions))["prediction"].to_numpy()
    errors = predicted[test] - frame["target"].to_numpy()[test]
    mse, rmse = float(np.mean(errors**2)), float(np.sqrt(np.mean(errors**2)))
    assert 20 < rmse < 200  # the target's units (25 to 346), not the standardized target's
    assert f"held-out MSE = {mse:.4g}, RMSE = {rmse:.4g} (target's units)." in " ".join(out.split())
    test_scores = json.loads((files / "run" / "model" / "model.json").read_text())["extra"]["test"]
    assert test_scores["root_mean_squared_error"] == pytest.approx(rmse, rel=1e-9)


def test_the_reports_held_out_table_shows_the_rmse(files, capsys):
    argv = ["train", "diabetes.csv", "--target", "target", "--hidden", "none", "--solver", "lbfgs", "--cv", "2"]
    status, out, _ = run(capsys, *argv, "--alphas", "0.1,10", "--out", "run")
    assert status == 0, out
    test = json.loads((files / "run" / "run.json").read_text())["test"]
    (scores,) = [value for key, value in test.items() if key != "rows"]
    assert scores["root_mean_squared_error"] == pytest.approx(np.sqrt(scores["mean_squared_error"]), rel=1e-9)
    html = (files / "run" / "report.html").read_text()
    assert '<th scope="col">RMSE (target&#x27;s units)</th>' in html
