"""Every flag and column option of `netreg train` and `netreg tune` goes through train -> predict,
on CSV and on Parquet: what it sets is in the saved model, and predict applies it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from netreg.cli import main
from netreg.message_text import COUNTING

N = 60
FAST = ["--hidden", "4", "--max-iter", "3"]
# Every table has an id column and a free-text one: left out by these, or refused.
COLUMNS = ["--id", "name", "--drop", "notes"]


def _table(holes: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "name": [f"car {i}" for i in range(N)],
            "x": rng.normal(size=N),
            "color": rng.choice(["red", "blue", "green"], N),
            "sold": pd.date_range("2021-01-01", periods=N, freq="3D"),
            "notes": [f"note {i}" for i in range(N)],
            "label": rng.choice(["yes", "no"], N),
        }
    )
    frame["price"] = 10_000 + 2_000 * frame["x"] + 500 * (frame["color"] == "red") + rng.normal(size=N) * 100
    if holes:
        frame.loc[[3, 8], "x"] = np.nan
        frame.loc[5, "color"] = None
        frame.loc[9, "sold"] = pd.NaT
        frame.loc[11, "label"] = None
        frame.loc[11, "price"] = np.nan
    return frame


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for holes, stem in ((False, "cars"), (True, "holes")):
        frame = _table(holes)
        frame.to_parquet(f"{stem}.parquet")  # dates as datetime64
        frame.assign(sold=frame["sold"].dt.strftime("%Y-%m-%d")).to_csv(f"{stem}.csv", index=False)  # as text
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


def _meta(folder):
    return json.loads((folder / "model" / "model.json").read_text())


def _params(expected):
    def check(folder, out, predictions):
        params = _meta(folder)["params"]
        assert {key: params[key] for key in expected} == expected

    return check


def _run_json(expected):
    def check(folder, out, predictions):
        run = json.loads((folder / "run.json").read_text())
        assert {key: run[key] for key in expected} == expected
        assert (folder / "sweep.sqlite").exists() and (folder / "results.csv").exists()

    return check


def _columns(folder, out, predictions):
    preprocessing = _meta(folder)["preprocessing"]
    assert (preprocessing["drop"], preprocessing["id_column"]) == (["notes"], "name")
    kinds = {column["name"]: column["kind"] for column in preprocessing["columns"]}
    assert kinds == {"x": "numeric", "color": "categorical", "sold": "date", "price": "numeric"}


def _imputed(strategy):
    def check(folder, out, predictions):
        preprocessing = _meta(folder)["preprocessing"]
        assert preprocessing["impute"] == strategy
        fills = {column["name"]: column["fill"] for column in preprocessing["columns"]}
        kept = _table(holes=True).drop(index=11)  # the row without a target is dropped
        x = kept["x"].iloc[_training_rows(kept["label"])]  # the fills are the training rows' alone
        expected = {"mean": x.mean(), "median": x.median()}.get(strategy)
        if expected is not None:
            assert fills["x"] == pytest.approx(expected, rel=1e-12)
        assert fills["color"] in ("red", "blue", "green")

    return check


def _training_rows(labels):
    """The rows `train` trains on (seed 0, 20 % held out, stratified by the class labels)."""
    return train_test_split(np.arange(len(labels)), test_size=0.2, random_state=0, stratify=labels)[0]


def _dropped(folder, out, predictions):
    # x is missing in rows 3 and 8, color in 5, sold in 9, the label and price in 11.
    assert f"5 rows with missing values dropped (rows 3, 5, 8, 9, 11, {COUNTING})." in out
    assert _meta(folder)["preprocessing"]["impute"] is None


# (what, the data file's stem, extra flags of train, check, flags of predict, rows predicted)
OPTIONS = [
    ("columns", "cars", [], _columns, [], N),
    ("impute mean", "holes", ["--impute", "mean", "--drop-missing"], _imputed("mean"), [], N),
    ("impute median", "holes", ["--impute", "median", "--drop-missing"], _imputed("median"), [], N),
    (
        "impute most_frequent",
        "holes",
        ["--impute", "most_frequent", "--drop-missing"],
        _imputed("most_frequent"),
        [],
        N,
    ),
    ("drop missing", "holes", ["--drop-missing"], _dropped, ["--drop-missing"], N - 5),
    ("batch size", "cars", ["--batch-size", "16"], _params({"batch_size": 16}), [], N),
    ("dropout", "cars", ["--dropout", "0.2"], _params({"dropout": 0.2}), [], N),
    ("penalty l1", "cars", ["--penalty", "l1"], _params({"penalty": "l1"}), [], N),
    (
        "elastic net",
        "cars",
        ["--penalty", "elasticnet", "--l1-ratio", "0.3"],
        _params({"penalty": "elasticnet", "l1_ratio": 0.3}),
        [],
        N,
    ),
    ("learning rate", "cars", ["--learning-rate", "0.01"], _params({"learning_rate_init": 0.01}), [], N),
    ("solver", "cars", ["--solver", "sgd"], _params({"solver": "sgd"}), [], N),
    ("early stopping", "cars", ["--early-stopping"], _params({"early_stopping": True}), [], N),
    ("class weight", "cars", ["--class-weight", "balanced"], _params({"class_weight": "balanced"}), [], N),
    (
        "class weight sweep",
        "cars",
        ["--class-weight", "balanced", "--alphas", "0,1", "--cv", "2"],
        _params({"class_weight": "balanced"}),
        [],
        N,
    ),
    ("device", "cars", ["--device", "cpu"], _params({"device": "cpu"}), [], N),
    (
        "scoring",
        "cars",
        ["--alphas", "0,1", "--cv", "2", "--scoring", "accuracy"],
        _run_json({"scoring": "accuracy"}),
        [],
        N,
    ),
    (
        "selection",
        "cars",
        ["--alphas", "0,1", "--cv", "2", "--selection", "1se"],
        _run_json({"selection": "1se"}),
        [],
        N,
    ),
    (
        "halving",
        "cars",
        ["--alphas", "0,0.1,1,10", "--cv", "2", "--search", "halving", "--factor", "2", "--min-epochs", "1"],
        _run_json({"command": "train", "selection": "min"}),
        [],
        N,
    ),
]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("what, stem, flags, check, predict_flags, n_predicted", OPTIONS, ids=[o[0] for o in OPTIONS])
def test_each_option_round_trips_through_train_and_predict(
    files, capsys, suffix, what, stem, flags, check, predict_flags, n_predicted
):
    data = f"{stem}.{suffix}"
    status, out, err = run(capsys, "train", data, "--target", "label", *COLUMNS, *FAST, *flags, "--out", "run")
    assert status == 0, err
    status, csv, err = run(capsys, "predict", "run", data, *predict_flags)
    assert status == 0, err
    predictions = pd.read_csv(pd.io.common.StringIO(csv))
    assert list(predictions.columns) == ["name", "prediction", "proba_no", "proba_yes"]
    assert len(predictions) == n_predicted and predictions["prediction"].notna().all()
    kept = _table(holes=stem == "holes")["name"]
    assert set(predictions["name"]) <= set(kept) and predictions["name"].is_unique
    check(files / "run", out, predictions)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tune_takes_the_same_flags_and_predict_applies_them(files, capsys, suffix):
    flags = ["--batch-size", "16", "--dropout", "0.1", "--penalty", "elasticnet", "--l1-ratio", "0.3"]
    flags += ["--learning-rate", "0.01", "--early-stopping", "--device", "cpu", "--solver", "sgd"]
    flags += ["--impute", "median", "--drop-missing", "--alphas", "0,1", "--cv", "2", "--no-report"]
    data = f"holes.{suffix}"
    status, out, err = run(capsys, "tune", data, "--target", "price", *COLUMNS, *FAST, *flags, "--out", "run")
    assert status == 0, err
    meta = _meta(files / "run")
    expected = {"batch_size": 16, "dropout": 0.1, "penalty": "elasticnet", "l1_ratio": 0.3}
    expected |= {"learning_rate_init": 0.01, "early_stopping": True, "device": "cpu", "solver": "sgd"}
    assert {key: meta["params"][key] for key in expected} == expected
    assert meta["preprocessing"]["impute"] == "median" and meta["target_transform"]["kind"] == "StandardScaler"
    status, csv, err = run(capsys, "predict", "run/model", data)
    predictions = pd.read_csv(pd.io.common.StringIO(csv))
    assert status == 0 and list(predictions.columns) == ["name", "prediction"] and len(predictions) == N
    assert 5_000 < predictions["prediction"].mean() < 15_000  # in the target's units


def test_a_date_column_is_the_same_feature_from_csv_text_and_from_parquet(files, capsys):
    assert run(capsys, "train", "cars.csv", "--target", "label", *COLUMNS, *FAST, "--out", "run")[0] == 0
    from_csv = run(capsys, "predict", "run", "cars.csv")[1]
    from_parquet = run(capsys, "predict", "run", "cars.parquet")[1]
    assert from_csv == from_parquet
    sold = next(c for c in _meta(files / "run")["preprocessing"]["columns"] if c["name"] == "sold")
    table = _table(False)
    days = (table["sold"] - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    assert sold["mean"] == pytest.approx(days.iloc[_training_rows(table["label"])].mean(), rel=1e-12)
