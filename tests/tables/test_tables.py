"""Reading tables: round trips through CSV, Parquet and NPZ, every refused input with its full message,
the classification/regression rule, dropping incomplete rows, and random awkward CSV files end to end."""

from __future__ import annotations

import csv
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netreg
from netreg.exceptions import InvalidParameterError
from netreg.message_text import COUNTING
from netreg.tables import _readers
from netreg.tables.preprocessing import TablePreprocessor
from netreg.tables.tables import Table, check_classification_target, drop_missing_rows, infer_task, read_table

FRAME = pd.DataFrame(
    {
        "size": [1.5, -2.25, 3.0, 1e-300],
        "count": [1, 2, 3, 40],
        "color": ["red", "blue", "grün", "red"],
        "flag": [True, False, True, True],
        "label": ["yes", "no", "no", "yes"],
    }
)
EXPECTED_FILE = "expected a .csv, .parquet, .pq or .npz file."
EMPTY = "the file is empty; expected at least one column and one row of data."


def _write(frame, path):
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


# ---------------------------------------------------------------------------------------
# Round trips.


@pytest.mark.parametrize("filename, file_format", [("d.csv", "csv"), ("d.parquet", "parquet"), ("d.PQ", "parquet")])
def test_csv_and_parquet_round_trip_the_same_dataframe(tmp_path, filename, file_format):
    path = _write(FRAME, tmp_path / filename)
    table = read_table(path, target="label")
    pd.testing.assert_frame_equal(table.features, FRAME.drop(columns="label"))
    pd.testing.assert_series_equal(table.target, FRAME["label"])
    assert (table.path, table.format) == (str(path), file_format)
    whole = read_table(str(path))
    pd.testing.assert_frame_equal(whole.features, FRAME)
    assert whole.target is None


def test_npz_x_gives_columns_x0_x1_and_the_target_array(tmp_path):
    X, y = np.arange(12.0).reshape(4, 3), np.array([0, 1, 1, 0])
    np.savez(tmp_path / "d.npz", X=X, target=y, ignored=np.zeros(7))
    table = read_table(tmp_path / "d.npz", target="target")
    pd.testing.assert_frame_equal(table.features, pd.DataFrame(X, columns=["x0", "x1", "x2"]))
    pd.testing.assert_series_equal(table.target, pd.Series(y, name="target"))
    assert table.format == "npz"


def test_npz_without_x_makes_a_column_of_each_1d_array_and_columns_a0_a1_of_a_2d_one(tmp_path):
    a, b, city = np.ones((3, 2)), np.array([1, 2, 3]), np.array(["Oslo", "Paris", "Oslo"])
    np.savez(tmp_path / "d.npz", a=a, b=b, city=city, y=np.array([0.5, 1.5, 2.5]))
    table = read_table(tmp_path / "d.npz", target="y")
    expected = pd.DataFrame({"a0": a[:, 0], "a1": a[:, 1], "b": b, "city": city})
    pd.testing.assert_frame_equal(table.features, expected)
    assert table.target.tolist() == [0.5, 1.5, 2.5]


