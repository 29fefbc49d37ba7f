"""Readers for :func:`netreg.tables.read_table`: a CSV, Parquet or NPZ file to a DataFrame, checked (messages start with the file)."""

from __future__ import annotations

import difflib
import math
import numbers
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from netreg.exceptions import DataError, bad_data
from netreg.message_text import counting, names_text, rows_text, show
from netreg.safe_files import NotRegularFileError, open_regular
from netreg.tables.columns import missing_mask
from netreg.tables.widths import check_table_size, csv_rows

__all__ = [
    "FORMATS",
    "check_file",
    "check_has_rows",
    "check_names",
    "check_target_values",
    "csv_error",
    "read_csv",
    "read_npz",
    "read_parquet",
    "split_target",
    "suggest",
]

#: File extensions read by ``read_table`` (compared in lower case) and their format.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}
SUPPORTED = ", ".join(FORMATS)


def check_file(name: str) -> str:
    """Return the format of an existing, readable, non-empty file, else raise."""
    expected = f"expected a {SUPPORTED.replace(', .npz', ' or .npz')} file"
    unreadable = None
    try:
        with open_regular(name) as handle:  # a link to the data is followed: it is the user's file
            empty = handle.read(1) == b""
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"`{name}`: no such file; {expected}.") from None
    except NotRegularFileError as error:
        found = "is a directory" if error.kind == "a folder" else "is not a regular file"
        raise DataError(f"`{name}`: {found}; {expected}.") from None
    except PermissionError as error:
        unreadable = error  # said after the extension, as a file that exists
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise DataError(f"`{name}`: cannot be accessed ({reason}); {expected}.") from None
    suffix = Path(name).suffix
    if suffix.lower() not in FORMATS:
        found = f"unsupported extension {suffix!r}" if suffix else "no extension"
        raise bad_data(f"`{name}`: {found}", f"one of {SUPPORTED}")
    if unreadable is not None:
        raise bad_data(f"`{name}`: cannot be read ({unreadable.strerror})", "a readable file")
    if empty:
        raise bad_data(f"`{name}`: the file is empty", "at least one column and one row of data")
    return FORMATS[suffix.lower()]


