"""The results store's file: checked before a sweep writes to it, created whole, read where it lies.

Used by :class:`netreg.tuning.store.SweepStore`. Everything that would stop a sweep from
writing its members (a read-only file or folder, a link, an empty file that is not a
store) is refused by :func:`check_store_path` before any member trains; a new store is
made complete under a temporary name and then linked to its own (:func:`create_store_file`),
so no store file is ever found half made; and :func:`store_error` says which of "not a
store", "cannot be written" and "cannot be read" happened.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netreg.exceptions import StoreError
from netreg.io.files import file_mode

__all__ = ["SIDE_FILES", "check_store_path", "create_store_file", "read_uri", "spec_changes", "store_error"]

#: The files SQLite keeps beside a database (write-ahead log, its index, a rollback journal).
SIDE_FILES = ("-wal", "-shm", "-journal")
_WRITABLE = "Choose a writable path."


def check_store_path(path: Path) -> None:
    """Refuse a store path a sweep could not write, before any work; create its folder.

    Raises
    ------
    StoreError
        If ``path`` is a directory, a link (or SQLite's side files are), not a regular
        file, an empty file, or a file or folder that cannot be written.
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
    """Make a complete store at ``path`` unless one appears there meanwhile.

    ``initialize`` lays out the new database under a temporary name beside ``path``;
    the file then gets its name in one atomic step that never replaces an existing file
    (a hard link): a concurrent sweep that created it first keeps its store, which the
    caller then opens and checks as any existing store.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(descriptor)
    try:
        os.chmod(temporary, file_mode())  # mkstemp makes it private; a store is an ordinary file
        connection = sqlite3.connect(temporary)
        try:
            initialize(connection)
        finally:
            connection.close()  # the last connection: SQLite merges and removes its -wal file
        try:
            os.link(temporary, path, follow_symlinks=False)
        except FileExistsError:
            pass  # another sweep made it first: the caller opens that one
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
                raise
            if not path.exists():  # a file system without hard links: a rename, all but atomic
                os.replace(temporary, path)
    finally:
        for suffix in ("", *SIDE_FILES):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary + suffix)


def read_uri(path: Path) -> str:
    """The SQLite URI that reads the store at ``path`` as it lies.

    Read-write where allowed, though only read: the last connection to close then tidies
    SQLite's -wal and -shm files away, which a read-only one cannot. In a folder that
    cannot be written, SQLite could not make its -shm file: with no -wal file either, no
    writer can be at work, and the store is read as an immutable file.
    """
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
    reason = error.strerror or str(error) if isinstance(error, OSError) else f"SQLite says: {error}"
    if reading:
        return StoreError(f"Cannot read the results store {str(path)!r}: {reason}.")
    return StoreError(f"Cannot write the results store {str(path)!r}: {reason}. {_WRITABLE}")


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
