"""Writing files: whole or not at all, never through a link, and output paths checked first."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from netreg import safe_files as files
from netreg.exceptions import InvalidParameterError, OutputError
from netreg.safe_files import check_output_file, check_writable_folder, write_file


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
