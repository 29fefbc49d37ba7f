"""Writing files safely: whole or not at all, never through a link, and checked before any work.

:func:`write_file` writes to a new temporary file beside the target (created exclusively,
so never through an existing file or link) and moves it into place: a reader sees the old
file or the new one, never half of one, and a link at the target is replaced, not written
through. A failed write (a full disk, a read-only folder) removes the temporary file and
raises :class:`~netreg.exceptions.OutputError` naming the file and what to do.

:func:`check_writable_folder` and :func:`check_output_file` refuse, before a command does
any work, an output path that could not be written: a file where a folder is expected, a
path under a file, a read-only folder, an existing file not to be replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from netreg.exceptions import OutputError, invalid

__all__ = ["check_output_file", "check_writable_folder", "current_umask", "file_mode", "write_error", "write_file"]


def current_umask() -> int:
    """The process umask: the permission bits new files and folders do not get.

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
    # The umask can only be read by setting it; set it straight back.
    umask = os.umask(0)
    os.umask(umask)
    return umask


def file_mode() -> int:
    """The permissions of a new file: ``0o666`` less the process umask (what ``open`` gives).

    Every file netreg writes gets them, those of a saved model included.

    Examples
    --------
    >>> file_mode() & 0o600
    384
    """
    return 0o666 & ~current_umask()


def write_error(path: str | os.PathLike[str], error: OSError) -> OutputError:
    """The error of a failed write of ``path``: what failed, and what to do about it.

    Examples
    --------
    >>> str(write_error("runs/report.html", OSError(28, "No space left on device")))
    "Could not write 'runs/report.html': No space left on device; nothing was replaced. Free some space and rerun."
    """
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "Free some space and rerun."
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "Choose a folder you can write to."
    else:
        fix = "Choose another path."
    return OutputError(f"Could not write {str(path)!r}: {reason}; nothing was replaced. {fix}")


def write_file(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` whole, through a temporary file, never through a link.

    The folder is created if missing. With ``overwrite=False`` the file must not exist
    (a dangling link counts as existing); the check and the creation are one atomic step.
    The file gets :func:`file_mode`'s permissions.

    Raises
    ------
    OutputError
        If the file cannot be written (the temporary file is removed, what was at ``path``
        is left as it was), or exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> path = write_file(Path(tempfile.mkdtemp()) / "a.txt", b"1")
    >>> path.read_bytes()
    b'1'
    >>> write_file(path, b"2", overwrite=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    netreg.exceptions.OutputError: '.../a.txt' already exists; it was not overwritten.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as error:
        raise write_error(target, error) from error
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), file_mode())  # mkstemp makes it private
            handle.write(data)
        if overwrite:
            os.replace(temporary, target)  # replaces a link at the target, never follows it
        else:
            _link_new(temporary, target, data)
    except OSError as error:
        if isinstance(error, OutputError):
            raise
        raise write_error(target, error) from error  # the OSError stays attached as the cause
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return target


def _link_new(temporary: str, target: Path, data: bytes) -> None:
    """Give the written ``temporary`` the name ``target``, which must not exist."""
    try:
        os.link(temporary, target, follow_symlinks=False)  # fails if anything (a link too) is there
        return
    except FileExistsError:
        raise OutputError(f"{str(target)!r} already exists; it was not overwritten.") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
    # A file system without hard links: create the file exclusively, never through a link.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(target, flags, 0o666)
    except FileExistsError:
        raise OutputError(f"{str(target)!r} already exists; it was not overwritten.") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    except BaseException:
        os.unlink(target)
        raise


def check_writable_folder(path: str | os.PathLike[str], name: str) -> None:
    """Refuse a folder that could not be created or written, before any work is done.

    ``path`` may exist (a folder, or a link to one) or not (then its nearest existing
    ancestor must be a folder that can be written). ``name`` is the parameter that gave it.

    Raises
    ------
    InvalidParameterError
        If ``path`` or an ancestor is a file, ``path`` is a dangling link, or the folder
        that would hold the files cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> check_writable_folder(Path(tempfile.mkdtemp()) / "new" / "run", "out_dir")
    >>> check_writable_folder(__file__, "out_dir")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `out_dir` must be a folder that can be created and written. Got '.../files.py': it is a file. Choose another folder.
    """
    problem = _folder_problem(Path(path))
    if problem is not None:
        raise invalid(
            name,
            "a folder that can be created and written",
            got=f"{str(path)!r}: {problem}",
            fix="Choose another folder.",
        )


def check_output_file(path: str | os.PathLike[str], name: str, *, force: bool = False) -> None:
    """Refuse, before any work, an output file that could not be written or is not to be replaced.

    ``name`` is the parameter that gave the path.

    Raises
    ------
    OutputError
        If something exists at ``path`` (a dangling link too) and ``force`` is false.
    InvalidParameterError
        If ``path`` is a folder, or lies under a file or in a folder that cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> check_output_file(Path(tempfile.mkdtemp()) / "predictions.csv", "out")
    >>> check_output_file(__file__, "out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    netreg.exceptions.OutputError: '.../files.py' already exists; it was not overwritten. Choose another `out` or pass `force=True`.
    """
    path = Path(path)
    if path.is_dir():
        problem: str | None = "it is a folder"
    elif os.path.lexists(path):
        if not force:
            raise OutputError(
                f"{str(path)!r} already exists; it was not overwritten. Choose another `{name}` or pass `force=True`."
            )
        problem = None
    else:
        problem = _folder_problem(path.parent, of=path)
    if problem is not None:
        raise invalid(
            name,
            "a path for a file in a folder that can be written",
            got=f"{str(path)!r}: {problem}",
            fix="Choose another path.",
        )


def _folder_problem(folder: Path, of: Path | None = None) -> str | None:
    """Why ``folder`` could not be created or written into, or None; ``of`` is the path asked for."""
    asked = folder if of is None else of
    current = folder
    while True:
        try:
            info = os.stat(current)
        except (FileNotFoundError, NotADirectoryError):
            if os.path.islink(current):
                return f"{_which(asked, current)} a link to {os.readlink(current)!r}, which does not exist"
            if current.parent == current:
                return "no such folder"
            current = current.parent
            continue
        except OSError as error:
            return f"{_which(asked, current)} cannot be read ({error.strerror})"
        if not stat.S_ISDIR(info.st_mode):
            return f"{_which(asked, current)} a file"
        if not os.access(current, os.W_OK | os.X_OK):
            return f"{_which(asked, current)} a folder that cannot be written"
        return None


def _which(asked: Path, existing: Path) -> str:
    return "it is" if existing == asked else f"{str(existing)!r} is"
