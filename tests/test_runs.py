"""The runs as library functions: estimator parameters by name, train with a grid resuming from
its store, predictions with the rows skipped."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from netreg.exceptions import DataWarning, InvalidParameterError
from netreg.grid import DEFAULT_N_ALPHAS
from netreg.io.models import load_model
from netreg.runs import load_training_table, make_estimator_params, predict_table, train_table
from netreg.tuning import SweepCallback


@pytest.fixture()
def digits_csv(tmp_path):
    frame = load_digits(as_frame=True).frame.iloc[:200]
    frame.to_csv(tmp_path / "digits.csv", index=False)
    return tmp_path / "digits.csv"


class Stored(SweepCallback):
    def __init__(self):
        self.n = 0

    def on_member_stored(self, record):
        self.n += 1


@pytest.mark.parametrize("name", ["solver", "alpha", "transformer", "no_such_parameter"])
def test_estimator_params_take_the_other_parameters_by_their_names(digits_csv, refused, name):
    data = load_training_table(digits_csv, "target")
    params = make_estimator_params(data, hidden=(4,), solver="adam", max_iter=3, seed=0, extra={"dropout": 0.2})
    assert params["dropout"] == 0.2 and params["hidden_layer_sizes"] == (4,)
    with refused(
        "`estimator_params` must be a mapping of parameters of the estimator other than alpha, hidden_layer_sizes, "
        "solver, max_iter, random_state (which have keywords of their own) and transformer (see "
        f"`standardize_target`). Got {name!r}.",
        InvalidParameterError,
    ):
        make_estimator_params(data, hidden=(4,), solver="adam", max_iter=3, seed=0, extra={name: 1})


def test_train_with_a_grid_leaves_its_evidence_and_resumes_from_its_store(digits_csv, tmp_path):
    data = load_training_table(digits_csv, "target")
    settings = dict(alphas=[0.0, 1.0], cv=2, hidden=(4,), max_iter=3, estimator_params={"batch_size": 50})
    first, counted = Stored(), Stored()
    result = train_table(data, tmp_path / "run", callback=first, **settings)
    assert first.n == 4 and result["scoring"] == "neg_log_loss" and sorted(result["test"]) == ["accuracy", "log_loss"]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["test"] == {"rows": 40, f"alpha = {result['alpha']:.3g} (chosen), trained on 160 rows": result["test"]}
    again = train_table(data, tmp_path / "run", callback=counted, **settings)
    assert counted.n == 0 and again["test"] == result["test"]  # every member came from the store
    meta = json.loads((tmp_path / "run" / "model" / "model.json").read_text())
    assert meta["params"]["batch_size"] == 50 and meta["extra"]["test"] == result["test"]


def test_train_without_alpha_chooses_it_from_the_default_grid(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=30), "y": rng.normal(size=30)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = train_table(load_training_table(tmp_path / "t.csv", "y"), tmp_path / "run", hidden=(), max_iter=3, cv=2)
    alphas = result["sweep"].alphas
    assert len(alphas) == DEFAULT_N_ALPHAS == 16 and result["alpha"] == alphas[result["best_index"]]
    assert sorted(result["test"]) == ["mean_squared_error", "r2", "root_mean_squared_error"]
    assert result["test"]["root_mean_squared_error"] == pytest.approx(np.sqrt(result["test"]["mean_squared_error"]))


def test_predict_table_returns_the_rows_it_skipped(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=30), "y": rng.normal(size=30)})
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.assign(x=frame["x"].where(frame.index % 10 != 3)).to_csv(tmp_path / "new.csv", index=False)
    data = load_training_table(tmp_path / "train.csv", "y")
    train_table(data, tmp_path / "run", alpha=1e-4, hidden=(), max_iter=3)
    predictions = predict_table(tmp_path / "run", tmp_path / "new.csv", drop_missing=True)
    assert predictions.skipped_rows == [3, 13, 23] and len(predictions.table) == 27


def test_train_fits_every_step_of_the_preprocessing_on_its_training_rows_alone(tmp_path):
    # As a scikit-learn Pipeline inside the split: the held-out rows take no part in the means,
    # scales, fills, categories or the target's standardization.
    rng = np.random.default_rng(0)
    n = 50
    frame = pd.DataFrame(
        {
            "x": rng.normal(10, 3, n),
            "size": rng.integers(1, 9, n).astype(float),
            "color": rng.choice(["red", "blue"], n),
        }
    )
    frame["y"] = 100 * frame["x"] + 10 * frame["size"] + rng.normal(size=n)
    train, test = train_test_split(np.arange(n), test_size=0.2, random_state=0)  # train's split (seed 0)
    frame.loc[test[0], "color"] = "violet"  # a category of a held-out row alone
    frame.loc[[*train[:4], *test[1:3]], "x"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = train_table(
        load_training_table(tmp_path / "t.csv", "y", impute="mean"), tmp_path / "run", alpha=1e-4, max_iter=3
    )
    saved = load_model(tmp_path / "run" / "model")
    preprocessor = saved.preprocessor
    numeric = ["x", "size"]
    by_hand = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()).fit(frame.loc[train, numeric])
    np.testing.assert_allclose(preprocessor.means_, by_hand[1].mean_, rtol=1e-12)
    np.testing.assert_allclose(preprocessor.scales_, by_hand[1].scale_, rtol=1e-12)
    np.testing.assert_allclose(preprocessor.fills_[:2], by_hand[0].statistics_, rtol=1e-12)
    assert preprocessor.categories_ == [["blue", "red"]]
    assert saved.estimator.transformer_.mean_[0] == pytest.approx(frame.loc[train, "y"].mean(), rel=1e-12)
    held_out = frame.loc[test].drop(columns="y")
    np.testing.assert_allclose(preprocessor.transform(held_out)[:, :2], by_hand.transform(held_out[numeric]))
    assert result["test"]["r2"] == pytest.approx(
        saved.estimator.score(preprocessor.transform(held_out), frame.loc[test, "y"]), rel=1e-12
    )


@pytest.mark.parametrize("holes", [[3, 17], [39]], ids=["inside", "at the end"])
def test_a_column_of_row_numbers_is_judged_on_the_whole_file_once(tmp_path, holes):
    # R's row names, 1..40: after rows inside are dropped they are no longer consecutive; after
    # the last is dropped they still are, 1..39, which is not what the file holds.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"rownames": np.arange(1, 41), "x": rng.normal(size=40), "y": rng.normal(size=40)})
    frame.loc[holes, "x"] = np.nan
    frame.to_csv(tmp_path / "r.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_training_table(tmp_path / "r.csv", "y", drop_missing=True)
    assert data.dropped_rows == holes and data.feature_names == ["rownames", "x"]
    assert [str(w.message) for w in caught if issubclass(w.category, DataWarning)] == [
        "column 'rownames' holds the whole numbers 1 to 40, each once, like a row number or an id; it is used as a "
        "feature. If it is one: Pass `drop=['rownames']` to leave it out, or `id_column='rownames'` to carry it into "
        "the predictions."
    ]
