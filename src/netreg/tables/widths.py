"""The size of a table read and encoded, checked against :mod:`netreg.memory`'s budget before it is read or built."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, BinaryIO

from netreg import memory
from netreg.exceptions import bad_data
from netreg.message_text import show

__all__ = [
    "CSV_SAMPLE_BYTES",
    "ENCODING_COPIES",
    "TABLE_COPIES",
    "check_encoded_size",
    "check_table_size",
    "csv_rows",
    "encoded_bytes",
]

#: The encoded matrix is float64, built from its parts (one per run of columns of one
#: kind) which are held while they are stacked: about twice its own size at the peak.
ENCODING_COPIES = 2
#: Copies of a table's values, 8 bytes each, at the peak of reading and encoding it: the
#: arrays as read, the DataFrame made of them, the typed frame and the encoded matrix.
TABLE_COPIES = 4
#: The bytes of a CSV file's beginning whose lines estimate its rows (:func:`csv_rows`).
CSV_SAMPLE_BYTES = 1 << 20


def encoded_bytes(n_rows: int, n_columns: int) -> int:
    """Peak bytes of encoding ``n_rows`` rows into ``n_columns`` float64 columns.

    Examples
    --------
    >>> encoded_bytes(20_000, 20_001) / 1e9  # an id column of 20,000 rows, one-hot encoded
    6.40032
    """
    return ENCODING_COPIES * 8 * n_rows * n_columns


def check_encoded_size(n_rows: int, n_columns: int, categories: Sequence[tuple[Any, int]]) -> None:
    """Refuse to encode ``n_rows`` rows into ``n_columns`` columns if that would not fit in memory.

    ``categories`` lists each one-hot encoded column with its number of categories; the
    message names the widest.

    Raises
    ------
    DataError
        Saying how much memory the encoding needs, the budget, the widest text columns,
        and what to do.

    Examples
    --------
    >>> check_encoded_size(1000, 12, [("color", 3)])
    """
    needed, budget = encoded_bytes(n_rows, n_columns), memory.memory_budget()
    if needed <= budget:
        return
    widest = sorted(categories, key=lambda item: -item[1])[:3]
    named = ", ".join(f"{show(name)} ({count:,} categories)" for name, count in widest)
    among = f"; the widest one-hot encoded columns: {named}" if widest else ""
    raise bad_data(
        f"{n_rows:,} rows encoded as {n_columns:,} columns need about {memory.size_text(needed)}{among}",
        f"an encoded table within the {memory.size_text(budget)} netreg may take (half the memory available)",
        "Drop text columns that identify rows (a different value in almost every row, such as an id), "
        "group rare categories into one, or use fewer rows.",
    )


def check_table_size(path: str, n_rows: int, n_columns: int, *, estimated: bool = False) -> None:
    """Refuse a file of ``n_rows`` rows and ``n_columns`` columns (as its header or metadata
    says, before it is read) whose :data:`TABLE_COPIES` copies of 8-byte values would not fit
    in :func:`netreg.memory.memory_budget`.

    ``estimated`` says that ``n_rows`` is an estimate (a CSV file's, from its size and first
    lines: :func:`csv_rows`), and the message says so.

    Raises
    ------
    DataError
        Naming the file, its shape, the memory reading it needs and the budget.

    Examples
    --------
    >>> check_table_size("data.npz", 1000, 12)
    """
    needed, budget = TABLE_COPIES * 8 * n_rows * n_columns, memory.memory_budget()
    if needed <= budget:
        return
    rows = (
        f"about {n_rows:,} rows (estimated from the file's size and first lines)" if estimated else f"{n_rows:,} rows"
    )
    raise bad_data(
        f"`{path}`: {rows} x {n_columns:,} columns need about {memory.size_text(needed)} to read and encode "
        f"({TABLE_COPIES} copies of 8-byte values)",
        f"a table within the {memory.size_text(budget)} netreg may take (half the memory available)",
        "Use a sample of the rows, or fewer columns.",
    )


def csv_rows(path: str, sample_bytes: int = CSV_SAMPLE_BYTES) -> int:
    r"""The number of data rows of a CSV file, estimated before it is read: the lines of the
    ``sample_bytes`` bytes after its header, scaled by the size of its data (exact when the
    data is no larger). A header of any length is skipped (a wide table's header may be
    longer than the sample), and when the sample holds no complete line, the first line is
    read on to its end: the estimate is the data's size over that line's. A line break
    inside a quoted field counts as a row: an estimate errs on the side of more rows.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "data.csv")
    ...     with open(path, "w") as handle:
    ...         _ = handle.write("a,b\n" + "".join(f"{i},{i % 10}\n" for i in range(1000)))
    ...     csv_rows(path), csv_rows(path, sample_bytes=100)  # its first lines are its shortest
    (1000, 1296)
    """
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        header = _line_length(handle, sample_bytes)
        sample = handle.read(sample_bytes)
        whole = sample[: sample.rfind(b"\n") + 1]  # the sample's complete lines
        lines, line_bytes = whole.count(b"\n"), len(whole)
        if not whole:  # a first line longer than the sample: its length, read on to its end
            lines, line_bytes = 1, len(sample) + _line_length(handle, sample_bytes)
    if header + len(sample) >= size:  # the whole data in the sample: its lines, the last one's break or not
        return sample.count(b"\n") + (1 if sample and not sample.endswith(b"\n") else 0)
    return math.ceil((size - header) * lines / max(line_bytes, 1))


def _line_length(handle: BinaryIO, chunk_bytes: int) -> int:
    """The bytes from ``handle``'s position to the end of its line (its line break included)
    or of the file, read ``chunk_bytes`` at a time and not held: a line may be longer than memory."""
    length = 0
    while part := handle.readline(max(chunk_bytes, 1)):
        length += len(part)
        if part.endswith(b"\n"):
            break
    return length