def test_features_keep_their_missing_values(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n1,,0\n,x,1\n3,n/a,0\n")
    table = read_table(tmp_path / "d.csv", target="y")
    assert table.features.isna().to_numpy().tolist() == [[False, True], [True, False], [False, True]]


def test_a_pandas_index_stored_in_parquet_is_not_read_as_a_feature(tmp_path):
    FRAME.set_index("color").to_parquet(tmp_path / "d.parquet")
    table = read_table(tmp_path / "d.parquet")
    assert list(table.features.columns) == ["size", "count", "flag", "label"]
    pd.testing.assert_index_equal(table.features.index, pd.RangeIndex(4))


def test_table_repr_is_one_short_line(tmp_path):
    table = read_table(_write(FRAME, tmp_path / "d.csv"), target="label")
    assert repr(table) == (
        f"Table(path={str(tmp_path / 'd.csv')!r}, format='csv', n_rows=4, "
        "features=['size', 'count', 'color', 'flag'], target='label')"
    )


# ---------------------------------------------------------------------------------------
# The file itself.


def test_missing_file(refused, tmp_path):
    with refused(f"`{tmp_path / 'nope.csv'}`: no such file; {EXPECTED_FILE}"):
        read_table(tmp_path / "nope.csv")


def test_directory(refused, tmp_path):
    (tmp_path / "d.csv").mkdir()
    with refused(f"`{tmp_path / 'd.csv'}`: is a directory; {EXPECTED_FILE}"):
        read_table(tmp_path / "d.csv")


def test_named_pipe_is_not_opened(refused, tmp_path):
    # Opening a FIFO would block forever; it is refused from its stat.
    os.mkfifo(tmp_path / "d.csv")
    with refused(f"`{tmp_path / 'd.csv'}`: is not a regular file; {EXPECTED_FILE}"):
        read_table(tmp_path / "d.csv")


def test_unreadable_file(refused, tmp_path, monkeypatch):
    _write(FRAME, tmp_path / "d.csv")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # The tests may run as root, who reads any file: simulate the refusal of the open.
    monkeypatch.setattr(_readers, "open_regular", denied)
    with refused(f"`{tmp_path / 'd.csv'}`: cannot be read (Permission denied); expected a readable file."):
        read_table(tmp_path / "d.csv")


@pytest.mark.parametrize(
    "filename, found",
    [
        ("d.xlsx", "unsupported extension '.xlsx'"),
        ("d.csv.gz", "unsupported extension '.gz'"),
        ("data", "no extension"),
    ],
)
def test_unknown_extension_lists_the_supported_ones(refused, tmp_path, filename, found):
    (tmp_path / filename).write_text("a\n1\n")
    with refused(f"`{tmp_path / filename}`: {found}; expected one of .csv, .parquet, .pq, .npz."):
        read_table(tmp_path / filename)


@pytest.mark.parametrize(
    "filename, content", [("d.csv", b""), ("d.csv", b"\n \n\n"), ("d.parquet", b""), ("d.npz", b"")]
)
def test_empty_file(refused, tmp_path, filename, content):
    (tmp_path / filename).write_bytes(content)
    with refused(f"`{tmp_path / filename}`: {EMPTY}"):
        read_table(tmp_path / filename)


@pytest.mark.parametrize("filename", ["d.csv", "d.parquet"])
def test_header_only_file(refused, tmp_path, filename):
    path = _write(FRAME.iloc[:0], tmp_path / filename)
    with refused(
        f"`{path}`: has columns 'size', 'count', 'color', 'flag', 'label' but no rows; expected at least one row of data."
    ):
        read_table(path, target="label")


def test_npz_with_arrays_of_no_rows(refused, tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((0, 2)), y=np.zeros(0))
    with refused(
        f"`{tmp_path / 'd.npz'}`: has columns 'x0', 'x1', 'y' but no rows; expected at least one row of data."
    ):
        read_table(tmp_path / "d.npz", target="y")


def test_npz_with_no_arrays(refused, tmp_path):
    np.savez(tmp_path / "d.npz")
    with refused(f"`{tmp_path / 'd.npz'}`: holds no arrays; expected at least one column and one row of data."):
        read_table(tmp_path / "d.npz")


CSV_HINT = "expected UTF-8 comma-separated values with a header line and the same number of fields on every line."


@pytest.mark.parametrize(
    "content, detail",
    [
        (b"a,b\n1,2\n3,4,5\n", "Expected 2 fields in line 3, saw 3"),
        (b'a,b\n1,"2\n', "EOF inside string starting at row 1"),
        ("a,b\n1,é\n".encode("latin-1"), "not UTF-8 text: byte 0xe9 cannot be decoded"),
    ],
)
def test_unparseable_csv(refused, tmp_path, content, detail):
    (tmp_path / "d.csv").write_bytes(content)
    with refused(f"`{tmp_path / 'd.csv'}`: could not be parsed as CSV ({detail}); {CSV_HINT}"):
        read_table(tmp_path / "d.csv")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_parquet(refused, tmp_path, cut):
    content = _write(FRAME, tmp_path / "whole.parquet").read_bytes()
    (tmp_path / "d.parquet").write_bytes(content[: int(len(content) * cut)])
    with refused(
        f"`{tmp_path / 'd.parquet'}`: could not be read as Parquet (the file is truncated, corrupt or of another "
        "format); expected a complete Parquet file such as pandas.DataFrame.to_parquet writes."
    ):
        read_table(tmp_path / "d.parquet")


def _npz_bytes(tmp_path, **arrays):
    np.savez(tmp_path / "whole.npz", **arrays)
    return (tmp_path / "whole.npz").read_bytes()


NOT_NPZ = "is not an NPZ archive; expected a zip archive of named arrays such as numpy.savez writes."


@pytest.mark.parametrize(
    "make, found",
    [
        (lambda tmp_path: b"a,b\n1,2\n", NOT_NPZ),
        (lambda tmp_path: _npz_bytes(tmp_path, X=np.ones((50, 4)))[:-30], NOT_NPZ),
        (
            lambda tmp_path: (np.save(tmp_path / "a.npy", np.ones(3)), (tmp_path / "a.npy").read_bytes())[1],
            NOT_NPZ.replace("is not an NPZ archive", "holds a single array (.npy), not an archive"),
        ),
        (
            lambda tmp_path: _npz_bytes(tmp_path, a=np.array([1, "x"], dtype=object)),
            "array 'a' holds Python objects, which are not loaded (allow_pickle=False); expected arrays of numbers "
            "or text.",
        ),
    ],
    ids=["text", "truncated", "npy", "pickled"],
)
def test_npz_that_cannot_be_read(refused, tmp_path, make, found):
    (tmp_path / "d.npz").write_bytes(make(tmp_path))
    with refused(f"`{tmp_path / 'd.npz'}`: {found}"):
        read_table(tmp_path / "d.npz")


def test_npz_with_a_damaged_member(refused, tmp_path):
    content = bytearray(_npz_bytes(tmp_path, X=np.arange(64.0).reshape(16, 4)))
    start = content.index(b"\x93NUMPY")  # the stored (uncompressed) .npy member
    content[start + 200] ^= 0xFF  # its CRC no longer matches
    (tmp_path / "d.npz").write_bytes(bytes(content))
    with refused(
        f"`{tmp_path / 'd.npz'}`: array 'X' could not be read (the file is truncated or corrupt); expected a "
        "complete archive such as numpy.savez writes."
    ):
        read_table(tmp_path / "d.npz")


@pytest.mark.parametrize(
    "arrays, target, found",
    [
        (
            {"a": np.zeros(3), "b": np.zeros((4, 2)), "y": np.zeros(3)},
            "y",
            "arrays have different numbers of rows (a: 3, b: 4, y: 3); expected the same number in every array.",
        ),
        (
            {"X": np.zeros((3, 2)), "y": np.zeros(5)},
            "y",
            "arrays have different numbers of rows (X: 3, y: 5); expected the same number in every array.",
        ),
        (
            {"X": np.zeros(3)},
            None,
            "array 'X' has shape (3,); expected a 2-D array of shape (n_rows, n_features).",
        ),
        (
            {"a": np.zeros((3, 2, 2))},
            None,
            "array 'a' has shape (3, 2, 2); expected a 1-D array (one column) or a 2-D array (one column per entry "
            "of its second axis).",
        ),
        (
            {"X": np.zeros((3, 2)), "y": np.zeros((3, 1))},
            "y",
            "target array 'y' has shape (3, 1); expected a 1-D array of shape (n_rows,).",
        ),
        (
            {"a": np.zeros((3, 2)), "a1": np.zeros(3)},
            None,
            "arrays 'a' and 'a1' both give a column named 'a1'; expected distinct column names. Rename one of the "
            "arrays.",
        ),
        (
            {"X": np.zeros((3, 2)), "target": np.zeros(3)},
            "traget",
            "no target array 'traget'; expected an array of that name. Did you mean 'target'? Arrays: 'X', 'target'.",
        ),
    ],
    ids=["lengths", "lengths-x", "x-1d", "3d", "target-2d", "collision", "target-missing"],
)
def test_npz_arrays_of_the_wrong_shape_or_name(refused, tmp_path, arrays, target, found):
    np.savez(tmp_path / "d.npz", **arrays)
    with refused(f"`{tmp_path / 'd.npz'}`: {found}"):
        read_table(tmp_path / "d.npz", target=target)


# ---------------------------------------------------------------------------------------
# The target.


@pytest.mark.parametrize(
    "target, suggestion",
    [
        ("lable", " Did you mean 'label'?"),
        ("LABEL", " Did you mean 'label'?"),
        ("y", ""),
        ("colour", " Did you mean 'color'?"),
    ],
)
def test_target_not_found_suggests_the_closest_columns_and_lists_them(refused, tmp_path, target, suggestion):
    path = _write(FRAME, tmp_path / "d.csv")
    with refused(
        f"`{path}`: no target column {target!r}; expected a column of that name.{suggestion} Columns: 'size', 'count', 'color', 'flag', 'label'."
    ):
        read_table(path, target=target)


def test_target_not_found_among_many_columns_lists_the_first_twenty(refused, tmp_path):
    path = _write(pd.DataFrame({f"c{i}": [i] for i in range(25)}), tmp_path / "d.csv")
    listed = ", ".join(f"'c{i}'" for i in range(20))
    with refused(f"`{path}`: no target column 'label'; expected a column of that name. Columns: {listed} and 5 more."):
        read_table(path, target="label")


def test_target_with_missing_values_names_the_first_five_rows(refused, tmp_path):
    y = [1.0, np.nan, 2.0, np.nan, np.nan, np.nan, 3.0, np.nan, np.nan]
    path = _write(pd.DataFrame({"a": range(9), "y": y}), tmp_path / "d.parquet")
    with refused(
        f"`{path}`: target column 'y' has no value in rows 1, 3, 4, 5, 7 and 1 more (counting from 0, header "
        "excluded); expected a value in every row. Fill in or remove those rows, or pass `drop_missing=True` to drop "
        "them."
    ):
        read_table(path, target="y")


def test_target_with_empty_text_or_none(refused, tmp_path):
    path = _write(pd.DataFrame({"a": [1, 2, 3], "y": ["x", " ", None]}), tmp_path / "d.parquet")
    with refused(
        f"`{path}`: target column 'y' has no value in rows 1, 2 ({COUNTING}); expected a value "
        "in every row. Fill in or remove those rows, or pass `drop_missing=True` to drop them."
    ):
        read_table(path, target="y")


def test_target_with_infinite_values(refused, tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 1)), y=np.array([1.0, -np.inf, 2.0]))
    with refused(
        f"`{tmp_path / 'd.npz'}`: target array 'y' is infinite in row 1 ({COUNTING}); expected "
        "finite numbers. Fix or remove those rows."
    ):
        read_table(tmp_path / "d.npz", target="y")


