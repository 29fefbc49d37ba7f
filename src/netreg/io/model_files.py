"""The files of a model folder: read only when they are what :func:`netreg.io.save_model` writes,
written whole, and swapped into place one save at a time.

Reading (:func:`read_model_file`): a file of a model folder is opened without following
a link and without waiting (a FIFO would block a plain ``open``), then must be a regular
file no larger than what its model can need; anything else is refused with a
:class:`~netreg.exceptions.ModelFormatError` before a byte is read. A saved model never
holds links, so a link there (to ``/dev/zero``, to a file outside the folder) is someone
else's doing.

Writing (:func:`write_new_file`, :func:`swap_into_place`): the files are created
exclusively in a private staging folder (locked while the save lasts; one a killed save
left is removed by the next save beside it), with the permissions of any file the user
writes (``0666`` less the umask, as :func:`netreg.safe_files.file_mode`: ``model.json``
and the weights alike; netreg 0.1 gave the weights ``0600``), and the staging folder replaces the model folder while the folder
above is locked, so that two processes saving to one folder take turns: each save
either completes or fails cleanly, and no ``.model.replaced-*`` folder is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from netreg.exceptions import ModelFormatError
from netreg.safe_files import current_umask, file_kind

try:  # POSIX; elsewhere saves are not serialized
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["folder_lock", "read_model_file", "remove_leftovers", "staging_folder", "swap_into_place", "write_new_file"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def read_model_file(path: Path, max_bytes: int, why: str) -> bytes:
    """The bytes of the model folder's file ``path``, if it is a regular file of at most ``max_bytes``.

    ``why`` says where the limit comes from, for the message.

    Raises
    ------
    FileNotFoundError
        If there is no such file (the caller words that message).
    ModelFormatError
        If ``path`` is a link, not a regular file, or larger than ``max_bytes``.
    """
    if _NOFOLLOW == 0 and path.is_symlink():  # pragma: no cover - systems without O_NOFOLLOW
        raise _link_error(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        if error.errno == errno.ELOOP or path.is_symlink():
            raise _link_error(path) from None
        if isinstance(error, FileNotFoundError):
            raise
        raise ModelFormatError(f"{path} cannot be read ({error.strerror}).") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ModelFormatError(f"{path} is {file_kind(info.st_mode)}; expected the regular file netreg wrote.")
        data = handle.read(max_bytes + 1)  # a file still growing is read no further than the limit
    if len(data) > max_bytes:
        raise ModelFormatError(
            f"{path} is larger than the {max_bytes:,} bytes {why}; it was not read. Is it the file netreg wrote?"
        )
    return data


def _link_error(path: Path) -> ModelFormatError:
    target = os.readlink(path) if path.is_symlink() else "?"
    return ModelFormatError(
        f"{path} is a symbolic link (to {target!r}); a saved model's files are never links, so it is not read. "
        "Copy the model's files into the folder."
    )


def write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist, nor be a link) and write ``data`` to it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)  # less the umask
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


@contextlib.contextmanager
def staging_folder(path: Path, contents: tuple[str, ...]) -> Iterator[Path]:
    """A new private folder beside ``path`` to write a model into before it takes ``path``'s place.

    ``contents`` names the files a save writes into it. The folder is ``.{name}.XXXXXXXX.partial``
    and is locked (``flock``) while the save lasts, then removed if still there (a finished
    save has moved it into place). A save killed midway leaves its folder, unlocked: the
    next save beside ``path`` removes such leftovers (:func:`remove_leftovers`) before it
    makes its own, under the lock of the folder above, so that it never takes another
    save's live folder for one.
    """
    with folder_lock(path.parent):
        remove_leftovers(path, contents)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
        descriptor = _lock_folder(staging)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if descriptor is not None:
            os.close(descriptor)  # releases the lock


def remove_leftovers(path: Path, contents: tuple[str, ...]) -> list[Path]:
    """Remove the staging folders a killed save of ``path`` left beside it; returns what was removed.

    Only folders that are certainly a dead save's are removed: named as
    :func:`staging_folder` names them (``.{name}.`` + 8 of ``tempfile``'s characters +
    ``.partial``), real folders (not links) owned by this user, holding nothing but regular
    files named in ``contents``, and not locked (a live save holds its folder's lock; a
    killed one's lock went with its process). Anything else is left as it is. Without
    ``flock`` (Windows) nothing is removed: a live save could not be told from a dead one.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / ".model.abcd_123.partial").mkdir()
    >>> (folder / ".model.abcd_123.partial" / "model.json").write_text("{")
    1
    >>> (folder / ".model.notours.partial").mkdir()  # not tempfile's 8 characters
    >>> [p.name for p in remove_leftovers(folder / "model", ("model.json",))]
    ['.model.abcd_123.partial']
    >>> sorted(p.name for p in folder.iterdir())
    ['.model.notours.partial']
    """
    if fcntl is None:  # pragma: no cover - Windows
        return []
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.partial")
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        if not pattern.fullmatch(entry.name) or not _dead_staging(Path(entry.path), contents):
            continue
        descriptor = _lock_folder(Path(entry.path), wait=False)
        if descriptor is None:
            continue  # a save at work
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
        finally:
            os.close(descriptor)
    return removed


def _dead_staging(folder: Path, contents: tuple[str, ...]) -> bool:
    """Whether ``folder`` looks like a staging folder of this user: a real folder of ``contents`` files only."""
    try:
        info = os.lstat(folder)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        with os.scandir(folder) as inside:
            return all(item.name in contents and item.is_file(follow_symlinks=False) for item in inside)
    except OSError:
        return False


def _lock_folder(folder: Path, *, wait: bool = True) -> int | None:
    """An open descriptor of ``folder`` holding its exclusive ``flock``; None if ``wait`` is false and it is held."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(descriptor)
        return None
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``flock`` on the folder itself: no lock file is left).

    Saves into one folder take turns; a process that dies releases its lock.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def swap_into_place(staging: Path, path: Path, check: Callable[[], None]) -> None:
    """Move the finished ``staging`` folder to ``path``, replacing the model there, under the lock.

    ``check`` runs under the lock first (is the folder still ours to replace?). The old
    model is moved aside, the new one takes its name, and the old one is removed; if the
    second move fails, the old model is put back. Either way nothing is left beside
    ``path`` but what was there. (A process killed between the two moves, a window of
    two renames, leaves the old model complete in ``.{name}.replaced-*/model``: POSIX has
    no portable atomic exchange of two folders.)

    Raises
    ------
    ModelFormatError
        If another program (not a netreg save, which waits for the lock) put something at
        ``path`` between the moves.
    """
    with folder_lock(path.parent):
        check()
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; a model folder is ordinary
        retired = None
        if os.path.lexists(path):
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.replaced-", dir=path.parent))
            os.replace(path, retired / "model")
        try:
            os.replace(staging, path)
        except OSError as error:
            if retired is not None:
                with contextlib.suppress(OSError):
                    os.replace(retired / "model", path)
                shutil.rmtree(retired, ignore_errors=True)
            raise ModelFormatError(
                f"{str(path)!r} could not be replaced ({error.strerror}): another program wrote it meanwhile. "
                "Nothing was changed; save again."
            ) from None
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
