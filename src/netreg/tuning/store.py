"""The results store of a sweep: one SQLite file, written as each member finishes (a killed run
loses only unfinished members; a rerun resumes), holding the sweep's spec and the data's
fingerprint, checked before use (``docs/architecture.md``, "Conventions"). Its file:
:mod:`netreg.tuning.store_files`; its tables: ``_SCHEMA``.
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
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from netreg._checks import ALPHA, COUNT
from netreg.exceptions import StoreError
from netreg.json_fields import InRange, Is, Items, Keys, OneOf, check_fields
from netreg.losses import TASKS
from netreg.tuning import store_files
from netreg.tuning.records import MemberRecord
from netreg.tuning.store_files import (
    check_store_name,
    check_store_path,
    create_store_file,
    damaged,
    damaged_prefix,
    member_fix,
    read_uri,
    spec_changes,
    store_error,
)

__all__ = ["SweepStore", "FORMAT_VERSION", "READ_FORMATS"]

#: The format this netreg writes. Format 2 may hold members stored owing their evidence
#: (:attr:`MemberRecord.evidence_pending`), which netreg before it would read as complete.
FORMAT_VERSION = 2
#: The formats it reads: a format-1 store reopened to write becomes format 2 (its rows unchanged).
READ_FORMATS = (1, 2)

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
_TABLES = ("sweep", "members")

#: What the results read of the stored specification (a sweep's spec has more: params, folds, ...).
_SPEC = Keys(
    {
        "alphas": Items(InRange(ALPHA)),
        "n_folds": InRange(COUNT),
        "task": OneOf(*TASKS),
    },
    optional={
        "n_outputs": InRange(COUNT),
        "estimator": Is(str, expected="a str"),
        "params": Keys({}, others=True, expected="a JSON object"),
    },
    others=True,
    expected="a JSON object",
)


class SweepStore:
    """A sweep's results on disk: :meth:`open` creates one or reopens it for the same sweep.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "sweep.sqlite")
    >>> store = SweepStore.open(path, spec={"alphas": [0.1, 1.0], "n_folds": 2, "task": "binary"}, fingerprint="abc")
    >>> store.finished_keys()
    set()
    >>> store.close()
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection = connection

    @classmethod
    def open(cls, path: str | os.PathLike, *, spec: Mapping[str, Any], fingerprint: str) -> SweepStore:
        """Create the store at ``path`` (made whole, then named), or reopen it if it belongs to this
        sweep and data; all that would stop the sweep writing is checked before any member trains.

        Raises
        ------
        StoreError
            If the file cannot be created or written, is a link, empty or not a netreg store, is
            locked for longer than :data:`~netreg.tuning.store_files.BUSY_TIMEOUT_S`, or belongs to
            another sweep or data set.
        InvalidParameterError
            If ``path`` is ``":memory:"`` or empty (:func:`~netreg.tuning.store_files.check_store_name`).
        """
        check_store_name(path)
        path = Path(path)
        connection = None
        try:
            check_store_path(path)
            if not path.exists():
                create_store_file(path, partial(_initialize, spec=dict(spec), fingerprint=fingerprint))
            connection = sqlite3.connect(path, timeout=store_files.BUSY_TIMEOUT_S)
            store = cls(path, connection)
            tables = store._tables()
            if tables and "sweep" not in tables and not store._has_members_table():
                # Someone else's database: refuse before writing anything into it.
                raise StoreError(
                    f"{str(path)!r} is a SQLite database of something else (tables {', '.join(tables)}); "
                    "a results store is not written into it. Choose another path."
                )
            if store._holds_a_sweep(tables):
                if "sweep" in tables:
                    store._check_format()
                store.check()  # a resume never builds on a damaged store
                store._claim(dict(spec), fingerprint)  # another sweep's store is refused before a byte changes
            _initialize(connection, spec=dict(spec), fingerprint=fingerprint)
            store._claim(dict(spec), fingerprint)
            with connection:  # written to from now on: no older netreg may read an owing member as whole
                connection.execute("UPDATE sweep SET value = ? WHERE key = 'format_version'", (str(FORMAT_VERSION),))
            return store
        except BaseException as error:
            if connection is not None:
                connection.close()
            if isinstance(error, OSError | sqlite3.Error):
                raise store_error(path, error) from None
            raise

    @classmethod
    def read(cls, path: str | os.PathLike) -> SweepStore:
        """Open an existing store for reading (a report of a finished or partial sweep), checked."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"No results store at {str(path)!r}; expected the sweep.sqlite file a sweep wrote.")
        try:
            connection = sqlite3.connect(read_uri(path), uri=True, timeout=store_files.BUSY_TIMEOUT_S)
        except sqlite3.Error as error:
            raise store_error(path, error, reading=True) from None
        store = cls(path, connection)
        try:
            tables = store._tables()
            if "sweep" not in tables and not store._has_members_table():
                raise StoreError(
                    f"{str(path)!r} is not a netreg results store (it has "
                    f"{'tables ' + ', '.join(tables) if tables else 'no tables'}); expected the sweep.sqlite file a "
                    "sweep wrote."
                )
            if "sweep" in tables:
                store._check_format()  # a format this netreg does not know is not read as one it does
            store.check()
        except BaseException as error:
            connection.close()
            raise store_error(path, error, reading=True) from None
        return store

    def check(self) -> None:
        """Refuse a store whose content netreg did not write: its tables, specification and every
        member's row (:meth:`MemberRecord.from_row`) and weights are checked before any is used.

        Raises
        ------
        StoreError
            Naming the store and any damaged member and column, with how to recover
            (:func:`~netreg.tuning.store_files.member_fix`).
        """
        tables = self._tables()
        for table in _TABLES:
            if table not in tables:
                raise damaged(self.path, f"it has no table {table!r}.")
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(members)")}
        lacking = [name for name in (*MemberRecord.columns(), "weights") if name not in columns]
        if lacking:
            raise damaged(self.path, f"its table 'members' has no column {', '.join(map(repr, lacking))}.")
        self.members()
        for alpha_index, fold, blob in self._connection.execute("SELECT alpha_index, fold, weights FROM members"):
            self._load_weights(blob, alpha_index, fold)

    def _tables(self) -> list[str]:
        return sorted(
            name for (name,) in self._connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )

    def _has_members_table(self) -> bool:
        """Whether the database has netreg's members table (a store that lost its sweep table)."""
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(members)")}
        return {"alpha_index", "fold", "weights"} <= columns

    def _holds_a_sweep(self, tables: list[str]) -> bool:
        """Whether the database holds a sweep's results (so must be whole), rather than being new and empty."""
        if "sweep" not in tables:
            return "members" in tables
        filled = self._connection.execute("SELECT COUNT(*) FROM sweep").fetchone()[0]
        return bool(filled) or (
            "members" in tables and self._connection.execute("SELECT COUNT(*) FROM members").fetchone()[0] > 0
        )

    def _check_format(self) -> None:
        """Refuse a sweep table that is not a whole netreg store's, or of another format."""
        stored = dict(self._connection.execute("SELECT key, value FROM sweep").fetchall())
        if "spec" not in stored or "fingerprint" not in stored:
            raise StoreError(
                f"{str(self.path)!r} is not a complete netreg results store (no sweep specification). Choose another path."
            )
        if stored.get("format_version") not in {str(version) for version in READ_FORMATS}:
            raise StoreError(
                f"{str(self.path)!r} was written in store format {stored.get('format_version')}; this netreg reads "
                f"formats {' and '.join(map(str, READ_FORMATS))}. Use a new store path."
            )

    def _claim(self, spec: dict[str, Any], fingerprint: str) -> None:
        stored = dict(self._connection.execute("SELECT key, value FROM sweep").fetchall())
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

    def write_member(self, record: MemberRecord, state_dict: Mapping[str, torch.Tensor]) -> bool:
        """Store one finished member in its own transaction, once: ``False`` if it was already there.

        A member may be stored as soon as it is trained, owing its evidence
        (:meth:`MemberRecord.owing_evidence`), which :meth:`write_evidence` adds when computed.
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

    def write_evidence(self, record: MemberRecord) -> bool:
        """Add its evidence to a member stored owing it (:attr:`MemberRecord.evidence_pending`),
        in its own transaction; ``False`` if the member is not stored.

        Only the ``evidence`` column changes: the weights, metrics, history and ``finished_at`` are
        those written when it was trained.
        """
        try:
            with self._connection:
                cursor = self._connection.execute(
                    "UPDATE members SET evidence = ? WHERE alpha_index = ? AND fold = ?",
                    (record.to_row()["evidence"], record.alpha_index, record.fold),
                )
        except sqlite3.Error as error:
            raise StoreError(f"Cannot write to the results store {str(self.path)!r}: {error}.") from None
        return cursor.rowcount == 1

    def spec(self) -> dict[str, Any]:
        """The sweep specification the store was created for, checked (see :meth:`check`)."""
        row = self._connection.execute("SELECT value FROM sweep WHERE key = 'spec'").fetchone()
        if row is None:
            raise damaged(self.path, "its table 'sweep' has no specification ('spec').")
        try:
            spec = json.loads(row[0])
        except (TypeError, ValueError, RecursionError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
            raise damaged(self.path, f"its sweep specification is not JSON ({reason}).") from None
        check_fields(
            spec,
            _SPEC,
            source=f"{damaged_prefix(self.path)} its sweep specification",
            error=lambda message: StoreError(f"{message} Delete the store to start over."),
        )
        return spec

    def finished_keys(self) -> set[tuple[int, int]]:
        """``(alpha_index, fold)`` of every stored member: trained, whether or not it owes its
        evidence still (:meth:`members_owing_evidence`)."""
        return {(a, f) for a, f in self._connection.execute("SELECT alpha_index, fold FROM members")}

    def members_owing_evidence(self) -> list[MemberRecord]:
        """The stored members trained but owing their Laplace evidence
        (:attr:`MemberRecord.evidence_pending`), each row checked, ordered by alpha then fold.

        Examples
        --------
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "sweep.sqlite")
        >>> spec = {"alphas": [0.1, 1.0], "n_folds": 2, "task": "binary"}
        >>> record = MemberRecord(0, 0, 0.1, 0, "converged", 1, 1, {}, [{"epoch": 1}], "", 0.2, {"units_off": [0]})
        >>> with SweepStore.open(path, spec=spec, fingerprint="abc") as store:
        ...     store.write_member(record.owing_evidence(), {})
        ...     [m.key for m in store.members_owing_evidence()], store.finished_keys()
        ...     store.write_evidence(record), store.members_owing_evidence()
        True
        ([(0, 0)], {(0, 0)})
        (True, [])
        """
        return [member for member in self.members() if member.evidence_pending]

    def members(self) -> list[MemberRecord]:
        """Every stored member's record (no weights), ordered by alpha then fold, each row checked.

        Raises
        ------
        StoreError
            If a row is damaged (see :meth:`check`).
        """
        spec = self.spec()
        columns = MemberRecord.columns()
        rows = self._connection.execute(
            f"SELECT {', '.join(columns)} FROM members ORDER BY alpha_index, fold"
        ).fetchall()
        return [self._record(dict(zip(columns, row, strict=True)), spec) for row in rows]

    def _record(self, row: dict[str, Any], spec: dict[str, Any]) -> MemberRecord:
        key = row["alpha_index"], row["fold"]
        return MemberRecord.from_row(
            row,
            n_alphas=len(spec["alphas"]),
            n_folds=spec["n_folds"],
            source=f"{damaged_prefix(self.path)} {_member(*key)}",
            error=lambda message: StoreError(f"{message} {member_fix(*key)}"),
        )

    def weights(self, alpha_index: int, fold: int) -> dict[str, torch.Tensor]:
        """The kept weights of one member."""
        row = self._connection.execute(
            "SELECT weights FROM members WHERE alpha_index = ? AND fold = ?", (alpha_index, fold)
        ).fetchone()
        if row is None:
            raise StoreError(f"Member (alpha_index={alpha_index}, fold={fold}) is not in {str(self.path)!r}.")
        return self._load_weights(row[0], alpha_index, fold)

    def _load_weights(self, blob: Any, alpha_index: Any, fold: Any) -> dict[str, torch.Tensor]:
        what = f"{len(blob)} bytes" if isinstance(blob, bytes) else f"a {type(blob).__name__}, not a blob"
        try:
            if isinstance(blob, bytes):
                return load_tensors(blob)
        except (SafetensorError, ValueError):
            pass
        raise damaged(
            self.path,
            f"{_member(alpha_index, fold)}: `weights` are not the safetensors netreg wrote ({what}).",
            member_fix(alpha_index, fold),
        )

    def close(self) -> None:
        """Close the connection; the last one to close leaves no -wal or -shm file.

        Two processes closing at once can each see the other and leave SQLite's side files, so each
        tries, without waiting, to take the store back to a plain journal (only the last one can);
        closing at the same instant, both can fail, and the side files stay until the next
        connection to close alone (SQLite reads them on opening: nothing is lost).
        """
        with contextlib.suppress(sqlite3.Error):
            self._connection.execute("PRAGMA busy_timeout = 0")  # never wait for another sweep
            self._connection.execute("PRAGMA journal_mode = DELETE")
        self._connection.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _member(alpha_index: Any, fold: Any) -> str:
    return f"member (alpha_index={alpha_index!r}, fold={fold!r})"


def _initialize(connection: sqlite3.Connection, *, spec: dict[str, Any], fingerprint: str) -> None:
    """Lay out an empty store's tables; a new store also gets its sweep."""
    connection.execute("PRAGMA journal_mode=WAL")  # readers (a report) never block the writer
    connection.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable against a killed process
    connection.executescript(_SCHEMA)
    if connection.execute("SELECT COUNT(*) FROM sweep").fetchone()[0] == 0:
        entries = {
            "spec": json.dumps(spec, sort_keys=True),
            "fingerprint": fingerprint,
            "format_version": str(FORMAT_VERSION),
            "created": str(time.time()),
        }
        with connection:
            connection.executemany("INSERT INTO sweep (key, value) VALUES (?, ?)", entries.items())
