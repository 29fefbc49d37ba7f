"""Reading and writing files safely: the one place for netreg's file rules.

Reading a regular file of plausible size (:func:`open_regular`, :func:`read_file`), writing a
file whole (:func:`write_file`, :func:`create_file`), replacing a folder whole
(:func:`replace_folder`), and refusing an output path before any work
(:func:`check_writable_folder`, :func:`check_output_file`); the rules are told in
``docs/architecture.md``, "Conventions".
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

from netreg.exceptions import NetRegError, OutputError, invalid

__all__ = [
    "NotRegularFileError",
    "check_output_file",
    "check_path_given",
    "check_writable_folder",
    "create_file",
    "current_umask",
    "file_kind",
    "file_mode",
    "open_regular",
    "read_file",
    "replace_folder",
    "replace_problem",
    "write_error",
    "write_file",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

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
    itself, never its target); a device, FIFO, socket or folder (or a link to one) may not:
    a regular file would take the place of, say, ``/dev/null``.

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


class NotRegularFileError(OSError):
    """What :func:`open_regular` raises for a folder, a FIFO, a device, a socket, or a link it may not follow.

    ``kind`` says what was found, in words (``"a folder"``, ``"a FIFO"``,
    ``"a symbolic link (to '/dev/zero')"``); the caller words the message.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fspath(path)} is {kind}")
        self.kind = kind


def open_regular(path: str | os.PathLike[str], *, follow_links: bool = True) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file, without waiting for a FIFO's writer.

    With ``follow_links=False`` a link is refused, not followed (a file netreg wrote is never
    a link: one there is someone else's doing). What is checked is the file that was opened,
    so nothing can be swapped in between the check and the reading.

    Raises
    ------
    NotRegularFileError
        If ``path`` is a folder, a FIFO, a device or a socket (or a link, without ``follow_links``).
    OSError
        As ``open`` raises it (``FileNotFoundError`` if nothing is there).

    Examples
    --------
    >>> with open_regular(__file__) as handle:
    ...     handle.read(1)
    b'"'
    >>> open_regular("/dev/null")
    Traceback (most recent call last):
    ...
    netreg.safe_files.NotRegularFileError: /dev/null is a character device
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else _NOFOLLOW)
    if not follow_links and _NOFOLLOW == 0 and os.path.islink(path):  # pragma: no cover - no O_NOFOLLOW
        raise NotRegularFileError(path, f"a symbolic link (to {os.readlink(path)!r})")
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if not follow_links and (error.errno == errno.ELOOP or os.path.islink(path)):
            raise NotRegularFileError(path, f"a symbolic link (to {os.readlink(path)!r})") from None
        raise
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise NotRegularFileError(path, file_kind(mode))
    return os.fdopen(descriptor, "rb")


def read_file(path: str | os.PathLike[str], max_bytes: int, why: str, error: type[NetRegError]) -> bytes:
    """The bytes of a file netreg wrote, if it is a regular file (not a link) of at most ``max_bytes``.

    ``why`` says where the limit comes from, for the message; ``error`` is the error raised
    (:class:`~netreg.exceptions.ModelFormatError` for a model's files, ...). A file still
    growing is read no further than the limit.

    Raises
    ------
    FileNotFoundError
        If there is no such file (the caller words that message).
    NetRegError
        ``error``, if ``path`` is a link, not a regular file, cannot be read, or is larger than ``max_bytes``.

    Examples
    --------
    >>> import tempfile
    >>> from netreg.exceptions import DataError
    >>> read_file(write_file(Path(tempfile.mkdtemp()) / "a.json", b"{}"), 10, "a test reads", DataError)
    b'{}'
    >>> read_file("/dev/zero", 10, "a test reads", DataError)
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: /dev/zero is a character device; expected the regular file netreg wrote.
    """
    try:
        with open_regular(path, follow_links=False) as handle:
            data = handle.read(max_bytes + 1)
    except NotRegularFileError as problem:
        if problem.kind.startswith("a symbolic link"):
            raise error(
                f"{os.fspath(path)} is {problem.kind}; a file netreg wrote is never a link, so it is not read. "
                "Copy the file itself into the folder."
            ) from None
        raise error(f"{os.fspath(path)} is {problem.kind}; expected the regular file netreg wrote.") from None
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as problem:
        raise error(f"{os.fspath(path)} cannot be read ({problem.strerror}).") from None
    if len(data) > max_bytes:
        raise error(
            f"{os.fspath(path)} is larger than the {max_bytes:,} bytes {why}; it was not read. "
            "Is it the file netreg wrote?"
        )
    return data


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

    def write(descriptor: int, temporary: str) -> None:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        placed = _write_beside(target, write, replace=overwrite)
    except OSError as error:
        raise write_error(target, error) from error  # the OSError stays attached as the cause
    if not placed:
        raise OutputError(f"{str(target)!r} already exists; it was not overwritten.")
    return target


