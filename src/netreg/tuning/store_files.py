"""The results store's file (:class:`netreg.tuning.store.SweepStore`'s): checked before a sweep
writes to it, created whole, read where it lies, and its failures worded."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netreg.exceptions import StoreError, invalid
from netreg.safe_files import create_file

__all__ = [
    "BUSY_TIMEOUT_S",
    "SIDE_FILES",
    "check_store_name",
    "check_store_path",
    "create_store_file",
    "damaged",
    "damaged_prefix",
    "member_fix",
    "read_uri",
    "spec_changes",
    "store_error",
]

#: The files SQLite keeps beside a database (write-ahead log, its index, a rollback journal).
SIDE_FILES = ("-wal", "-shm", "-journal")
#: How long a sweep waits for a store another process holds locked before it gives up.
BUSY_TIMEOUT_S = 30.0
_WRITABLE = "Choose a writable path."


def check_store_name(path: str | os.PathLike[str]) -> None:
    """Refuse a store path that names no file: SQLite's ``":memory:"`` (nothing to resume from), or ``""``.

    Raises
    ------
    InvalidParameterError
        If ``path`` is ``":memory:"`` or empty.

    Examples
    --------
    >>> check_store_name("runs/sweep.sqlite")
    >>> check_store_name(":memory:")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `store` must be the path of a file to keep the sweep in, or None. Got ':memory:': SQLite's name for a database in memory, lost when the fit ends, so nothing could be resumed from it. Pass `store=None` for no store (the sweep's results are kept in memory anyway), or a file path such as 'sweep.sqlite'.
    """
    text = os.fspath(path)
    if text == ":memory:":
        got = "':memory:': SQLite's name for a database in memory, lost when the fit ends, so nothing could be resumed from it"
    elif text == "":
        got = "'': an empty path, which names no file"
    else:
        return
    raise invalid(
        "store",
        "the path of a file to keep the sweep in, or None",
        got=got,
        fix="Pass `store=None` for no store (the sweep's results are kept in memory anyway), or a file path such as "
        "'sweep.sqlite'.",
    )


def check_store_path(path: Path) -> None:
    """Refuse a store path a sweep could not write, before any work; create its folder.

    Raises
    ------
    StoreError
        If ``path`` (or a side file) is a link, or ``path`` is not a regular file, empty, or cannot be written.
    OSError
        If its folder cannot be created.
    """
    if path.is_dir():
        raise StoreError(
            f"The store path {str(path)!r} is a directory; expected a file path such as {str(path / 'sweep.sqlite')!r}."
        )
    for candidate in (path, *(Path(f"{path}{side}") for side in SIDE_FILES)):
        if candidate.is_symlink():
            raise StoreError(
                f"{str(candidate)!r} is a symbolic link (to {os.readlink(candidate)!r}); a results store is not "
                "written through a link. Choose another path."
            )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_folder(path)
        return
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise StoreError(f"{str(path)!r} is not a regular file; expected a results store. Choose another path.")
    if os.stat(path).st_size == 0:
        raise StoreError(
            f"{str(path)!r} is an empty file, not a results store (netreg creates a store whole); it was not "
            "changed. Delete it or choose another path."
        )
    if not os.access(path, os.W_OK):
        raise StoreError(f"Cannot write the results store {str(path)!r}: the file is read-only. {_WRITABLE}")
    _check_folder(path)


def _check_folder(path: Path) -> None:
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreError(
            f"Cannot write the results store {str(path)!r}: its folder cannot be written (SQLite keeps its "
            f"journal beside the store). {_WRITABLE}"
        )


def create_store_file(path: Path, initialize: Callable[[sqlite3.Connection], None]) -> None:
    """Make a complete store at ``path`` (``initialize`` lays it out in a temporary file) unless one
    appears there meanwhile: :func:`netreg.safe_files.create_file` replaces nothing."""

    def fill(temporary: str) -> None:
        connection = sqlite3.connect(temporary)
        try:
            initialize(connection)
        finally:
            connection.close()  # the last connection: SQLite merges and removes its -wal file
            for suffix in SIDE_FILES:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary + suffix)

    create_file(path, fill)


def read_uri(path: Path) -> str:
    """The SQLite URI that reads the store at ``path`` as it lies: read-write where allowed (the last
    connection to close tidies the side files away); immutable in a read-only folder with no -wal file."""
    folder_writable = os.access(path.parent, os.W_OK | os.X_OK)
    writable = folder_writable and os.access(path, os.W_OK) and not path.is_symlink()
    # as_uri() escapes the characters ("#", "?", "%") a raw path would break the URI at.
    uri = f"{path.resolve().as_uri()}?mode={'rw' if writable else 'ro'}"
    if not folder_writable and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return uri


def store_error(path: Path, error: BaseException, *, reading: bool = False) -> BaseException:
    """The :class:`StoreError` for what opening the store at ``path`` raised (other errors as they are)."""
    if isinstance(error, StoreError) or not isinstance(error, OSError | sqlite3.Error):
        return error
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
        # "file is not a database", "database disk image is malformed": the content is not SQLite's.
        fix = "" if reading else " Choose another path."
        return StoreError(f"{str(path)!r} is not a netreg results store (SQLite says: {error}).{fix}")
    if isinstance(error, sqlite3.OperationalError) and _held_by_another(error):
        return StoreError(
            f"The results store {str(path)!r} is locked by another process (another sweep, or a program that has it "
            f"open), which held it for more than {BUSY_TIMEOUT_S:g} s; nothing was {'read' if reading else 'written'}. "
            "Rerun when that process has finished, or choose another path."
        )
    reason = error.strerror or str(error) if isinstance(error, OSError) else f"SQLite says: {error}"
    if reading:
        return StoreError(f"Cannot read the results store {str(path)!r}: {reason}.")
    return StoreError(f"Cannot write the results store {str(path)!r}: {reason}. {_WRITABLE}")


def damaged(path: Path, problem: str, fix: str = "") -> StoreError:
    """The :class:`StoreError` of a damaged store: ``problem`` says where and what, ``fix`` how to recover.

    Examples
    --------
    >>> str(damaged(Path("run/sweep.sqlite"), "it has no table 'members'."))
    "The results store 'run/sweep.sqlite' is damaged: it has no table 'members'. Delete it to start over."
    """
    return StoreError(f"{damaged_prefix(path)} {problem} {fix or _START_OVER}")


def damaged_prefix(path: Path) -> str:
    """The words every message of a damaged store begins with."""
    return f"The results store {str(path)!r} is damaged:"


def member_fix(alpha_index: Any, fold: Any) -> str:
    """How to recover from one damaged member: delete its row (it trains again), or the store.

    Examples
    --------
    >>> member_fix(1, 0)
    'Delete its row (DELETE FROM members WHERE alpha_index = 1 AND fold = 0) to train it again, or delete the store to start over.'
    """
    where = f"alpha_index = {_sql(alpha_index)} AND fold = {_sql(fold)}"
    return f"Delete its row (DELETE FROM members WHERE {where}) to train it again, or delete the store to start over."


_START_OVER = "Delete it to start over."


def _sql(value: Any) -> str:
    """A value as an SQL literal (a damaged key may be text or a blob)."""
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, bytes):
        return f"x'{value.hex()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _held_by_another(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for a lock ("database is locked"): the file is fine, someone holds it."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:  # pragma: no cover - SQLite without extended codes
        return "database is locked" in str(error)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def spec_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``"params.alpha: stored 0.1, now 1.0"`` for each setting that differs, nested ones by their path.

    Examples
    --------
    >>> spec_changes({"alphas": [1, 2], "params": {"max_iter": 5, "tol": 0}}, {"alphas": [1, 2], "params": {"max_iter": 9}})
    ['params.max_iter: stored 5, now 9', 'params.tol: stored 0, now absent']
    >>> spec_changes({"alphas": [0.001 * i for i in range(30)]}, {"alphas": [0.001 * i for i in range(29)] + [1.0]})
    ['alphas[29]: stored 0.029, now 1.0']
    """
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            changes.extend(spec_changes(before, after, f"{prefix}{key}."))
        elif _long_lists_of_one_length(before, after):  # name the entries that differ, not a cut list
            changes.extend(
                f"{prefix}{key}[{i}]: stored {_short(a)}, now {_short(b)}"
                for i, (a, b) in enumerate(zip(before, after, strict=True))
                if a != b
            )
        else:
            changes.append(f"{prefix}{key}: stored {_short(before)}, now {_short(after)}")
    return changes


_ABSENT = object()


def _long_lists_of_one_length(before: Any, after: Any) -> bool:
    return (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and len(json.dumps(before)) > 60
    )


def _short(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
