"""Columns a user controls: dates as days since 1970-01-01, columns left out (drop, id_column),
columns that look like ids or row numbers, and categories not seen at fit; every message in full."""

from __future__ import annotations

import datetime
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from netreg.exceptions import DataWarning, InvalidParameterError
from netreg.message_text import COUNTING
from netreg.tables.preprocessing import TablePreprocessor
from netreg.tables.tables import read_table

ISO = ["2021-03-04", "2021-03-06T12:00", "2020-12-31 23:00:00-01:00", "1970-01-01"]
# The same instants, as days since 1970-01-01 00:00 UTC computed by NumPy alone.
DAYS = [
    (np.datetime64(text) - np.datetime64("1970-01-01T00:00")) / np.timedelta64(1, "D")
    for text in ("2021-03-04T00:00", "2021-03-06T12:00", "2021-01-01T00:00", "1970-01-01T00:00")
]


def _scaled(days):
    return StandardScaler().fit_transform(np.asarray(days, dtype=float).reshape(-1, 1))[:, 0]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(ISO, dtype=object),
        pd.Series(ISO, dtype="str"),
        pd.Series(pd.to_datetime(ISO, format="ISO8601", utc=True)),  # datetime64 with a zone
        pd.Series(pd.to_datetime(ISO, format="ISO8601", utc=True).tz_localize(None)),  # naive: read as UTC
        pd.Series([pd.Timestamp(text).to_pydatetime() for text in ISO], dtype=object),  # Python datetimes
    ],
)
def test_dates_become_days_since_1970_standardized_like_a_number(column):
    features = pd.DataFrame({"when": column, "x": [1.0, 2.0, 3.0, 4.0]})
    preprocessor = TablePreprocessor().fit(features)
    assert preprocessor.column_kinds_ == ["date", "numeric"] and preprocessor.date_columns_ == ["when"]
    np.testing.assert_allclose(preprocessor.transform(features)[:, 0], _scaled(DAYS), rtol=1e-12)
    np.testing.assert_allclose(preprocessor.means_[0], np.mean(DAYS), rtol=1e-12)


