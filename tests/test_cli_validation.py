"""``netreg train --validation FILE``: the user's own validation rows, encoded by the
preprocessing fitted on the training rows, are the fit's ``X_val``/``y_val``; the files it
refuses, in full."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expected_messages import usage
from netreg.cli import main
from netreg.io.models import load_model
from netreg.tables.tables import read_table

FAST = ["--hidden", "4", "--max-iter", "25", "--alpha", "0.1", "--no-report"]
USAGE = usage("train")


def _frame(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    color = rng.choice(["red", "blue"], n)
    return pd.DataFrame({"x": x, "color": color, "price": 2 * x + (color == "red") + 0.3 * rng.normal(size=n)})


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _frame(60, 1).to_csv("cars.csv", index=False)
    validation = _frame(20, 2)
    validation[["price", "color", "x"]].to_csv("val.csv", index=False)  # the columns' order is free
    validation.drop(columns="color").to_csv("nocolor.csv", index=False)
    validation.assign(extra=1.0).to_csv("extra.csv", index=False)
    labels = _frame(60, 1).assign(kind=lambda f: np.where(f["price"] > 0, "dear", "cheap"))
    labels.drop(columns="price").to_csv("kinds.csv", index=False)
    validation.assign(kind=["dear", "free"] * 10).drop(columns="price").to_csv("free.csv", index=False)
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


def _saved_scores(run_dir, rows=None):
    """The saved model's score on val.csv's ``rows`` (all by default) through its own saved
    preprocessing, and the scores it recorded."""
    saved = load_model(f"{run_dir}/model")
    table = read_table("val.csv", target="price")
    features, target = table.features, table.target
    if rows is not None:
        features, target = features.iloc[rows], target.iloc[rows]
    X_val = saved.preprocessor.transform(features)
    return saved.estimator.score(X_val, target.to_numpy()), saved.estimator.validation_scores_


def test_the_validation_rows_are_recorded_each_epoch_and_the_last_is_the_models_score(files, capsys):
    status, out, _ = run(
        capsys, "train", "cars.csv", "--target", "price", "--out", "run", *FAST, "--validation", "val.csv"
    )
    assert status == 0
    score, scores = _saved_scores("run")
    assert len(scores) == 25 and len(set(scores)) > 1  # every epoch recorded; they differ, so the test can fail
    assert score == pytest.approx(scores[-1], rel=1e-6)
    assert f"val.csv: 20 rows of validation; best validation R^2 = {max(scores):.4f} in 25 epochs." in out


def test_early_stopping_stops_on_the_validation_rows(files, capsys):
    argv = ["train", "cars.csv", "--target", "price", "--out", "run", *FAST, "--validation", "val.csv"]
    status, out, _ = run(capsys, *argv, "--early-stopping", "--max-iter", "300", "--learning-rate", "0.05")
    assert status == 0
    score, scores = _saved_scores("run")
    # It stopped before max_iter, keeping the weights of the best score on val.csv's rows.
    assert len(scores) < 300
    assert score == pytest.approx(max(scores), rel=1e-6)
    assert f"(early stopping's set); best validation R^2 = {max(scores):.4f} in {len(scores)} epochs." in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["cars.csv", "--target", "price", "--validation", "nocolor.csv"],
            "`nocolor.csv` lacks column 'color'; expected the columns of `cars.csv`: 'x', 'color'.",
        ),
        (
            ["cars.csv", "--target", "price", "--validation", "extra.csv"],
            "`extra.csv` has column 'extra'; expected the columns of `cars.csv`: 'x', 'color'.",
        ),
        (
            ["kinds.csv", "--target", "kind", "--validation", "free.csv"],
            "`free.csv`: target 'kind' has class 'free' that `kinds.csv` has not; expected the classes of "
            "`kinds.csv`: 'cheap', 'dear'.",
        ),
        (
            ["cars.csv", "--target", "price", "--validation", "none.csv"],
            "`none.csv`: no such file; expected a .csv, .parquet, .pq or .npz file.",
        ),
    ],
)
def test_a_validation_file_that_does_not_fit_is_refused_before_training(files, capsys, argv, message):
    status, out, err = run(capsys, "train", *argv, "--out", "run", *FAST)
    assert (status, err) == (2, f"netreg train: error: {message}")
    assert "epochs" not in out and not (files / "run" / "model").exists()


def test_a_grid_refuses_a_validation_file(files, capsys):
    status, _, err = run(capsys, "train", "cars.csv", "--target", "price", "--out", "run", "--validation", "val.csv")
    assert (status, err) == (
        2,
        "netreg train: error: argument --validation: applies to one --alpha (a number, or auto); a grid's alphas "
        f"are compared on cross-validation folds, its validation sets {USAGE}",
    )


def _holes():
    """val.csv with the feature x missing in row 3 and the target in row 7 (counting from 0)."""
    holes = pd.read_csv("val.csv")
    holes.loc[3, "x"] = np.nan
    holes.loc[7, "price"] = np.nan
    holes.to_csv("holes.csv", index=False)


@pytest.mark.parametrize(
    "impute, dropped, text",
    [
        ([], [3, 7], "2 rows with missing values dropped (rows 3, 7, counting from 0, header excluded)"),
        (["--impute", "median"], [7], "1 row with missing values dropped (row 7, counting from 0, header excluded)"),
    ],
)
def test_drop_missing_drops_the_validation_rows_as_it_drops_the_training_rows(files, capsys, impute, dropped, text):
    _holes()
    argv = ["train", "cars.csv", "--target", "price", "--out", "run", *FAST, *impute, "--validation", "holes.csv"]
    status, out, err = run(capsys, *argv, "--drop-missing")
    assert status == 0, err
    kept = [row for row in range(20) if row not in dropped]
    saved = load_model("run/model")
    holes = read_table("holes.csv", target="price", keep_missing_target=True)
    X_val = saved.preprocessor.transform(holes.features.iloc[kept])  # row 3's x imputed with the training median
    scores = saved.estimator.validation_scores_
    assert saved.estimator.score(X_val, holes.target.iloc[kept].to_numpy()) == pytest.approx(scores[-1], rel=1e-6)
    if not impute:  # the kept rows are val.csv's, as read: scored as the model scores them
        assert _saved_scores("run", kept)[0] == pytest.approx(scores[-1], rel=1e-6)
    assert f"holes.csv: {len(kept)} rows of validation, {text}; best validation R^2 = {max(scores):.4f} in" in out


def test_without_drop_missing_a_validation_row_with_a_missing_value_is_refused(files, capsys):
    _holes()
    status, out, err = run(
        capsys, "train", "cars.csv", "--target", "price", "--out", "run", *FAST, "--validation", "holes.csv"
    )
    assert (status, err) == (
        2,
        "netreg train: error: `holes.csv`: target column 'price' has no value in row 7 (counting from 0, header "
        "excluded); expected a value in every row. Fill in or remove those rows, or pass --drop-missing to drop them.",
    )
    assert "epochs" not in out and not (files / "run" / "model").exists()


def test_drop_missing_refuses_a_validation_file_left_without_rows(files, capsys):
    pd.read_csv("val.csv").assign(x=np.nan).to_csv("holes.csv", index=False)  # no row has x
    argv = ["train", "cars.csv", "--target", "price", "--out", "run", *FAST, "--validation", "holes.csv"]
    status, out, err = run(capsys, *argv, "--drop-missing")
    assert (status, err) == (
        2,
        "netreg train: error: `holes.csv`: every row has a missing value, so --drop-missing leaves nothing; "
        "expected rows to validate on.",
    )
    assert "epochs" not in out and not (files / "run" / "model").exists()


def test_validation_rows_of_categories_unseen_at_fit_get_the_note_predict_gives(files, capsys):
    pd.read_csv("val.csv").assign(color=["red", "green", "blue", "green"] * 5).to_csv("green.csv", index=False)
    argv = ["train", "cars.csv", "--target", "price", "--out", "run", *FAST, "--validation", "green.csv"]
    status, _, err = run(capsys, *argv)
    note = "note: 10 rows hold categories not seen at fit, encoded as all zeros: column 'color' ('green')."
    assert status == 0
    assert f"netreg train: {note}" in err.splitlines()
    status, _, err = run(capsys, "predict", "run", "green.csv")
    assert (status, err) == (0, f"netreg predict: {note}")
