"""Missing values filled in by scikit-learn's SimpleImputer inside the ColumnTransformer, its
statistics in the saved JSON (version 2 of the preprocessor config), version 1 still read."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from netreg.message_text import COUNTING
from netreg.tables.preprocessing import TablePreprocessor

FEATURES = pd.DataFrame(
    {
        "height": [170.0, np.nan, 160.0, 181.5, 160.0, np.nan],
        "city": ["Oslo", "Lima", None, "Lima", " ", "Oslo"],
        "rooms": pd.Series(["2", "", "5", "3", "3", "4"], dtype=object),  # numbers as text, one blank
        "sold": ["2021-03-04", None, "2021-03-10", "2021-03-05", "2021-03-04", "2021-04-01"],
    }
)
NEW = pd.DataFrame({"height": [np.nan, 175.0], "city": [np.nan, "Oslo"], "rooms": [3, np.nan], "sold": [None, None]})


def _reference(strategy, frame):
    """SimpleImputer then StandardScaler on the numbers, most frequent then OneHotEncoder on the text."""
    numbers = pd.DataFrame(
        {
            "height": frame["height"].astype(float),
            "rooms": pd.to_numeric(frame["rooms"].replace({"": np.nan}), errors="coerce"),
            "sold": (pd.to_datetime(frame["sold"]) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1),
        }
    )
    train = _reference_numbers()
    imputer = SimpleImputer(strategy=strategy).fit(train)
    scaler = StandardScaler().fit(imputer.transform(train))
    scaled = scaler.transform(imputer.transform(numbers[train.columns]))
    text = frame[["city"]].replace({" ": np.nan}).astype(object)
    text_imputer = SimpleImputer(strategy="most_frequent").fit(FEATURES[["city"]].replace({" ": np.nan}).astype(object))
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(
        text_imputer.transform(FEATURES[["city"]].replace({" ": np.nan}).astype(object))
    )
    encoded = encoder.transform(text_imputer.transform(text))
    return np.column_stack([scaled[:, 0], encoded, scaled[:, 1], scaled[:, 2]]), imputer, text_imputer


def _reference_numbers():
    return pd.DataFrame(
        {
            "height": FEATURES["height"],
            "rooms": pd.to_numeric(FEATURES["rooms"].replace({"": np.nan})),
            "sold": (pd.to_datetime(FEATURES["sold"]) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1),
        }
    )


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
def test_imputation_is_scikit_learns_simple_imputer_before_the_scaler_and_the_encoder(strategy):
    preprocessor = TablePreprocessor(impute=strategy).fit(FEATURES)
    assert preprocessor.column_kinds_ == ["numeric", "categorical", "numeric", "date"]
    for frame in (FEATURES, NEW):
        expected, imputer, text_imputer = _reference(strategy, frame)
        np.testing.assert_allclose(preprocessor.transform(frame), expected, rtol=1e-12, atol=1e-12)
    numbers = dict(zip(["height", "rooms", "sold"], imputer.statistics_))
    assert preprocessor.fills_ == [numbers["height"], text_imputer.statistics_[0], numbers["rooms"], numbers["sold"]]


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
@pytest.mark.parametrize("standardize", [True, False])
def test_the_imputed_values_go_through_json_and_transform_identically(strategy, standardize):
    preprocessor = TablePreprocessor(impute=strategy, standardize=standardize).fit(FEATURES)
    config = preprocessor.to_config()
    assert config["version"] == 2 and config["impute"] == strategy
    assert [column["fill"] for column in config["columns"]] == preprocessor.fills_
    rebuilt = TablePreprocessor.from_config(json.loads(json.dumps(config)))
    for frame in (FEATURES, NEW, FEATURES[::-1]):
        np.testing.assert_array_equal(rebuilt.transform(frame), preprocessor.transform(frame))
    assert rebuilt.to_config() == config and rebuilt.impute == strategy


def test_imputed_statistics_of_huge_values_do_not_overflow():
    features = pd.DataFrame({"a": [1e308, np.nan, 1.5e308, 1e308]})
    preprocessor = TablePreprocessor(impute="mean").fit(features)
    assert preprocessor.fills_ == [pytest.approx(1e308 * (3.5 / 3))]
    assert np.isfinite(preprocessor.transform(features)).all()


def test_a_column_with_no_value_at_all_cannot_be_imputed(refused):
    features = pd.DataFrame({"a": [1.0, 2.0], "empty": [np.nan, np.nan], "blank": ["", None]})
    with refused(
        "columns 'empty', 'blank' have no value at all; expected at least one value to impute from. Pass "
        "`drop=['empty', 'blank']` to leave them out."
    ):
        TablePreprocessor(impute="mean").fit(features)


def test_without_imputation_missing_values_at_transform_name_the_way_out(refused):
    preprocessor = TablePreprocessor().fit(FEATURES.dropna().query("city != ' '"))
    with refused(
        f"missing values in columns 'height', 'city', 'rooms', 'sold' (rows 0, 1, {COUNTING}); "
        "expected a value in every cell. The preprocessing was fitted without imputation: pass `drop_missing=True` "
        "to skip such rows."
    ):
        preprocessor.transform(NEW.assign(city=[None, "x"]))


# ---------------------------------------------------------------------------------------
# The config: version 1 written whenever it holds the state, version 2 checked in full.

V2 = {
    "type": "TablePreprocessor",
    "version": 2,
    "standardize": True,
    "impute": "mean",
    "drop": ["notes"],
    "id_column": "name",
    "columns": [
        {"name": "a", "kind": "numeric", "mean": 0.5, "scale": 2.0, "fill": 0.5},
        {"name": "b", "kind": "categorical", "categories": ["x", "y"], "fill": "x"},
        {"name": "d", "kind": "date", "mean": 18000.0, "scale": 10.0, "fill": 18000.0},
    ],
}


def _v2(change):
    config = json.loads(json.dumps(V2))
    change(config)
    return config


def test_the_reference_version_2_config_transforms_as_written():
    preprocessor = TablePreprocessor.from_config(V2)
    X = preprocessor.transform(pd.DataFrame({"a": [None, 2.5], "b": [None, "y"], "d": ["1970-01-01", None], "name": 1}))
    np.testing.assert_array_equal(X, [[0.0, 1.0, 0.0, -1800.0], [1.0, 0.0, 1.0, 0.0]])


@pytest.mark.parametrize(
    "change, found",
    [
        (
            lambda c: c.update(impute="mode"),
            "`impute` must be one of None, 'mean', 'median', 'most_frequent'; got 'mode'.",
        ),
        (
            lambda c: c["columns"][0].pop("fill"),
            "`columns[0]` misses key 'fill'; expected keys 'name', 'kind', 'mean', 'scale', 'fill'.",
        ),
        (
            lambda c: c.update(impute=None),
            "`columns[0]` has unexpected key 'fill'; expected keys 'name', 'kind', 'mean', 'scale'.",
        ),
        (lambda c: c["columns"][1].update(fill="z"), "`columns[1].fill` must be one of its categories; got 'z'."),
        (lambda c: c["columns"][2].update(fill="x"), "`columns[2].fill` must be a finite number; got 'x'."),
        (
            lambda c: c.pop("drop"),
            "`config` misses key 'drop'; expected keys 'type', 'version', 'standardize', 'impute', 'drop', "
            "'id_column', 'columns'.",
        ),
        (lambda c: c.update(drop=["a"]), "`drop` must name columns that are not features; got 'a'."),
        (
            lambda c: c.update(id_column="notes"),
            "`id_column` must name a column that is neither a feature nor dropped; got 'notes'.",
        ),
        (lambda c: c.update(drop="notes"), "`drop` must be a list of distinct column names (str or int); got 'notes'."),
        (lambda c: c.update(id_column=1.5), "`id_column` must be a column name (str or int) or None; got 1.5."),
        (
            lambda c: c["columns"][2].update(kind="time"),
            "`columns[2].kind` must be one of 'numeric', 'categorical', 'date'; got 'time'.",
        ),
        (
            lambda c: c.update(standardize=False),
            "`columns[0].mean` must be 0 when `standardize` is false; got 0.5.",
        ),
    ],
)
def test_a_malformed_version_2_config_is_refused(refused, change, found):
    with refused(f"preprocessor config: {found}"):
        TablePreprocessor.from_config(_v2(change))


def test_version_1_knows_no_date_columns(refused):
    config = {
        "type": "TablePreprocessor",
        "version": 1,
        "standardize": True,
        "columns": [{"name": "d", "kind": "date", "mean": 0.0, "scale": 1.0}],
    }
    with refused("preprocessor config: `columns[0].kind` must be 'numeric' or 'categorical'; got 'date'."):
        TablePreprocessor.from_config(config)


def test_a_preprocessor_without_the_new_steps_still_writes_version_1():
    preprocessor = TablePreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    assert preprocessor.to_config()["version"] == 1
    assert set(preprocessor.to_config()) == {"type", "version", "standardize", "columns"}