def test_python_dates_as_parquet_stores_them_and_text_dates_at_predict(tmp_path):
    dates = [datetime.date(2021, 3, 4), datetime.date(2021, 3, 5), datetime.date(2021, 4, 1)]
    pd.DataFrame({"day": dates, "y": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "d.parquet")
    table = read_table(tmp_path / "d.parquet", target="y")
    assert isinstance(table.features["day"][0], datetime.date)  # pyarrow's date32, as Python dates
    preprocessor = TablePreprocessor(standardize=False).fit(table.features)
    np.testing.assert_array_equal(preprocessor.transform(table.features)[:, 0], [18690.0, 18691.0, 18718.0])
    # The saved preprocessing reads the same dates written as text in a CSV file.
    rebuilt = TablePreprocessor.from_config(json.loads(json.dumps(preprocessor.to_config())))
    as_text = pd.DataFrame({"day": ["2021-03-04", "2021-04-01"]})
    np.testing.assert_array_equal(rebuilt.transform(as_text)[:, 0], [18690.0, 18718.0])


def test_dates_in_an_ambiguous_layout_are_refused_naming_the_column(refused):
    features = pd.DataFrame({"sold": ["03/04/2021", "04/04/2021"], "x": [1.0, 2.0]})
    with refused(
        "column 'sold' holds dates in a layout whose day and month cannot be told apart (row 0: '03/04/2021'; "
        f"{COUNTING}); expected ISO 8601 dates such as '2021-04-03'. Write them as ISO 8601 "
        "dates (YYYY-MM-DD, with an optional time) or drop the column (`drop=['sold']`)."
    ):
        TablePreprocessor().fit(features)


def test_a_column_mixing_dates_and_text_is_refused(refused):
    features = pd.DataFrame({"sold": ["2021-03-04", "2021-03-05", "soon"]})
    with refused(
        f"column 'sold' mixes dates and text (row 0: '2021-03-04'; row 2: 'soon'; {COUNTING}); "
        "expected only dates or only text in a column. Write them as ISO 8601 dates (YYYY-MM-DD, with an optional "
        "time) or drop the column (`drop=['sold']`)."
    ):
        TablePreprocessor().fit(features)


def test_a_value_that_is_not_a_date_is_refused_at_transform(refused):
    preprocessor = TablePreprocessor().fit(pd.DataFrame({"sold": ["2021-03-04", "2021-03-05"]}))
    with refused(
        f"column 'sold' holds a value that is not a date (row 1: '5 March'; {COUNTING}); "
        "expected ISO 8601 dates such as '2021-04-03', as at fit."
    ):
        preprocessor.transform(pd.DataFrame({"sold": ["2021-03-04", "5 March"]}))


def test_text_that_is_not_dates_stays_text_and_numbers_stay_numbers():
    # Codes, years written as numbers, and text shaped like dates that are none (month 13).
    features = pd.DataFrame({"code": ["A-17", "B-2"], "year": ["2021", "2022"], "month": ["2021-13", "2021-14"]})
    assert TablePreprocessor().fit(features).column_kinds_ == ["categorical", "numeric", "categorical"]


# ---------------------------------------------------------------------------------------
# Columns left out: drop and id_column.


def test_dropped_and_id_columns_are_left_out_at_fit_and_ignored_at_transform():
    features = pd.DataFrame({"name": ["a", "b", "c"], "x": [1.0, 2.0, 4.0], "notes": ["", "?", "!"]})
    preprocessor = TablePreprocessor(drop=["notes"], id_column="name").fit(features)
    assert preprocessor.columns_ == ["x"] and preprocessor.feature_names_out_ == ["x"]
    expected = _scaled([1.0, 2.0, 4.0])
    # Present or absent at transform: the same features.
    np.testing.assert_array_equal(preprocessor.transform(features)[:, 0], expected)
    np.testing.assert_array_equal(preprocessor.transform(features[["x"]])[:, 0], expected)
    config = preprocessor.to_config()
    assert (config["version"], config["drop"], config["id_column"]) == (2, ["notes"], "name")
    rebuilt = TablePreprocessor.from_config(json.loads(json.dumps(config)))
    assert (rebuilt.drop, rebuilt.id_column) == (("notes",), "name")
    np.testing.assert_array_equal(rebuilt.transform(features), preprocessor.transform(features))


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"drop": ["nmae"]},
            "no column 'nmae' to drop; expected a column of the table. Did you mean 'name'? Columns: 'name', 'x'.",
        ),
        ({"id_column": "ID"}, "no id column 'ID'; expected a column of the table. Columns: 'name', 'x'."),
    ],
)
def test_a_column_to_leave_out_must_be_in_the_table_at_fit(refused, params, message):
    with refused(message):
        TablePreprocessor(**params).fit(pd.DataFrame({"name": ["a", "b"], "x": [1.0, 2.0]}))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"impute": "mode"}, "`impute` must be None or one of 'mean', 'median', 'most_frequent'. Got impute='mode'."),
        ({"drop": "name"}, "`drop` must be a list of distinct column names (str or int). Got drop='name'."),
        ({"drop": ["a", "a"]}, "`drop` must be a list of distinct column names (str or int). Got drop=['a', 'a']."),
        (
            {"drop": ["a"], "id_column": "a"},
            "`id_column` must be None or a column name (str or int) that is not in `drop`. Got id_column='a'.",
        ),
        (
            {"id_column": 1.5},
            "`id_column` must be None or a column name (str or int) that is not in `drop`. Got id_column=1.5.",
        ),
    ],
)
def test_parameters_are_checked_at_fit(refused, params, message):
    with refused(message, InvalidParameterError):
        TablePreprocessor(**params).fit(pd.DataFrame({"a": [1.0, 2.0]}))


