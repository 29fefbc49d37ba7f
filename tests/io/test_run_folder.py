"""The run folder: its names in one place, and files written whole, never through a link."""

from __future__ import annotations

import os
import stat

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