def test_arguments_of_the_wrong_type(refused):
    with refused("`target` must be a column name (str) or None. Got target=3.", InvalidParameterError):
        read_table("d.csv", target=3)
    with refused("`path` must be a str or os.PathLike. Got path=None.", InvalidParameterError):
        read_table(None)
    with refused("`path` must be a str or os.PathLike. Got path=b'd.csv'.", InvalidParameterError):
        read_table(b"d.csv")


# ---------------------------------------------------------------------------------------
# infer_task and check_classification_target.


@pytest.mark.parametrize(
    "values, task",
    [
        (["cat", "dog", "cat"], "classification"),  # text
        ([True, False, True], "classification"),  # boolean
        (pd.Categorical([0.5, 1.5]), "classification"),  # declared categories, even of floats
        ([0, 1, 2, 1], "classification"),  # integers, few distinct values
        ([0.0, 1.0, 2.0, np.nan], "classification"),  # integral floats; NaN ignored
        (list(range(20)), "classification"),  # 20 distinct integers: the limit
        (list(range(21)), "regression"),  # 21 distinct integers
        ([0.5, 1.0, 2.0], "regression"),  # a fraction
        ([1.0, np.inf], "regression"),  # inf is not an integer
        (pd.Series([1, 2, 3], dtype=object), "classification"),  # object of integers is numeric
        (pd.Series([1.5, 2.0], dtype=object), "regression"),
        (pd.array([1, 2, None], dtype="Int64"), "classification"),
        (np.array([1 + 0j, 2 + 0j]), "regression"),  # complex numbers are never integers
    ],
)
def test_infer_task_rule(values, task):
    assert infer_task(pd.Series(values)) == task


