"""The results store of a sweep: one SQLite file, written as each member finishes.

SQLite is embedded (nothing to install) and commits atomically: a member's row is either
all there or absent, so a run killed at any moment, SIGKILL included, loses only the
members that had not finished. A rerun with the same store resumes: it reads which
members are done and trains only the others.

While a sweep has it open the store is in SQLite's write-ahead-log mode (a report can
read it meanwhile); the last connection to close takes it back to a plain journal, so a
finished run leaves no ``-wal`` or ``-shm`` file beside it. The file's checks, creation
and messages are in :mod:`netreg.tuning.store_files`.

The store remembers what it belongs to: the sweep's specification (parameters, alphas,
folds) and a fingerprint of the data. Opening it for a different sweep or data set is
refused, never overwritten.

Tables::

    sweep(key TEXT PRIMARY KEY, value TEXT)            spec, fingerprint, versions
    members(alpha_index, fold, ..., PRIMARY KEY (alpha_index, fold))
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from netreg.exceptions import StoreError
from netreg.tuning.records import MemberRecord
from netreg.tuning.store_files import check_store_path, create_store_file, read_uri, spec_changes, store_error

__all__ = ["SweepStore", "FORMAT_VERSION"]

FORMAT_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    alpha_index INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    alpha REAL NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    n_iter INTEGER NOT NULL,
    best_epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    history TEXT NOT NULL,
    message TEXT NOT NULL,
    weights BLOB NOT NULL,
    fit_time_s REAL NOT NULL,
    finished_at REAL NOT NULL,
    evidence TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (alpha_index, fold)
);
"""