def test_its_repr_shows_the_parameters_that_differ_from_their_default():
    assert repr(TablePreprocessor()) == "TablePreprocessor(standardize=True)"
    assert repr(TablePreprocessor(impute="mean", drop=["a"], id_column="b")) == (
        "TablePreprocessor(standardize=True, impute='mean', drop=['a'], id_column='b')"
    )


# ---------------------------------------------------------------------------------------
# Columns that look like ids, free text or row numbers; categories not seen at fit.

N = 40


def _caught(action):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = action()
    return result, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def test_a_text_column_with_a_different_value_in_every_row_is_refused_with_the_fix(refused):
    features = pd.DataFrame({"name": [f"car {i}" for i in range(N)], "x": np.arange(N) % 5})
    with refused(
        "column 'name' has a different value in each of its 40 rows, like an id or free text; expected a text column "
        "whose values repeat, to be one-hot encoded. Pass `drop=['name']` to leave it out, or `id_column='name'` to "
        "carry it into the predictions."
    ):
        TablePreprocessor().fit(features)
    _, notes = _caught(lambda: TablePreprocessor(id_column="name").fit(features))
    assert notes == []


def test_a_text_column_with_many_distinct_values_is_used_with_a_warning():
    names = [f"car {i // 2 if i < 20 else i}" for i in range(N)]  # 30 distinct names in 40 rows
    preprocessor, notes = _caught(lambda: TablePreprocessor().fit(pd.DataFrame({"name": names})))
    assert len(preprocessor.feature_names_out_) == 30
    assert notes == [
        "column 'name' has 30 distinct values in 40 rows: one-hot encoded into 30 features, most of them seen in a "
        "row or two. If it is an id or free text: Pass `drop=['name']` to leave it out, or `id_column='name'` to carry "
        "it into the predictions."
    ]


def test_a_column_of_row_numbers_is_used_with_a_warning():
    features = pd.DataFrame({"Unnamed: 0": np.random.default_rng(0).permutation(N), "x": np.arange(N) % 3})
    _, notes = _caught(lambda: TablePreprocessor().fit(features))
    assert notes == [
        "column 'Unnamed: 0' holds the whole numbers 0 to 39, each once, like a row number or an id; it is used as a "
        "feature. If it is one: Pass `drop=['Unnamed: 0']` to leave it out, or `id_column='Unnamed: 0'` to carry it "
        "into the predictions."
    ]


def test_small_or_repetitive_columns_are_not_questioned():
    features = pd.DataFrame(
        {
            "few": [f"n{i}" for i in range(20)],  # all distinct, but only 20
            "count": np.arange(20),
            "repeats": [f"c{i % 10}" for i in range(20)],
            "whole": np.arange(20) * 2,
        }
    )
    _, notes = _caught(lambda: TablePreprocessor().fit(features))
    assert notes == []


def test_categories_not_seen_at_fit_are_counted_and_named_once_per_transform():
    preprocessor = TablePreprocessor().fit(pd.DataFrame({"city": ["Oslo", "Lima"], "tag": ["a", "b"]}))
    new = pd.DataFrame({"city": ["Tokyo", "Oslo", "Rome", "Tokyo"], "tag": ["a", "c", "b", "a"]})
    X, notes = _caught(lambda: preprocessor.transform(new))
    assert notes == [
        "4 rows hold categories not seen at fit, encoded as all zeros: column 'city' ('Tokyo', 'Rome'), "
        "column 'tag' ('c')."
    ]
    assert X[0].tolist() == [0.0, 0.0, 1.0, 0.0]
    _, notes = _caught(lambda: preprocessor.transform(new.head(0).pipe(lambda f: pd.concat([f, new.iloc[[1]]]))))
    assert notes == ["1 row holds categories not seen at fit, encoded as all zeros: column 'tag' ('c')."]
    _, notes = _caught(lambda: preprocessor.transform(pd.DataFrame({"city": ["Lima"], "tag": ["b"]})))
    assert notes == []