def test_infer_task_refuses_a_target_without_values(refused):
    with refused("target column 'y' has no values; expected at least one."):
        infer_task(pd.Series([np.nan, np.nan], name="y"))


def test_check_classification_target_accepts_two_classes_and_refuses_one(refused):
    assert check_classification_target(pd.Series(["a", "b", np.nan])) is None
    with refused(
        "target column 'label' has a single class ('a'); expected at least two classes to classify. "
        "Choose another target column, or add rows of other classes."
    ):
        check_classification_target(pd.Series(["a", np.nan, "a"], name="label"))
    with refused(
        "target has a single class (1); expected at least two classes to classify. "
        "Choose another target column, or add rows of other classes."
    ):
        check_classification_target(pd.Series(np.array([1, 1, 1])))


# ---------------------------------------------------------------------------------------
# drop_missing_rows.


def test_drop_missing_rows_drops_nan_none_and_blank_text_and_reports_positions():
    features = pd.DataFrame(
        {"a": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0], "b": ["x", "y", "", None, "  ", "nan"], "c": [1, 2, 3, 4, 5, 7]},
        index=[10, 11, 12, 13, 14, 15],
    )
    target = pd.Series([0, 1, 0, 1, 0, 1], index=features.index, name="y")
    kept, kept_target, dropped = drop_missing_rows(features, target)
    assert dropped == [1, 2, 3, 4, 5]
    pd.testing.assert_frame_equal(kept, features.loc[[10]])
    pd.testing.assert_series_equal(kept_target, target.loc[[10]])