class SweepStore:
    """A sweep's results on disk.

    Use :meth:`open` to create a store or reopen one for the same sweep.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "sweep.sqlite")
    >>> store = SweepStore.open(path, spec={"alphas": [0.1, 1.0]}, fingerprint="abc")
    >>> store.finished_keys()
    set()
    >>> store.close()
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection = connection

    @classmethod
    def open(cls, path: str | os.PathLike, *, spec: Mapping[str, Any], fingerprint: str) -> SweepStore:
        """Create the store at ``path``, or reopen it if it belongs to this sweep and data.

        A new store is made whole under a temporary name and then given its name, so a
        store file is never found half made (nor an empty file taken for one). Everything
        that would stop the sweep from writing its members is checked here, before any
        member trains.

        Raises
        ------
        StoreError
            If the file cannot be created or written (a read-only file or folder), is a
            link, an empty file or not a netreg store, or was made for another sweep
            specification or another data set.
        """
        path = Path(path)
        connection = None
        try:
            check_store_path(path)
            if not path.exists():
                create_store_file(path, partial(_initialize, spec=dict(spec), fingerprint=fingerprint))
            connection = sqlite3.connect(path, timeout=30.0)
            tables = sorted(
                name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            )
            if tables and "sweep" not in tables:
                # Someone else's database: refuse before writing anything into it.
                raise StoreError(
                    f"{str(path)!r} is a SQLite database of something else (tables {', '.join(tables)}); "
                    "a results store is not written into it. Choose another path."
                )
            store = cls(path, connection)
            if "sweep" in tables and connection.execute("SELECT COUNT(*) FROM sweep").fetchone()[0]:
                store._claim(dict(spec), fingerprint)  # another sweep's store is refused before a byte changes
            _initialize(connection, spec=dict(spec), fingerprint=fingerprint)
            store._claim(dict(spec), fingerprint)
            return store
        except BaseException as error:
            if connection is not None:
                connection.close()
            if isinstance(error, OSError | sqlite3.Error):
                raise store_error(path, error) from None
            raise

    @classmethod
    def read(cls, path: str | os.PathLike) -> SweepStore:
        """Open an existing store for reading (a report of a finished or partial sweep).

        A store in a folder that cannot be written is read as it is (nothing to tidy).
        """
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"No results store at {str(path)!r}; expected the sweep.sqlite file a sweep wrote.")
        try:
            connection = sqlite3.connect(read_uri(path), uri=True, timeout=30.0)
        except sqlite3.Error as error:
            raise store_error(path, error, reading=True) from None
        try:
            connection.execute("SELECT value FROM sweep WHERE key = 'spec'").fetchone()
        except sqlite3.Error as error:
            connection.close()
            raise store_error(path, error, reading=True) from None
        return cls(path, connection)

    def _claim(self, spec: dict[str, Any], fingerprint: str) -> None:
        stored = dict(self._connection.execute("SELECT key, value FROM sweep").fetchall())
        if "spec" not in stored or "fingerprint" not in stored:
            raise StoreError(
                f"{str(self.path)!r} is not a complete netreg results store (no sweep specification). Choose another path."
            )
        if stored.get("format_version") != str(FORMAT_VERSION):
            raise StoreError(
                f"{str(self.path)!r} was written in store format {stored.get('format_version')}; this netreg reads "
                f"format {FORMAT_VERSION}. Use a new store path."
            )
        if stored["fingerprint"] != fingerprint:
            raise StoreError(
                f"The results store {str(self.path)!r} belongs to a different data set (fingerprint "
                f"{stored['fingerprint'][:12]}, this data {fingerprint[:12]}). It was not changed; "
                "use another store path for this data."
            )
        old = json.loads(stored["spec"])
        new = json.loads(json.dumps(spec, sort_keys=True))
        if old != new:
            changed = spec_changes(old, new)
            shown = "; ".join(changed[:4]) + (f"; and {len(changed) - 4} more" if len(changed) > 4 else "")
            raise StoreError(
                f"The results store {str(self.path)!r} belongs to a different sweep ({shown}). It was not changed; "
                "use another store path, or rerun with the stored settings to resume."
            )

    # -- writing -----------------------------------------------------------------------
    def write_member(self, record: MemberRecord, state_dict: Mapping[str, torch.Tensor]) -> bool:
        """Store one finished member in its own transaction; ``False`` if it was already there.

        A member is written once: a retried task cannot duplicate it.
        """
        row = record.to_row()
        weights = save_tensors({name: tensor.detach().cpu().contiguous() for name, tensor in state_dict.items()})
        try:
            with self._connection:
                cursor = self._connection.execute(
                    f"INSERT OR IGNORE INTO members ({', '.join(row)}, weights, finished_at) "
                    f"VALUES ({', '.join('?' * (len(row) + 2))})",
                    (*row.values(), weights, time.time()),
                )
        except sqlite3.Error as error:
            raise StoreError(f"Cannot write to the results store {str(self.path)!r}: {error}.") from None
        return cursor.rowcount == 1

    # -- reading -----------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """The sweep specification the store was created for."""
        row = self._connection.execute("SELECT value FROM sweep WHERE key = 'spec'").fetchone()
        return json.loads(row[0])

    def finished_keys(self) -> set[tuple[int, int]]:
        """``(alpha_index, fold)`` of every stored member."""
        return {(a, f) for a, f in self._connection.execute("SELECT alpha_index, fold FROM members")}

    def members(self) -> list[MemberRecord]:
        """Every stored member's record (no weights), ordered by alpha then fold."""
        columns = MemberRecord.columns()
        stored = {row[1] for row in self._connection.execute("PRAGMA table_info(members)")}
        # A store written before the evidence column (netreg 0.1), opened read-only, reads as empty evidence.
        selected = [name if name in stored else f"'{{}}' AS {name}" for name in columns]
        rows = self._connection.execute(
            f"SELECT {', '.join(selected)} FROM members ORDER BY alpha_index, fold"
        ).fetchall()
        return [MemberRecord.from_row(dict(zip(columns, row, strict=True))) for row in rows]

    def weights(self, alpha_index: int, fold: int) -> dict[str, torch.Tensor]:
        """The kept weights of one member."""
        row = self._connection.execute(
            "SELECT weights FROM members WHERE alpha_index = ? AND fold = ?", (alpha_index, fold)
        ).fetchone()
        if row is None:
            raise StoreError(f"Member (alpha_index={alpha_index}, fold={fold}) is not in {str(self.path)!r}.")
        return load_tensors(row[0])

    def close(self) -> None:
        """Close the database connection; the last one to close leaves no -wal or -shm file.

        SQLite removes its side files when the last connection closes, but two processes
        closing at the same moment can each see the other and leave them. So each tries,
        without waiting, to take the store back to a plain journal, which only the last
        one open can; a process still writing tidies up when it closes in turn.
        """
        with contextlib.suppress(sqlite3.Error):
            self._connection.execute("PRAGMA busy_timeout = 0")  # never wait for another sweep
            self._connection.execute("PRAGMA journal_mode = DELETE")
        self._connection.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _initialize(connection: sqlite3.Connection, *, spec: dict[str, Any], fingerprint: str) -> None:
    """Lay out an empty (or netreg 0.1) store's tables; a new store also gets its sweep."""
    connection.execute("PRAGMA journal_mode=WAL")  # readers (a report) never block the writer
    connection.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable against a killed process
    connection.executescript(_SCHEMA)
    _add_evidence_column(connection)
    if connection.execute("SELECT COUNT(*) FROM sweep").fetchone()[0] == 0:
        entries = {
            "spec": json.dumps(spec, sort_keys=True),
            "fingerprint": fingerprint,
            "format_version": str(FORMAT_VERSION),
            "created": str(time.time()),
        }
        with connection:
            connection.executemany("INSERT INTO sweep (key, value) VALUES (?, ?)", entries.items())


def _add_evidence_column(connection: sqlite3.Connection) -> None:
    """Give a store written by netreg 0.1 the ``evidence`` column, empty for its members."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(members)")}
    if "evidence" not in columns:
        with connection:
            connection.execute("ALTER TABLE members ADD COLUMN evidence TEXT NOT NULL DEFAULT '{}'")