def create_file(path: str | os.PathLike[str], fill: Callable[[str], None]) -> bool:
    """Make a new file at ``path`` whole, unless something is there (then change nothing; False).

    ``fill`` writes a new temporary file beside ``path`` (given its name), which then takes the
    name ``path`` in a step that never replaces anything (a hard link, or without them a rename
    if nothing is there): for a file another program makes, such as an SQLite database.

    Raises
    ------
    OSError
        As writing raises it (the caller words the message).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a.txt"
    >>> create_file(path, lambda name: Path(name).write_text("1")), create_file(path, lambda name: None)
    (True, False)
    >>> path.read_text()
    '1'
    """

    def write(descriptor: int, temporary: str) -> None:
        os.close(descriptor)
        fill(temporary)

    return _write_beside(Path(path), write, replace=False)


def _write_beside(target: Path, write: Callable[[int, str], None], *, replace: bool) -> bool:
    """``write`` a new temporary file beside ``target`` (its descriptor and name), then give it
    the name ``target``: replacing what is there, or (``replace`` false) only if nothing is."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        os.fchmod(descriptor, file_mode())  # mkstemp makes it private
        write(descriptor, temporary)
        if replace:
            os.replace(temporary, target)  # replaces a link at the target, never follows it
            return True
        return _link_new(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _link_new(temporary: str, target: Path) -> bool:
    """Give the written ``temporary`` the name ``target`` if nothing (not even a link) is there."""
    try:
        os.link(temporary, target, follow_symlinks=False)  # fails if anything (a link too) is there
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
    if os.path.lexists(target):  # a file system without hard links: a rename, all but atomic
        return False
    os.replace(temporary, target)
    return True


def replace_folder(
    path: str | os.PathLike[str], files: Mapping[str, bytes], check: Callable[[], None] | None = None
) -> Path:
    """Put at ``path`` a folder holding exactly ``files`` (names to bytes), whole or not at all.

    The files are written in a new folder beside ``path`` (``.<name>.XXXXXXXX.partial``, with
    :func:`file_mode`'s permissions); ``check`` then runs (is ``path`` still the caller's?),
    the old folder is moved aside, the new one takes its name, and the old one is removed (put
    back if the second move fails). A process killed between the two renames leaves the old
    folder whole in ``.<name>.replaced-*/`` (POSIX has no portable exchange of two folders);
    of two processes replacing one folder at once, the last wins or one is refused.

    Raises
    ------
    OutputError
        If a file cannot be written (nothing was replaced), or another program put
        something at ``path`` between the moves (what it wrote is kept).

    Examples
    --------
    >>> import tempfile
    >>> folder = replace_folder(Path(tempfile.mkdtemp()) / "model", {"a.json": b"{}"})
    >>> folder = replace_folder(folder, {"b.json": b"[]"})
    >>> [p.name for p in folder.iterdir()], [p.name for p in folder.parent.iterdir()]
    (['b.json'], ['model'])
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    except OSError as error:
        raise write_error(target, error) from error
    try:
        for name, data in files.items():
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
            with os.fdopen(os.open(staging / name, flags, 0o666), "wb") as handle:  # 0666 less the umask
                handle.write(data)
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; the folder is ordinary
        if check is not None:
            check()
        _swap(staging, target)
    except OSError as error:
        if isinstance(error, OutputError):
            raise
        raise write_error(target, error) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _swap(staging: Path, target: Path) -> None:
    """Move the folder ``staging`` to ``target``, moving what is there aside and then removing it."""
    retired = None
    if os.path.lexists(target):
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.replaced-", dir=target.parent))
        with contextlib.suppress(FileNotFoundError):  # another process moved it meanwhile
            os.replace(target, retired / target.name)
    try:
        os.replace(staging, target)
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
            if retired is not None:
                with contextlib.suppress(OSError):
                    os.replace(retired / target.name, target)
            raise
        raise OutputError(
            f"{str(target)!r} could not be replaced ({error.strerror}): another program wrote it meanwhile, and "
            "what it wrote was kept. Save again to replace it."
        ) from None
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)


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
    netreg.exceptions.InvalidParameterError: `out_dir` must be a folder that can be created and written. Got '.../safe_files.py': it is a file. Choose another folder.
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
    netreg.exceptions.OutputError: '.../safe_files.py' already exists; it was not overwritten. Choose another `out` or pass `force=True`.
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