def test_drop_missing_rows_agrees_with_pandas_dropna_on_nan_and_none():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 3))
    values[rng.random(values.shape) < 0.2] = np.nan
    features = pd.DataFrame(values, columns=["a", "b", "c"]).assign(d=lambda f: np.where(f.a > 0, "p", None))
    kept, target, dropped = drop_missing_rows(features)
    pd.testing.assert_frame_equal(kept, features.dropna())
    assert target is None
    assert dropped == sorted(set(range(40)) - set(features.dropna().index))


def test_rows_named_after_dropping_are_still_the_rows_of_the_file(refused, tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n1,x,0\n,y,1\n2,z,0\ninf,x,1\n")
    table = read_table(tmp_path / "d.csv", target="y")
    features, target, dropped = drop_missing_rows(table.features, table.target)
    assert dropped == [1] and target.tolist() == [0, 0, 1]
    with refused(
        f"infinite values in column 'a' (row 3, {COUNTING}); expected finite numbers. Replace them, or drop those rows."
    ):
        TablePreprocessor().fit(features)


def test_drop_missing_rows_checks_its_arguments(refused):
    with refused("features with 2 rows and a target with 3 rows; expected one target value per row."):
        drop_missing_rows(pd.DataFrame({"a": [1, 2]}), pd.Series([1, 2, 3]))
    with refused("features are a ndarray; expected a pandas DataFrame."):
        drop_missing_rows(np.zeros((2, 2)))


# ---------------------------------------------------------------------------------------
# From file to matrix: random awkward tables.

_AWKWARD_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 1e-300, 0.0, -0.0]),
)
_AWKWARD_TEXT = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["", " ", "nan", "NA", "n/a", "inf", "-1e400", "42", "3.5", "1_000", "True", 'é,"\n', "日本"]),
)
_COLUMN = st.one_of(
    st.lists(_AWKWARD_FLOATS, min_size=1, max_size=6),
    st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=6),
    st.lists(_AWKWARD_TEXT, min_size=1, max_size=6),
    st.lists(st.one_of(_AWKWARD_TEXT, _AWKWARD_FLOATS), min_size=1, max_size=6),
)


@st.composite
def _tables_of_awkward_values(draw):
    columns = draw(st.lists(_COLUMN, min_size=1, max_size=4))
    n_rows = min(len(column) for column in columns)
    return pd.DataFrame({f"c{j}": column[:n_rows] for j, column in enumerate(columns)}, dtype=object)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=_tables_of_awkward_values(), quote_text=st.booleans(), standardize=st.booleans())
def test_any_csv_gives_a_finite_matrix_or_a_data_error(tmp_path, frame, quote_text, standardize):
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC if quote_text else csv.QUOTE_MINIMAL)
    try:
        table = read_table(path)
        X = TablePreprocessor(standardize=standardize).fit_transform(table.features)
    except netreg.DataError:
        return
    assert isinstance(table, Table)
    assert X.dtype == np.float64 and X.ndim == 2
    assert np.isfinite(X).all()
    assert X.shape[0] == len(table.features)
    if quote_text:
        # Unquoted, a text of blanks makes a blank line, which is no row; quoted, every row is kept.
        assert X.shape[0] == len(frame)


@pytest.mark.parametrize(
    "header, repeated, times",
    [
        ("a,b,c,d,label,label", "label", 2),  # pandas would read the copy as a feature 'label.1'
        ("a,a,label", "a", 2),
        ('"x",x,"x",label', "x", 3),
        ("\ufeffa,b,a,label", "a", 2),  # after a byte order mark
    ],
)
def test_a_csv_header_that_repeats_a_name_is_refused_naming_it(refused, tmp_path, header, repeated, times):
    path = tmp_path / "d.csv"
    width = header.count(",") + 1
    path.write_text(header + "\n" + "".join(",".join([str(i)] * width) + "\n" for i in range(4)), encoding="utf-8")
    with refused(f"`{path}`: column {repeated!r} appears {times} times; expected distinct column names."):
        read_table(path, target="label")


