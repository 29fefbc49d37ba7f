"""The encoded table's size: refused before it is built when it would not fit in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netreg.tables.preprocessing import TablePreprocessor
from netreg.tables.widths import check_encoded_size, csv_rows, encoded_bytes

HINT = (
    "Drop text columns that identify rows (a different value in almost every row, such as an id), group rare "
    "categories into one, or use fewer rows."
)


def _table(n):
    # "id" names each user twice: many categories, yet not a value per row, which the
    # column typing refuses on its own (netreg.tables.cardinality) before any size is checked.
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"id": [f"user{i // 2}" for i in range(n)], "size": rng.normal(size=n), "color": rng.choice(["red", "blue"], n)}
    )


def test_an_id_column_that_would_not_fit_is_refused_at_fit_naming_it(budget, refused):
    table = _table(4000)  # one-hot: 4000 rows x (1 + 2000 + 2) columns, 128 MB at the peak
    budget(32 / 1024)  # 32 MiB
    message = (
        "4,000 rows encoded as 2,003 columns need about 122 MiB; the widest one-hot encoded columns: 'id' (2,000 "
        f"categories), 'color' (2 categories); expected an encoded table within the 32 MiB netreg may take (half "
        f"the memory available). {HINT}"
    )
    with refused(message):
        TablePreprocessor().fit(table)
    with refused(message):
        TablePreprocessor().fit_transform(table)
    assert encoded_bytes(4000, 2003) == 2 * 8 * 4000 * 2003


def test_transform_is_sized_from_the_categories_seen_at_fit(budget, refused):
    preprocessor = TablePreprocessor().fit(_table(600))  # 303 columns
    budget(1)
    many = pd.concat([_table(600)] * 20, ignore_index=True)  # 12,000 rows
    assert preprocessor.transform(many).shape == (12_000, 303)
    budget(32 / 1024)
    with refused(
        "12,000 rows encoded as 303 columns need about 55 MiB; the widest one-hot encoded columns: 'id' (300 "
        "categories), 'color' (2 categories); expected an encoded table within the 32 MiB netreg may take (half "
        f"the memory available). {HINT}"
    ):
        preprocessor.transform(many)


def test_a_table_of_numbers_is_named_without_categories(budget, refused):
    budget(1 / 1024)
    check_encoded_size(10, 10, [])
    with refused(
        "100,000 rows encoded as 10 columns need about 15 MiB; expected an encoded table within the 1 MiB netreg "
        f"may take (half the memory available). {HINT}"
    ):
        check_encoded_size(100_000, 10, [])


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_csv_s_rows_are_estimated_from_its_first_lines_and_its_size(tmp_path, ending):
    # Lines of one width: the first lines' width times the file's size gives the rows exactly,
    # whether the sample ends on a line break or inside a line.
    path = tmp_path / "data.csv"
    lines = [f"{i:06d},{i % 7}" for i in range(5000)]
    path.write_bytes(ending.join(["id,group", *lines, ""]).encode())
    assert csv_rows(str(path)) == len(lines)  # the whole file in the sample: counted
    for sample_bytes in (30, 100, 1001, 4096):
        assert csv_rows(str(path), sample_bytes=sample_bytes) == len(lines)
    path.write_bytes(ending.join(["id,group", *lines]).encode())  # no line break after the last row
    assert csv_rows(str(path)) == len(lines)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_csv_header_longer_than_the_sample_is_skipped_before_rows_are_estimated(tmp_path, ending):
    # A wide table: its header (about 1,100 bytes) and each row (about 400 bytes) are longer
    # than the sample, which holds no complete line; the first row, read on to its end, gives
    # the rows exactly (rows of one width). Counting the sample's bytes as rows estimated thousands.
    path = tmp_path / "wide.csv"
    header = ",".join(f"column{j:04d}" for j in range(100))
    lines = [",".join(f"{i:03d}" for _ in range(100)) for i in range(50)]
    path.write_bytes(ending.join([header, *lines, ""]).encode())
    for sample_bytes in (10, 64, 399, 400, 401, 1000):
        assert csv_rows(str(path), sample_bytes=sample_bytes) == len(lines)
    path.write_bytes(ending.join([header, lines[0]]).encode())  # one row, without a line break after it
    for sample_bytes in (10, 399, 400, 401, 1000):
        assert csv_rows(str(path), sample_bytes=sample_bytes) == 1