def read_csv(name: str) -> pd.DataFrame:
    """The CSV file as pandas reads it (empty fields and markers such as ``NA`` are NaN).

    A name repeated in the header is refused: pandas would rename the copy (``label.1``)
    and a repeated target would be trained on as a feature. A file whose rows, estimated
    from its size and first lines (:func:`~netreg.tables.widths.csv_rows`), would not fit in
    memory is refused before it is read.
    """
    # The header as written: pandas renames repeated names in the frame it reads.
    header = _parse_csv(name, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
    check_table_size(name, csv_rows(name), len(header), estimated=True)
    frame = _parse_csv(name, low_memory=False)
    check_names(name, [column for column in header if column != ""])  # pandas numbers unnamed columns
    return frame


def _parse_csv(name: str, **options: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(name, **options)
    except pd.errors.EmptyDataError:
        raise bad_data(f"`{name}`: the file is empty", "at least one column and one row of data") from None
    except UnicodeDecodeError as error:
        detail = f"not UTF-8 text: byte 0x{error.object[error.start]:02x} cannot be decoded"
        raise csv_error(name, detail) from error
    except Exception as error:  # any failure of the parser means the file is not valid CSV
        lines = str(error).strip().splitlines() or [type(error).__name__]
        raise csv_error(name, lines[0].removeprefix("Error tokenizing data. C error: ")) from error


def csv_error(name: str, detail: str) -> DataError:
    """The error for a CSV file that the parser refused, ``detail`` saying where."""
    return DataError(
        f"`{name}`: could not be parsed as CSV ({detail}); expected UTF-8 comma-separated values "
        "with a header line and the same number of fields on every line."
    )


def read_parquet(name: str) -> pd.DataFrame:
    """The Parquet file as pandas (with pyarrow) reads it; a column name repeated in it is refused."""
    try:
        names = pq.read_schema(name).names
        metadata = pq.read_metadata(name)
    except Exception:  # noqa: BLE001 - a damaged file: pandas' reader below says so
        names, metadata = [], None
    check_names(name, names)
    if metadata is not None:
        check_table_size(name, metadata.num_rows, metadata.num_columns)
    try:
        return pd.read_parquet(name)
    except Exception as error:  # pyarrow raises several types; all mean the same thing here
        raise DataError(
            f"`{name}`: could not be read as Parquet (the file is truncated, corrupt or of another format); "
            "expected a complete Parquet file such as pandas.DataFrame.to_parquet writes."
        ) from error


def read_npz(name: str, target: str | None) -> tuple[pd.DataFrame, pd.Series | None]:
    """Features and target from the arrays of an NPZ file (see ``read_table`` for the layout)."""
    not_npz = f"`{name}`: is not an NPZ archive; expected a zip archive of named arrays such as numpy.savez writes."
    arrays: dict[str, np.ndarray] = {}
    with open(name, "rb") as handle:
        try:
            archive = np.load(handle, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise DataError(not_npz) from error
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(not_npz.replace("is not an NPZ archive", "holds a single array (.npy), not an archive"))
        with archive:
            check_names(name, archive.files, "array")  # a crafted archive may hold two arrays of one name
            shape = _npz_shape(archive, target)
            if shape is not None:
                check_table_size(name, *shape)
            for key in archive.files:
                try:
                    arrays[key] = archive[key]
                except ValueError as error:
                    if "allow_pickle" not in str(error):
                        raise bad_data(
                            f"`{name}`: array {key!r} could not be read ({error})", "arrays numpy can load"
                        ) from error
                    raise DataError(
                        f"`{name}`: array {key!r} holds Python objects, which are not loaded "
                        "(allow_pickle=False); expected arrays of numbers or text."
                    ) from None
                except Exception as error:  # a damaged member: bad CRC, truncated data, ...
                    raise DataError(
                        f"`{name}`: array {key!r} could not be read (the file is truncated or corrupt); "
                        "expected a complete archive such as numpy.savez writes."
                    ) from error
    if not arrays:
        raise bad_data(f"`{name}`: holds no arrays", "at least one column and one row of data")
    if target is not None and target not in arrays:
        raise bad_data(
            f"`{name}`: no target array {show(target)}",
            "an array of that name",
            suggest(target, arrays, "Arrays").strip(),
        )
    target_array = None if target is None else arrays.pop(target)
    if target_array is not None and target_array.ndim != 1:
        raise DataError(
            f"`{name}`: target array {show(target)} has shape {target_array.shape}; expected a 1-D array of shape (n_rows,)."
        )
    sources = {"X": arrays["X"]} if "X" in arrays else arrays
    columns: dict[str, np.ndarray] = {}
    owners: dict[str, str] = {}
    for key, array in sources.items():
        if key == "X" and array.ndim != 2:
            raise DataError(
                f"`{name}`: array 'X' has shape {array.shape}; expected a 2-D array of shape (n_rows, n_features)."
            )
        if array.ndim not in (1, 2):
            raise DataError(
                f"`{name}`: array {key!r} has shape {array.shape}; expected a 1-D array (one column) "
                "or a 2-D array (one column per entry of its second axis)."
            )
        prefix = "x" if key == "X" else key
        pieces = {key: array} if array.ndim == 1 else {f"{prefix}{k}": array[:, k] for k in range(array.shape[1])}
        for column, values in pieces.items():
            if column in columns:
                raise DataError(
                    f"`{name}`: arrays {show(owners[column])} and {show(key)} both give a column named {show(column)}; "
                    "expected distinct column names. Rename one of the arrays."
                )
            columns[column], owners[column] = values, key
    lengths = {key: len(array) for key, array in sources.items()}
    if target_array is not None:
        lengths[target] = len(target_array)
    if len(set(lengths.values())) > 1:
        counts = ", ".join(f"{key}: {length}" for key, length in lengths.items())
        raise DataError(
            f"`{name}`: arrays have different numbers of rows ({counts}); expected the same number in every array."
        )
    n_rows = next(iter(lengths.values()))
    check_has_rows(name, [*columns, *([] if target is None else [target])], n_rows)
    (only,) = sources.values() if len(sources) == 1 else (None,)
    if only is not None and only.ndim == 2 and only.shape[1]:
        # One 2-D array: its columns as they are, not copied into a new block (a second X).
        features = pd.DataFrame(only, columns=list(columns), copy=False)
    else:
        features = pd.DataFrame(columns) if columns else pd.DataFrame(index=pd.RangeIndex(n_rows))
    return features, None if target_array is None else pd.Series(target_array, name=target)


def _npz_shape(archive: np.lib.npyio.NpzFile, target: str | None) -> tuple[int, int] | None:
    """``(rows, columns)`` of the arrays ``read_npz`` would read, from their ``.npy`` headers
    alone (nothing loaded); None when a header cannot be read (the load then says why)."""
    wanted = [key for key in archive.files if key in ("X", target)] if "X" in archive.files else archive.files
    n_rows, n_columns = 0, 0
    for key in wanted:
        try:
            with archive.zip.open(f"{key}.npy") as handle:
                version = np.lib.format.read_magic(handle)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                shape, _, _ = read_header[version](handle)
        except Exception:  # noqa: BLE001 - a damaged or unusual member: np.load's own error names it
            return None
        n_rows = max(n_rows, shape[0] if shape else 1)
        n_columns += math.prod(shape[1:])
    return n_rows, n_columns


def check_names(name: str, columns: Sequence[str], kind: str = "column") -> None:
    """Raise if a column (or array: ``kind``) name appears twice."""
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise DataError(
                f"`{name}`: {kind} {show(column)} appears {list(columns).count(column)} times; expected distinct "
                f"{kind} names."
            )
        seen.add(column)


def check_has_rows(name: str, columns: Iterable[Any], n_rows: int) -> None:
    """Raise if the file has columns but no rows."""
    if n_rows == 0:
        raise bad_data(f"`{name}`: has columns {names_text(columns)} but no rows", "at least one row of data")


def split_target(name: str, frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, pd.Series | None]:
    """The features (every other column) and the target column, which must exist."""
    if target is None:
        return frame, None
    if target not in frame.columns:
        raise bad_data(
            f"`{name}`: no target column {show(target)}",
            "a column of that name",
            suggest(target, frame.columns, "Columns").strip(),
        )
    return frame.drop(columns=[target]), frame[target]


def suggest(target: str, columns: Iterable[Any], kind: str) -> str:
    """``" Did you mean 'label'? Columns: 'a', 'label'."``: the closest names, then all."""
    names = [str(column) for column in columns]
    close = difflib.get_close_matches(target, names, n=3, cutoff=0.6)
    if not close:
        lowered = {column.lower(): column for column in names}
        close = [lowered[target.lower()]] if target.lower() in lowered else []
    guess = f" Did you mean {' or '.join(show(column) for column in close)}?" if close else ""
    return f"{guess} {kind}: {names_text(names)}."


def check_target_values(name: str, target: pd.Series, kind: str, *, keep_missing: bool = False) -> None:
    """Raise if the target has values that are not numbers or labels (lists, dicts), infinite
    values, or missing ones unless ``keep_missing``, naming their rows."""
    column = f"target {kind} {show(target.name)}"
    if target.dtype == object:
        for row, value in enumerate(target):
            if value is not None and not isinstance(value, str | bool | numbers.Number | np.generic):
                raise DataError(
                    f"`{name}`: {column} holds a value of type {type(value).__name__} ({rows_text([row])}: "
                    f"{show(value)}); expected one number or label per row."
                )
    missing = np.flatnonzero(missing_mask(target.to_frame())[:, 0])
    if len(missing) and not keep_missing:
        rows = missing.tolist()
        raise DataError(
            f"`{name}`: {column} has no value in {rows_text(rows, counted=False)} ({counting(rows)}); expected a "
            "value in every row. Fill in or remove those rows, or pass `drop_missing=True` to drop them."
        )
    if target.dtype.kind in "iufb" and not isinstance(target.dtype, pd.CategoricalDtype):
        infinite = np.flatnonzero(np.isinf(target.to_numpy(dtype=np.float64, na_value=np.nan)))
        if len(infinite):
            rows = infinite.tolist()
            raise DataError(
                f"`{name}`: {column} is infinite in {rows_text(rows, counted=False)} ({counting(rows)}); expected "
                "finite numbers. Fix or remove those rows."
            )
