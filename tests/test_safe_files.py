"""The file rules, each tested once: only regular files read, never through a link nor waiting
for a FIFO, nor more than plausible; files and folders written whole, never through a link,
with the permissions of any new file; output paths checked first."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys

import pytest

from netreg import safe_files as files
from netreg.exceptions import DataError, InvalidParameterError, OutputError
from netreg.safe_files import (
    NotRegularFileError,
    check_output_file,
    check_writable_folder,
    create_file,
    open_regular,
    read_file,
    replace_folder,
    write_file,
)


def test_only_a_regular_file_is_read_never_through_a_link_nor_waiting_for_a_fifo(tmp_path, refused, within):
    (tmp_path / "data.json").write_text("{}")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "data-link.json").symlink_to(tmp_path / "data.json")
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "folder.json").mkdir()
    assert read_file(tmp_path / "data.json", 2, "a test reads", DataError) == b"{}"
    for name, problem in [
        (
            "zero.json",
            "is a symbolic link (to '/dev/zero'); a file netreg wrote is never a link, so it is not read. "
            "Copy the file itself into the folder.",
        ),
        (
            "data-link.json",
            f"is a symbolic link (to {str(tmp_path / 'data.json')!r}); a file netreg wrote is never "
            "a link, so it is not read. Copy the file itself into the folder.",
        ),
        ("fifo.json", "is a FIFO; expected the regular file netreg wrote."),
        ("folder.json", "is a folder; expected the regular file netreg wrote."),
    ]:
        with refused(f"{tmp_path / name} {problem}", DataError):
            within(10, lambda name=name: read_file(tmp_path / name, 10, "a test reads", DataError))
    with pytest.raises(FileNotFoundError):
        read_file(tmp_path / "missing.json", 10, "a test reads", DataError)
    # A user's data may be a link to a file (followed), never to a FIFO (refused, without waiting).
    with open_regular(tmp_path / "data-link.json") as handle:
        assert handle.read() == b"{}"
    (tmp_path / "fifo-link.csv").symlink_to(tmp_path / "fifo.json")
    with pytest.raises(NotRegularFileError) as caught:
        within(10, lambda: open_regular(tmp_path / "fifo-link.csv"))
    assert caught.value.kind == "a FIFO"


def test_a_file_larger_than_it_can_plausibly_be_is_not_read(tmp_path, refused):
    (tmp_path / "run.json").write_bytes(b"x" * 101)
    assert read_file(tmp_path / "run.json", 101, "a test reads", DataError) == b"x" * 101
    with refused(
        f"{tmp_path / 'run.json'} is larger than the 100 bytes a run.json may hold; it was not read. Is it the file "
        "netreg wrote?",
        DataError,
    ):
        read_file(tmp_path / "run.json", 100, "a run.json may hold", DataError)


def test_a_link_at_the_target_is_replaced_never_written_through(tmp_path, snapshot):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "report.html").symlink_to(outside / "precious.txt")
    (folder / "weight_norms.png").symlink_to(outside / "missing.png")  # dangling
    before = snapshot(outside)
    write_file(folder / "report.html", b"new")
    write_file(folder / "weight_norms.png", b"png")
    assert snapshot(outside) == before and not (outside / "missing.png").exists()
    assert not (folder / "report.html").is_symlink() and (folder / "report.html").read_bytes() == b"new"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "weight_norms.png"]


def test_a_new_file_is_not_created_where_anything_is_even_a_dangling_link(tmp_path, refused):
    target = tmp_path / "p.csv"
    target.symlink_to(tmp_path / "elsewhere.csv")
    with refused(f"{str(target)!r} already exists; it was not overwritten.", OutputError):
        write_file(target, b"x", overwrite=False)
    assert not (tmp_path / "elsewhere.csv").exists() and target.is_symlink()
    fresh = write_file(tmp_path / "q.csv", b"x", overwrite=False)
    assert fresh.read_bytes() == b"x" and sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "q.csv"]


@pytest.mark.parametrize(
    "code, fix",
    [
        (errno.ENOSPC, "Free some space and rerun."),
        (errno.EDQUOT, "Free some space and rerun."),
        (errno.EROFS, "Choose a folder you can write to."),
        (errno.EIO, "Choose another path."),
    ],
)
def test_a_failed_write_is_an_output_error_and_leaves_what_was_there(tmp_path, monkeypatch, refused, code, fix):
    target = tmp_path / "report.html"
    target.write_text("the old report")

    def fail(*args):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "replace", fail)
    with refused(
        f"Could not write {str(target)!r}: {os.strerror(code)}; nothing was replaced. {fix}", OutputError
    ) as caught:
        write_file(target, b"the new report")
    assert caught.value.__cause__.errno == code
    assert target.read_text() == "the old report" and [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_disk_that_fills_while_writing_leaves_no_partial_file(tmp_path, monkeypatch, refused):
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def fileno(self):
            return self.handle.fileno()

        def write(self, data):
            self.handle.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with refused(
        f"Could not write {str(tmp_path / 'report.html')!r}: No space left on device; nothing was replaced. "
        "Free some space and rerun.",
        OutputError,
    ):
        write_file(tmp_path / "report.html", b"x" * 100)
    assert list(tmp_path.iterdir()) == []


def test_files_get_the_permissions_of_any_new_file(tmp_path):
    umask = os.umask(0o027)
    try:
        path = write_file(tmp_path / "a.txt", b"1")
        fresh = write_file(tmp_path / "b.txt", b"1", overwrite=False)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(fresh.stat().st_mode) == 0o640


def test_output_folders_that_cannot_be_written_are_refused_first(tmp_path, refused):
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    expected = "`out_dir` must be a folder that can be created and written. Got"
    for path, problem in [
        (tmp_path / "a.csv", "it is a file"),
        (tmp_path / "a.csv" / "run", f"{str(tmp_path / 'a.csv')!r} is a file"),
        (tmp_path / "gone", f"it is a link to {str(tmp_path / 'nowhere')!r}, which does not exist"),
    ]:
        with refused(f"{expected} {str(path)!r}: {problem}. Choose another folder.", InvalidParameterError):
            check_writable_folder(path, "out_dir")
    check_writable_folder(tmp_path / "new" / "deeper", "out_dir")
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_a_read_only_folder_is_refused_first(tmp_path, refused, read_only):
    folder = tmp_path / "ro"
    folder.mkdir()
    read_only(folder)
    with refused(
        f"`out_dir` must be a folder that can be created and written. Got {str(folder / 'run')!r}: "
        f"{str(folder)!r} is a folder that cannot be written. Choose another folder.",
        InvalidParameterError,
    ):
        check_writable_folder(folder / "run", "out_dir")


def test_a_folder_the_process_may_not_write_is_refused_whoever_runs_the_test(tmp_path, monkeypatch, refused):
    # As root the folder above is writable whatever its mode; the check is what os.access says.
    monkeypatch.setattr(files.os, "access", lambda path, mode: False)
    with refused(
        f"`out` must be a path for a file in a folder that can be written. Got {str(tmp_path / 'p.csv')!r}: "
        f"{str(tmp_path)!r} is a folder that cannot be written. Choose another path.",
        InvalidParameterError,
    ):
        check_output_file(tmp_path / "p.csv", "out")


def test_output_files_that_exist_or_cannot_be_made_are_refused_first(tmp_path, refused):
    (tmp_path / "p.csv").write_text("keep me")
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    for name in ("p.csv", "dangling.csv"):
        with refused(
            f"{str(tmp_path / name)!r} already exists; it was not overwritten. Choose another `out` or pass "
            "`force=True`.",
            OutputError,
        ):
            check_output_file(tmp_path / name, "out")
        check_output_file(tmp_path / name, "out", force=True)
    expected = "`out` must be a path for a file in a folder that can be written. Got "
    for path, problem in [
        (tmp_path, "it is a folder"),
        (tmp_path / "p.csv" / "q.csv", f"{str(tmp_path / 'p.csv')!r} is a file"),
    ]:
        for force in (False, True):
            with refused(f"{expected}{str(path)!r}: {problem}. Choose another path.", InvalidParameterError):
                check_output_file(path, "out", force=force)
    assert (tmp_path / "p.csv").read_text() == "keep me"


def test_a_file_system_without_hard_links_still_creates_new_files_never_replacing_one(tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(files.os, "link", no_links)
    assert create_file(tmp_path / "new.sqlite", lambda name: open(name, "wb").write(b"db"))
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert not create_file(tmp_path / "new.sqlite", lambda name: open(name, "wb").write(b"other"))
    assert not create_file(tmp_path / "dangling", lambda name: None)
    assert (tmp_path / "new.sqlite").read_bytes() == b"db" and not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "new.sqlite"]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_a_folder_is_replaced_whole_with_the_permissions_of_any_new_file(tmp_path, umask):
    replace_folder(tmp_path / "model", {"old.json": b"{}", "old.bin": b"1"})
    previous = os.umask(umask)
    try:
        folder = replace_folder(tmp_path / "model", {"model.json": b"[]", "weights.bin": b"2"})
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes == {"model.json": 0o666 & ~umask, "weights.bin": 0o666 & ~umask}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask
    assert (folder / "model.json").read_bytes() == b"[]" and [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_folder_replacement_that_fails_or_is_refused_leaves_the_old_folder_and_nothing_else(
    tmp_path, monkeypatch, refused, snapshot
):
    folder = replace_folder(tmp_path / "model", {"model.json": b"old"})
    before = snapshot(tmp_path)

    def no(*args):
        raise DataError("not ours to replace")

    with refused("not ours to replace", DataError):
        replace_folder(folder, {"model.json": b"new"}, check=no)
    assert snapshot(tmp_path) == before

    def full(descriptor, mode):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", full)
    with refused(
        f"Could not write {str(folder)!r}: No space left on device; nothing was replaced. Free some space and rerun.",
        OutputError,
    ):
        replace_folder(folder, {"model.json": b"new"})
    assert snapshot(tmp_path) == before


def test_what_another_program_put_at_the_folder_meanwhile_is_kept(tmp_path, monkeypatch, refused):
    real_replace = os.replace
    target = tmp_path / "model"

    def other_program_first(source, destination):
        if str(source).endswith(".partial"):  # just before the new folder takes its name
            target.mkdir()
            (target / "theirs.txt").write_text("theirs")
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", other_program_first)
    with refused(
        f"{str(target)!r} could not be replaced (Directory not empty): another program wrote it meanwhile, and what "
        "it wrote was kept. Save again to replace it.",
        OutputError,
    ):
        replace_folder(target, {"model.json": b"new"})
    assert [p.name for p in target.iterdir()] == ["theirs.txt"] and [p.name for p in tmp_path.iterdir()] == ["model"]


#: Replace a folder and be SIGKILLed after its first file is written, before the swap.
KILLED_WHILE_REPLACING = """
import os, signal, sys
from netreg import safe_files
real = os.fdopen
def write_then_die(descriptor, mode):
    handle = real(descriptor, mode)
    handle.write(b"partial")
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)
safe_files.os.fdopen = write_then_die
safe_files.replace_folder(sys.argv[1], {"model.json": b"new", "weights.bin": b"new"})
"""


def test_a_process_killed_while_replacing_a_folder_leaves_the_old_one_whole(tmp_path):
    folder = replace_folder(tmp_path / "model", {"model.json": b"old"})
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_REPLACING, str(folder)], timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL
    assert [p.name for p in folder.iterdir()] == ["model.json"] and (folder / "model.json").read_bytes() == b"old"
    (left,) = [p for p in tmp_path.iterdir() if p.name != "model"]  # its hidden staging folder, as a file's
    assert left.name.startswith(".model.") and left.name.endswith(".partial")
    assert replace_folder(folder, {"model.json": b"next"}) == folder and (folder / "model.json").read_bytes() == b"next"


def test_a_folder_where_a_file_goes_is_refused_before_anything_is_written(tmp_path, refused, snapshot):
    (tmp_path / "results.csv").mkdir()
    (tmp_path / "results.csv" / "inside").write_text("the user's")
    before = snapshot(tmp_path)
    with refused(
        f"Could not write {str(tmp_path / 'results.csv')!r}: it is a folder, which netreg never replaces (only a "
        "regular file); nothing was replaced. Choose another path.",
        OutputError,
    ):
        write_file(tmp_path / "results.csv", b"alpha\n")
    assert snapshot(tmp_path) == before
