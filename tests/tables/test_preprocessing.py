"""TablePreprocessor against scikit-learn's StandardScaler and OneHotEncoder, its JSON round trip,
and every refused input with its full message."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from netreg.exceptions import DataError, InvalidParameterError, NotFittedError
from netreg.message_text import COUNTING
from netreg.tables.preprocessing import TablePreprocessor

RNG = np.random.default_rng(0)
N = 60
TRAIN = pd.DataFrame(
    {
        "height": RNG.normal(170.0, 12.0, size=N),
        "city": RNG.choice(["Oslo", "Paris", "Lima", "Zürich"], size=N),
        "rooms": RNG.integers(1, 6, size=N),
        "owner": RNG.random(N) < 0.3,
        "tag": RNG.choice(["b", "a"], size=N),
        "constant": np.full(N, 7.5),
    }
)
NUMERIC = ["height", "rooms", "owner", "constant"]
TEXT = ["city", "tag"]
# New rows with a city and a tag never seen at fit.
TEST = pd.DataFrame(
    {
        "height": [150.0, 200.0, 171.0],
        "city": ["Lima", "Tokyo", "Oslo"],
        "rooms": [2, 9, 1],
        "owner": [True, False, False],
        "tag": ["a", "b", "c"],
        "constant": [7.5, 0.0, 7.5],
    }
)


def _sklearn_reference(standardize=True):
    # One transformer per column, in input order: the layout TablePreprocessor promises.
    numeric = StandardScaler() if standardize else "passthrough"
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    steps = [(name, numeric if name in NUMERIC else encoder, [name]) for name in TRAIN.columns]
    return ColumnTransformer(steps, verbose_feature_names_out=False)


@pytest.mark.parametrize("standardize", [True, False])
def test_matches_standard_scaler_and_one_hot_encoder(standardize):
    reference = _sklearn_reference(standardize).fit(TRAIN)
    preprocessor = TablePreprocessor(standardize=standardize).fit(TRAIN)
    for data in (TRAIN, TEST):
        X = preprocessor.transform(data)
        assert X.dtype == np.float64
        np.testing.assert_allclose(X, reference.transform(data).astype(np.float64), rtol=1e-12, atol=1e-12)
    assert preprocessor.feature_names_out_ == list(reference.get_feature_names_out())
    assert preprocessor.columns_ == list(TRAIN.columns)
    assert (preprocessor.numeric_columns_, preprocessor.categorical_columns_) == (NUMERIC, TEXT)
    assert preprocessor.categories_ == [["Lima", "Oslo", "Paris", "Zürich"], ["a", "b"]]
    assert preprocessor.n_features_in_ == 6


def test_means_and_scales_are_those_of_standard_scaler_with_scale_one_for_a_constant_column():
    scaler = StandardScaler().fit(TRAIN[NUMERIC].astype(float))
    preprocessor = TablePreprocessor().fit(TRAIN)
    np.testing.assert_allclose(preprocessor.means_, scaler.mean_, rtol=1e-13)
    np.testing.assert_allclose(preprocessor.scales_, scaler.scale_, rtol=1e-13)
    assert preprocessor.scales_[-1] == 1.0
    plain = TablePreprocessor(standardize=False).fit(TRAIN)
    assert plain.means_.tolist() == [0.0] * 4 and plain.scales_.tolist() == [1.0] * 4


def test_unseen_categories_give_rows_of_zeros():
    X = TablePreprocessor().fit(TRAIN).transform(TEST)
    # Columns: height, city x4, rooms, owner, tag x2, constant.
    assert X[1, 1:5].tolist() == [0.0] * 4  # Tokyo
    assert X[2, 8:10].tolist() == [0.0] * 2  # tag "c"
    assert X[0, 1:5].tolist() == [1.0, 0.0, 0.0, 0.0]  # Lima


def test_columns_in_another_order_are_reordered():
    preprocessor = TablePreprocessor().fit(TRAIN)
    shuffled = TEST[["tag", "constant", "city", "owner", "height", "rooms"]]
    np.testing.assert_array_equal(preprocessor.transform(shuffled), preprocessor.transform(TEST))


def test_text_of_numbers_is_a_numeric_column_and_category_dtype_is_always_one_hot():
    features = pd.DataFrame(
        {
            "age": pd.Series(["42", " 7", "1e1", 3], dtype=object),
            "grade": pd.Categorical([1, 2, 1, 3]),
        }
    )
    preprocessor = TablePreprocessor(standardize=False).fit(features)
    assert (preprocessor.numeric_columns_, preprocessor.categorical_columns_) == (["age"], ["grade"])
    expected = np.array([[42, 1, 0, 0], [7, 0, 1, 0], [10, 1, 0, 0], [3, 0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(preprocessor.transform(features), expected)
    assert preprocessor.feature_names_out_ == ["age", "grade_1", "grade_2", "grade_3"]


def test_nullable_and_string_dtypes_are_read_like_their_plain_counterparts():
    plain = pd.DataFrame({"a": [1, 2, 4], "b": [True, False, True], "c": ["x", "y", "x"]})
    nullable = plain.astype({"a": "Int64", "b": "boolean", "c": "string"})
    np.testing.assert_array_equal(TablePreprocessor().fit_transform(nullable), TablePreprocessor().fit_transform(plain))


def test_values_near_the_float_limits_give_finite_standardized_values():
    features = pd.DataFrame({"big": [1e308, -1e308, 1e308, -1e308], "same": [1e308] * 4, "tiny": [5e-324, 0, 0, 0]})
    X = TablePreprocessor().fit_transform(features)
    np.testing.assert_allclose(X[:, 0], [1.0, -1.0, 1.0, -1.0], rtol=1e-15)
    assert X[:, 1].tolist() == [0.0] * 4
    assert np.isfinite(X).all()


@pytest.mark.parametrize("factor", [2.0**600, 2.0**-600])
def test_columns_whose_squares_leave_the_float_range_standardize_like_unit_ones(factor):
    # scikit-learn's StandardScaler alone takes such a column (about 4e180, 2e-181) for a
    # constant one (scale 1); a power of two changes no bit of the standardized values.
    unit = pd.DataFrame({"a": [1.0, 2.0, 4.0, 7.0]})
    expected = StandardScaler().fit_transform(unit)
    assert StandardScaler().fit(unit * factor).scale_.tolist() == [1.0]
    np.testing.assert_array_equal(TablePreprocessor().fit_transform(unit * factor), expected)


# ---------------------------------------------------------------------------------------
# Persistence without pickle.


def _only_json_types(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and _only_json_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_only_json_types(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


@pytest.mark.parametrize("standardize", [True, False])
def test_config_through_json_rebuilds_a_preprocessor_that_transforms_identically(standardize):
    preprocessor = TablePreprocessor(standardize=standardize).fit(TRAIN)
    config = preprocessor.to_config()
    assert _only_json_types(config)
    rebuilt = TablePreprocessor.from_config(json.loads(json.dumps(config)))
    for data in (TRAIN, TEST, TEST[::-1]):
        np.testing.assert_array_equal(rebuilt.transform(data), preprocessor.transform(data))
    assert rebuilt.to_config() == config
    for attribute in ("columns_", "numeric_columns_", "categorical_columns_", "categories_", "feature_names_out_"):
        assert getattr(rebuilt, attribute) == getattr(preprocessor, attribute)
    assert rebuilt.standardize is standardize


def test_integer_column_names_survive_the_json_round_trip():
    features = pd.DataFrame(np.arange(6.0).reshape(3, 2))  # columns 0 and 1
    preprocessor = TablePreprocessor().fit(features)
    rebuilt = TablePreprocessor.from_config(json.loads(json.dumps(preprocessor.to_config())))
    assert rebuilt.columns_ == [0, 1]
    np.testing.assert_array_equal(rebuilt.transform(features), preprocessor.transform(features))


GOOD = {
    "type": "TablePreprocessor",
    "version": 1,
    "standardize": True,
    "columns": [
        {"name": "a", "kind": "numeric", "mean": 0.5, "scale": 2.0},
        {"name": "b", "kind": "categorical", "categories": ["x", "y"]},
    ],
}


def _with(path, value):
    config = json.loads(json.dumps(GOOD))
    target = config
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return config


@pytest.mark.parametrize(
    "config, found",
    [
        ([], "`config` must be a dict; got []."),
        (
            _with(["columns"], KeyError),
            "`config` misses key 'columns'; expected keys 'type', 'version', 'standardize', 'columns'.",
        ),
        (
            {**GOOD, "extra": 1, "more": 2},
            "`config` has unexpected keys 'extra', 'more'; expected keys 'type', 'version', 'standardize', 'columns'.",
        ),
        (_with(["type"], "StandardScaler"), "`type` must be 'TablePreprocessor'; got 'StandardScaler'."),
        (_with(["version"], True), "`version` must be 1 or 2; got True."),
        (_with(["standardize"], "yes"), "`standardize` must be a bool; got 'yes'."),
        (_with(["columns"], []), "`columns` must be a non-empty list; got []."),
        (_with(["columns", 0], "a"), "`columns[0].kind` must be 'numeric' or 'categorical'; got None."),
        (_with(["columns", 1, "kind"], "text"), "`columns[1].kind` must be 'numeric' or 'categorical'; got 'text'."),
        (
            _with(["columns", 0, "scale"], KeyError),
            "`columns[0]` misses key 'scale'; expected keys 'name', 'kind', 'mean', 'scale'.",
        ),
        (
            _with(["columns", 1, "mean"], 0.0),
            "`columns[1]` has unexpected key 'mean'; expected keys 'name', 'kind', 'categories'.",
        ),
        (_with(["columns", 0, "name"], 1.5), "`columns[0].name` must be a str or an int; got 1.5."),
        (_with(["columns", 1, "name"], "a"), "`columns[1].name` must be distinct from the other names; got 'a'."),
        (_with(["columns", 0, "mean"], "0.5"), "`columns[0].mean` must be a finite number; got '0.5'."),
        (_with(["columns", 0, "mean"], float("nan")), "`columns[0].mean` must be a finite number; got nan."),
        (_with(["columns", 0, "scale"], 0), "`columns[0].scale` must be a finite number > 0; got 0."),
        (_with(["columns", 0, "scale"], True), "`columns[0].scale` must be a finite number > 0; got True."),
        (
            _with(["columns", 1, "categories"], []),
            "`columns[1].categories` must be a non-empty list of distinct str; got [].",
        ),
        (
            _with(["columns", 1, "categories"], ["x", "x"]),
            "`columns[1].categories` must be a non-empty list of distinct str; got ['x', 'x'].",
        ),
        (
            _with(["columns", 1, "categories"], ["x", 1]),
            "`columns[1].categories` must be a non-empty list of distinct str; got ['x', 1].",
        ),
        (
            _with(["columns", 1, "categories"], [f"category {i}" for i in range(20)] + ["category 0"]),
            "`columns[1].categories` must be a non-empty list of distinct str; got a list of length 21.",
        ),
    ],
)
def test_from_config_refuses_a_malformed_config(refused, config, found):
    with refused(f"preprocessor config: {found}"):
        TablePreprocessor.from_config(config)


def test_the_reference_config_is_accepted():
    X = TablePreprocessor.from_config(GOOD).transform(pd.DataFrame({"b": ["y", "z"], "a": [1.5, 0.5]}))
    np.testing.assert_array_equal(X, [[0.5, 0.0, 1.0], [0.0, 0.0, 0.0]])


# ---------------------------------------------------------------------------------------
# Refused inputs.

FIX_MISSING = (
    "expected a value in every cell. Pass `impute='mean'` (or 'median', 'most_frequent') to fill them in, or "
    "`drop_missing=True` to drop such rows."
)
FIX_MISSING_AT_TRANSFORM = (
    "expected a value in every cell. The preprocessing was fitted without imputation: pass `drop_missing=True` to "
    "skip such rows."
)


@pytest.mark.parametrize(
    "features, found",
    [
        (
            pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", "y", None]}),
            f"columns 'a', 'b' (rows 1, 2, {COUNTING})",
        ),
        (
            pd.DataFrame({"a": [1.0] * 8, "b": ["", "x", " ", "nan", "", "x", "\t", ""]}),
            f"column 'b' (rows 0, 2, 3, 4, 6 and 1 more, {COUNTING})",
        ),
        (
            pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}),
            f"column 'a' (row 1, {COUNTING})",
        ),
        (pd.DataFrame({"a": pd.Categorical(["x", None])}), f"column 'a' (row 1, {COUNTING})"),
        (pd.DataFrame({"a": [1.0, np.nan]}, index=["first", "second"]), "column 'a' (row 'second')"),
    ],
)
def test_missing_values_are_refused_at_fit(refused, features, found):
    with refused(f"missing values in {found}; {FIX_MISSING}"):
        TablePreprocessor().fit(features)


def test_missing_values_are_refused_at_transform(refused):
    preprocessor = TablePreprocessor().fit(TRAIN)
    with refused(f"missing values in column 'city' (row 2, {COUNTING}); {FIX_MISSING_AT_TRANSFORM}"):
        preprocessor.transform(TEST.assign(city=["Lima", "Oslo", None]))


@pytest.mark.parametrize(
    "features, found",
    [
        (
            pd.DataFrame({"a": [1.0, np.inf, 2.0], "b": [-np.inf, 0.0, 1.0]}),
            f"columns 'a', 'b' (rows 0, 1, {COUNTING})",
        ),
        (
            pd.DataFrame({"a": pd.Series(["1", "-inf", "1e400"], dtype=object)}),
            f"column 'a' (rows 1, 2, {COUNTING})",
        ),
        (
            pd.DataFrame({"a": pd.Series([1, 10**400], dtype=object)}),
            f"column 'a' (row 1, {COUNTING})",
        ),
    ],
)
def test_infinite_values_are_refused(refused, features, found):
    with refused(f"infinite values in {found}; expected finite numbers. Replace them, or drop those rows."):
        TablePreprocessor().fit(features)


def test_a_column_mixing_numbers_and_text_is_refused_with_an_example_of_each(refused):
    features = pd.DataFrame({"id": [1, 2, 3, 4], "age": pd.Series(["42", "37", 5, "abc"], dtype=object)})
    with refused(
        f"column 'age' mixes numbers and text (row 3: 'abc'; row 0: '42'; {COUNTING}); expected "
        "only numbers or only text in a column."
    ):
        TablePreprocessor().fit(features)
    features = pd.DataFrame({"age": pd.Series(["n/a", 42.0], dtype=object)})
    with refused(
        f"column 'age' mixes numbers and text (row 0: 'n/a'; row 1: 42.0; {COUNTING}); expected "
        "only numbers or only text in a column."
    ):
        TablePreprocessor().fit(features)


@pytest.mark.parametrize(
    "values, found",
    [
        (pd.Series([[1, 2], [3]]), f"a value of type list (row 0: [1, 2]; {COUNTING})"),
        (pd.Series(["x", b"y"]), f"a value of type bytes (row 1: b'y'; {COUNTING})"),
        (pd.Series([1.0, 2j], dtype=object), f"a value of type complex (row 1: 2j; {COUNTING})"),
    ],
)
def test_values_that_are_neither_numbers_nor_text_are_refused(refused, values, found):
    with refused(f"column 'v' holds {found}; expected numbers or text."):
        TablePreprocessor().fit(pd.DataFrame({"v": values}))


@pytest.mark.parametrize(
    "values, dtype",
    [
        (pd.to_timedelta([1, 2], unit="D"), "timedelta64[us]"),
        (np.array([1 + 2j, 3j]), "complex128"),
        (pd.period_range("2024-01", periods=2, freq="M"), "period[M]"),
    ],
)
def test_unsupported_dtypes_are_refused(refused, values, dtype):
    with refused(
        f"column 'when' has dtype {dtype}, which netreg cannot use as a feature; expected numbers, dates or text. "
        "Convert it to numbers or drop the column (`drop=['when']`)."
    ):
        TablePreprocessor().fit(pd.DataFrame({"when": values, "x": [1.0, 2.0]}))


@pytest.mark.parametrize(
    "features, expected, error",
    [
        (
            pd.DataFrame(index=range(3)),
            "the features have no columns; expected at least one feature column besides the target.",
            DataError,
        ),
        (
            pd.DataFrame({"a": [], "b": []}),
            "the features have columns 'a', 'b' but no rows; expected at least one.",
            DataError,
        ),
        (
            pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"]),
            "column 'a' appears 2 times; expected distinct column names.",
            DataError,
        ),
        (
            pd.DataFrame([[1, 2]], columns=["a", 2.5]),
            "column name 2.5 is a float; expected a str or an int.",
            DataError,
        ),
        (np.zeros((2, 2)), "features are a ndarray; expected a pandas DataFrame.", DataError),
    ],
)
def test_tables_that_cannot_be_features_are_refused(refused, features, expected, error):
    with refused(expected, error):
        TablePreprocessor().fit(features)


def test_standardize_must_be_a_bool(refused):
    with refused("`standardize` must be a bool. Got standardize=1.", InvalidParameterError):
        TablePreprocessor(standardize=1).fit(TRAIN)


def test_transform_before_fit_is_a_not_fitted_error_also_for_scikit_learn(refused):
    expected = "This TablePreprocessor instance is not fitted yet. Call 'fit' with the training features first."
    for method in (lambda p: p.transform(TRAIN), lambda p: p.to_config()):
        with refused(expected, NotFittedError):
            method(TablePreprocessor())
    assert issubclass(NotFittedError, SklearnNotFittedError)


@pytest.mark.parametrize(
    "change, found",
    [
        (lambda f: f.drop(columns=["city", "tag"]), "missing 'city', 'tag'"),
        (lambda f: f.assign(extra=1), "unexpected 'extra'"),
        (lambda f: f.rename(columns={"rooms": "Rooms"}), "missing 'rooms'; unexpected 'Rooms'"),
    ],
)
def test_transform_refuses_other_columns_than_at_fit(refused, change, found):
    preprocessor = TablePreprocessor().fit(TRAIN)
    with refused(
        f"the columns differ from those seen at fit ({found}); expected 'height', 'city', 'rooms', 'owner', 'tag', "
        "'constant', in any order."
    ):
        preprocessor.transform(change(TEST))


def test_transform_refuses_text_in_a_column_that_was_numeric(refused):
    preprocessor = TablePreprocessor().fit(TRAIN)
    with refused(
        f"column 'rooms' holds a value that is not a number (row 1: 'many'; {COUNTING}); expected numbers, as at fit."
    ):
        preprocessor.transform(TEST.astype({"rooms": object}).assign(rooms=["2", "many", 1]))
    # Numbers written as text are numbers.
    as_text = TEST.assign(rooms=TEST["rooms"].astype(str))
    np.testing.assert_array_equal(preprocessor.transform(as_text), preprocessor.transform(TEST))


def test_transform_refuses_a_value_that_overflows_once_standardized(refused):
    preprocessor = TablePreprocessor().fit(pd.DataFrame({"a": [0.0, 1e-300]}))
    with refused(
        "column 'a' holds a value too far from those seen at fit to be standardized (row 1: 1e+300; counting from 0, "
        "header excluded; mean 5e-301, scale 5e-301); expected values of a similar magnitude."
    ):
        preprocessor.transform(pd.DataFrame({"a": [0.0, 1e300]}))


# ---------------------------------------------------------------------------------------
# Through scikit-learn: the transformers, their JSON round trip, the estimator API.

EVERY_KIND = pd.DataFrame(
    {
        "real": [0.5, -1.25, 3.0, 2.0, 0.5],
        "count": [3, 1, 4, 1, 5],
        "city": ["Oslo", "Lima", "Oslo", "Paris", "Lima"],
        "as_text": pd.Series(["1", "2.5", " 3", "1e1", "-4"], dtype=object),
        "flag": [True, False, False, True, True],
        "grade": pd.Categorical(["b", "a", "b", "c", "a"]),
        "same": [2.0] * 5,
    }
)
# A city and a grade never seen at fit.
NEW_ROWS = EVERY_KIND.head(2).assign(city=["Tokyo", "Lima"], grade=pd.Categorical(["z", "a"]))


@pytest.mark.parametrize("standardize", [True, False])
def test_round_trip_on_every_kind_of_column_rebuilds_a_column_transformer_that_transforms_identically(standardize):
    preprocessor = TablePreprocessor(standardize=standardize).fit(EVERY_KIND)
    assert preprocessor.numeric_columns_ == ["real", "count", "as_text", "flag", "same"]
    assert preprocessor.categorical_columns_ == ["city", "grade"]
    rebuilt = TablePreprocessor.from_config(json.loads(json.dumps(preprocessor.to_config())))
    assert isinstance(rebuilt.transformer_, ColumnTransformer)
    for data in (EVERY_KIND, NEW_ROWS, EVERY_KIND[::-1]):
        np.testing.assert_array_equal(rebuilt.transform(data), preprocessor.transform(data))
    # The unknown city and grade are rows of zeros in their one-hot columns.
    X = rebuilt.transform(NEW_ROWS)
    names = rebuilt.feature_names_out_
    city = [names.index(f"city_{c}") for c in ("Lima", "Oslo", "Paris")]
    grade = [names.index(f"grade_{g}") for g in ("a", "b", "c")]
    assert X[0, city].tolist() == [0.0] * 3 and X[0, grade].tolist() == [0.0] * 3
    assert X[1, city].tolist() == [1.0, 0.0, 0.0] and X[1, grade].tolist() == [1.0, 0.0, 0.0]
    for attribute in ("means_", "scales_"):
        np.testing.assert_array_equal(getattr(rebuilt, attribute), getattr(preprocessor, attribute))
    assert rebuilt.feature_names_out_ == preprocessor.feature_names_out_ == list(rebuilt.get_feature_names_out())


def test_the_fitted_state_is_that_of_standard_scaler_and_one_hot_encoder_bit_for_bit():
    preprocessor = TablePreprocessor().fit(EVERY_KIND)
    steps = {name: step for name, step, _ in preprocessor.transformer_.transformers_}
    scalers = [step for step in steps.values() if isinstance(step, StandardScaler)]
    encoders = [step for step in steps.values() if isinstance(step, OneHotEncoder)]
    assert len(scalers) + len(encoders) == len(steps) and all(e.handle_unknown == "ignore" for e in encoders)
    numeric = EVERY_KIND[preprocessor.numeric_columns_].astype({"as_text": float}).astype(float)
    scaler = StandardScaler().fit(numeric)
    np.testing.assert_array_equal(preprocessor.means_, scaler.mean_)
    np.testing.assert_array_equal(preprocessor.scales_, scaler.scale_)
    assert preprocessor.scales_[-1] == 1.0  # the constant column, as StandardScaler has it
    encoder = OneHotEncoder().fit(EVERY_KIND[["city", "grade"]].astype(str))
    assert preprocessor.categories_ == [c.tolist() for c in encoder.categories_]


def test_without_standardization_numeric_columns_pass_through():
    preprocessor = TablePreprocessor(standardize=False).fit(EVERY_KIND)
    steps = [
        step if isinstance(step, str) else type(step).__name__ for _, step, _ in preprocessor.transformer_.transformers
    ]
    assert steps == ["passthrough", "OneHotEncoder", "passthrough", "OneHotEncoder", "passthrough"]
    X = preprocessor.transform(EVERY_KIND)
    np.testing.assert_array_equal(X[:, preprocessor.feature_names_out_.index("as_text")], [1.0, 2.5, 3.0, 10.0, -4.0])


def test_it_is_a_scikit_learn_transformer(refused):
    y = np.arange(5.0)
    pipeline = make_pipeline(TablePreprocessor(), Ridge(alpha=1.0)).fit(EVERY_KIND, y)
    reference = Ridge(alpha=1.0).fit(TablePreprocessor().fit_transform(EVERY_KIND), y)
    np.testing.assert_array_equal(
        pipeline.predict(NEW_ROWS), reference.predict(TablePreprocessor().fit(EVERY_KIND).transform(NEW_ROWS))
    )
    assert clone(TablePreprocessor(standardize=False)).get_params() == {
        "standardize": False,
        "impute": None,
        "drop": (),
        "id_column": None,
    }
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(TablePreprocessor())
    frame = TablePreprocessor().set_output(transform="pandas").fit(EVERY_KIND).transform(NEW_ROWS)
    assert (
        isinstance(frame, pd.DataFrame)
        and list(frame.columns) == TablePreprocessor().fit(EVERY_KIND).feature_names_out_
    )


def test_from_config_refuses_statistics_for_columns_that_pass_through(refused):
    config = _with(["standardize"], False)
    with refused("preprocessor config: `columns[0].mean` must be 0 when `standardize` is false; got 0.5."):
        TablePreprocessor.from_config(config)
    config["columns"][0].update(mean=0.0)
    with refused("preprocessor config: `columns[0].scale` must be 1 when `standardize` is false; got 2.0."):
        TablePreprocessor.from_config(config)
    config["columns"][0].update(scale=1.0)
    np.testing.assert_array_equal(
        TablePreprocessor.from_config(config).transform(pd.DataFrame({"a": [7.0], "b": ["x"]})), [[7.0, 1.0, 0.0]]
    )


def test_column_names_that_are_the_same_as_text_are_refused(refused):
    # scikit-learn names columns by text; 0 and "0" would be one column to it.
    with refused("columns 0, '0' have the same name as text; expected distinct column names. Rename one."):
        TablePreprocessor().fit(pd.DataFrame({0: [1.0], "0": [2.0]}))