def test_unnamed_csv_columns_are_not_repeats(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(",,label\n1,2,x\n3,4,y\n")  # pandas names them 'Unnamed: 0', 'Unnamed: 1'
    assert list(read_table(path, target="label").features.columns) == ["Unnamed: 0", "Unnamed: 1"]


def test_parquet_and_npz_files_that_repeat_a_name_are_refused(refused, tmp_path):
    import warnings
    import zipfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array([1, 2]), pa.array(["x", "y"]), pa.array(["x", "y"])], names=["a", "label", "label"])
    pq.write_table(table, tmp_path / "d.parquet")
    with refused(f"`{tmp_path / 'd.parquet'}`: column 'label' appears 2 times; expected distinct column names."):
        read_table(tmp_path / "d.parquet", target="label")
    np.savez(tmp_path / "one.npz", a=np.arange(3.0), label=np.arange(3))
    with zipfile.ZipFile(tmp_path / "one.npz") as source, zipfile.ZipFile(tmp_path / "d.npz", "w") as crafted:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the repeated name it writes
            for name in ("a.npy", "a.npy", "label.npy"):
                crafted.writestr(name, source.read(name))
    with refused(f"`{tmp_path / 'd.npz'}`: array 'a' appears 2 times; expected distinct array names."):
        read_table(tmp_path / "d.npz", target="label")


@pytest.mark.parametrize(
    "values, kind, shown",
    [([[1, 2], [3]], "ndarray", "array([1, 2])"), ([{"k": 1}, {"k": 2}], "dict", "{'k': 1}")],
)
def test_a_target_of_lists_or_dicts_is_refused(refused, tmp_path, values, kind, shown):
    path = _write(pd.DataFrame({"a": [1.0, 2.0], "y": values}), tmp_path / "d.parquet")
    with refused(
        f"`{path}`: target column 'y' holds a value of type {kind} (row 0, {COUNTING}: {shown}); expected one number or label per row."
    ):
        read_table(path, target="y")


def _npy_header(shape, dtype):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_an_npz_whose_headers_declare_more_rows_than_memory_is_refused_before_reading(refused, tmp_path):
    # A few hundred bytes that say 3 billion rows: the headers are read, never the data (there is none).
    import zipfile

    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", _npy_header((3_000_000_000, 10), "<f8"))
        archive.writestr("target.npy", _npy_header((3_000_000_000,), "<i8"))
        archive.writestr("ignored.npy", _npy_header((3_000_000_000, 1000), "<f8"))  # beside X, never read
    budget = netreg.memory.memory_budget()
    with pytest.raises(
        netreg.DataError, match=r"^`.*huge\.npz`: 3,000,000,000 rows x 11 columns need about 983\.5 GiB"
    ):
        read_table(path, target="target")
    assert budget < 983.5 * 1024**3  # (a machine with 2 TB free would read on, and find the data missing)


@pytest.mark.parametrize("suffix", [".npz", ".parquet", ".csv"])
def test_a_table_too_large_for_the_budget_is_refused_before_its_values_are_read(
    refused, tmp_path, monkeypatch, budget, suffix
):
    path = tmp_path / f"data{suffix}"
    X = np.arange(3000.0).reshape(1000, 3)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "target": np.arange(1000) % 2})
    if suffix == ".npz":
        np.savez(path, X=X, target=np.arange(1000) % 2)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    read_csv = pd.read_csv

    def never(*args, **kwargs):
        raise AssertionError("the values were read before the refusal")

    def first_lines_only(*args, **kwargs):  # a CSV says its columns in its first line only
        assert kwargs.get("nrows") is not None, "the rows were read before the refusal"
        return read_csv(*args, **kwargs)

    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", never)
    monkeypatch.setattr(pd, "read_parquet", never)
    monkeypatch.setattr(pd, "read_csv", first_lines_only)
    budget(100 / 1024**2)  # 100 KiB; 1000 rows x 4 columns in 4 copies of 8 bytes are 125 KiB
    # A CSV's rows are estimated from its size and first lines (here exactly: it is smaller than the sample).
    rows = "about 1,000 rows (estimated from the file's size and first lines)" if suffix == ".csv" else "1,000 rows"
    with refused(
        f"`{path}`: {rows} x 4 columns need about 125 KiB to read and encode (4 copies of 8-byte values); "
        "expected a table within the 100 KiB netreg may take (half the memory available). Use a sample of the rows, "
        "or fewer columns."
    ):
        read_table(path, target="target")
    monkeypatch.undo()
    table = read_table(path, target="target")
    np.testing.assert_array_equal(table.features.to_numpy(), X)  # within the budget, read as before
