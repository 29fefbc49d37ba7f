"""Writing files safely: whole or not at all, never through a link, and checked before any work.

:func:`write_file` writes to a new temporary file beside the target (created exclusively,
so never through an existing file or link) and moves it into place: a reader sees the old
file or the new one, never half of one, and a link at the target is replaced, not written
through. A failed write (a full disk, a read-only folder) removes the temporary file and
raises :class:`~netreg.exceptions.OutputError` naming the file and what to do.

:func:`check_writable_folder` and :func:`check_output_file` refuse, before a command does
any work, an output path that could not be written: an empty path, a file where a folder is
expected, a path under a file, a read-only folder, an existing file not to be replaced.

Only a regular file is ever replaced (or a link, which is replaced itself, never what it
points to, when it points to a regular file or nowhere): a device, a FIFO, a socket or a
folder at an output path is refused, by :func:`replace_problem`, both before the work and
at the write, ``force`` or not. Writing ``--out /dev/null --force`` as root would
otherwise put a regular file in place of the system's device.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from netreg.exceptions import OutputError, invalid

__all__ = [
    "check_output_file",
    "check_path_given",
    "check_writable_folder",
    "current_umask",
    "file_kind",
    "file_mode",
    "replace_problem",
    "write_error",
    "write_file",
]

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
_KINDS.update({stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFREG: "a regular file"})
_KINDS.update({stat.S_IFLNK: "a symbolic link"})


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


def file_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: ``"a character device"``, ``"a FIFO"``, ...

    Examples
    --------
    >>> file_kind(os.stat("/dev/null").st_mode), file_kind(os.stat(".").st_mode)
    ('a character device', 'a folder')
    """
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def replace_problem(path: str | os.PathLike[str]) -> str | None:
    """Why what is at ``path`` may not be replaced by a file, or None if it may (or nothing is there).

    A regular file may be replaced, and so may a link to one or a dangling link (the link
    itself is replaced; what it points to is never touched). Anything else (a device, a
    FIFO, a socket, a folder, a link to any of them) is not a file a user made to be
    overwritten: writing a file there would put a regular file in place of, say, the
    system's ``/dev/null``.

    Examples
    --------
    >>> replace_problem("/dev/null")
    'it is a character device, which netreg never replaces (only a regular file)'
    >>> replace_problem(__file__) is None
    True
    """
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(path)
        except OSError:  # dangling, or a loop: replacing the link touches nothing else
            return None
        if stat.S_ISREG(info.st_mode):
            return None
        return f"it is a link to {file_kind(info.st_mode)}, which netreg never replaces (only a regular file)"
    return f"it is {file_kind(info.st_mode)}, which netreg never replaces (only a regular file)"


def check_path_given(path: str | os.PathLike[str], name: str, expected: str, fix: str) -> None:
    """Refuse an empty path (``--out ""``), which ``pathlib`` would read as the current folder.

    Examples
    --------
    >>> check_path_given("", "out", "a path", "Name it.")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `out` must be a path. Got '': an empty path, which names nothing. Name it.
    """
    if os.fspath(path) == "":
        raise invalid(name, expected, got="'': an empty path, which names nothing", fix=fix)


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
    With ``overwrite=True`` only a regular file (or a link) is replaced
    (:func:`replace_problem`). The file gets :func:`file_mode`'s permissions.

    Raises
    ------
    OutputError
        If the file cannot be written (the temporary file is removed, what was at ``path``
        is left as it was), exists and ``overwrite`` is false, or is a device, a FIFO, a
        socket or a folder.

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
    problem = replace_problem(target) if overwrite else None
    if problem is not None:
        raise OutputError(f"Could not write {str(target)!r}: {problem}; nothing was replaced. Choose another path.")
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
        If ``path`` is empty, ``path`` or an ancestor is a file, ``path`` is a dangling link, or the folder
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
    check_path_given(path, name, "a folder that can be created and written", "Name the folder ('.' for this one).")
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
        If ``path`` is empty, a folder, a device, a FIFO or a socket (or a link to one:
        :func:`replace_problem`), or lies under a file or in a folder that cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> check_output_file(Path(tempfile.mkdtemp()) / "predictions.csv", "out")
    >>> check_output_file(__file__, "out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    netreg.exceptions.OutputError: '.../files.py' already exists; it was not overwritten. Choose another `out` or pass `force=True`.
    """
    expected = "a path for a file in a folder that can be written"
    check_path_given(path, name, expected, "Name the file.")
    path = Path(path)
    if path.is_dir():
        problem: str | None = "it is a folder"
    elif os.path.lexists(path):
        # A device is refused as such, not as a file that `force` would replace.
        problem = replace_problem(path)
        if problem is None and not force:
            raise OutputError(
                f"{str(path)!r} already exists; it was not overwritten. Choose another `{name}` or pass `force=True`."
            )
    else:
        problem = _folder_problem(path.parent, of=path)
    if problem is not None:
        raise invalid(
            name,
            expected,
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
