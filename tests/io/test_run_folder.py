"""The run folder: its names in one place, and files written whole, never through a link."""

from __future__ import annotations

import os
import re
import stat

import pytest

from netreg import safe_files as files
from netreg.exceptions import OutputError
from netreg.io.run_folder import FIGURE_FILES, RunFolder


def test_the_layout():
    folder = RunFolder("runs/a")
    assert [p.name for p in (folder.store, folder.results, folder.run_json, folder.model, folder.report)] == [
        "sweep.sqlite",
        "results.csv",
        "run.json",
        "model",
        "report.html",
    ]
    assert {name: folder.figure(name).name for name in FIGURE_FILES} == {
        "validation_curve": "validation_curve.png",
        "weight_norms": "weight_norms.png",
        "learning_curves": "learning_curves.png",
        "weight_histograms": "weight_histograms.png",
        "evidence": "evidence.png",
        "alpha_path": "alpha_path.png",
    }
    assert RunFolder.contents() == "sweep.sqlite, results.csv, run.json, model/"
    assert RunFolder(folder.path) == folder and folder.store.parent == folder.path


def test_writing_creates_the_folder_replaces_the_file_and_leaves_nothing_else(tmp_path):
    folder = RunFolder(tmp_path / "new" / "run")
    assert folder.write_text("run.json", "{}") == folder.run_json
    folder.write_text("run.json", '{"scoring": "r2"}')
    assert folder.run_json.read_text() == '{"scoring": "r2"}'
    assert [p.name for p in folder.path.iterdir()] == ["run.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(folder.run_json.stat().st_mode) == 0o666 & ~umask


def test_a_link_in_the_folder_is_replaced_not_written_through(tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    (folder.path / "weight_norms.png").symlink_to(outside)
    (folder.path / "report.html.partial").symlink_to(outside)
    folder.write_bytes("weight_norms.png", b"png")
    folder.write_text("report.html", "<html>")
    assert outside.read_text() == "keep me"
    assert not folder.figure("weight_norms").is_symlink() and folder.figure("weight_norms").read_bytes() == b"png"
    assert folder.report.read_text() == "<html>"


def test_a_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path)

    def fail(source, target):
        raise IsADirectoryError(21, "Is a directory")

    monkeypatch.setattr(files.os, "replace", fail)  # the rename fails after the file was written
    message = f"Could not write {str(folder.results)!r}: Is a directory; nothing was replaced. Choose another path."
    with pytest.raises(OutputError, match=f"^{re.escape(message)}$") as caught:
        folder.write_text("results.csv", "alpha\n")
    assert isinstance(caught.value.__cause__, IsADirectoryError)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_where_a_file_goes_is_refused_before_anything_is_written(tmp_path, snapshot):
    folder = RunFolder(tmp_path)
    (tmp_path / "results.csv").mkdir()
    (tmp_path / "results.csv" / "inside").write_text("the user's")
    before = snapshot(tmp_path)
    message = (
        f"Could not write {str(folder.results)!r}: it is a folder, which netreg never replaces (only a regular "
        "file); nothing was replaced. Choose another path."
    )
    with pytest.raises(OutputError, match=f"^{re.escape(message)}$"):
        folder.write_text("results.csv", "alpha\n")
    assert snapshot(tmp_path) == before
