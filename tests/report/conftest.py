"""Fixtures of the report tests: a finished sweep on digits with its store, and a run folder."""

from __future__ import annotations

import json
import shutil

import pytest
from report_helpers import digits_plan

from netreg.tuning import run_sweep


@pytest.fixture(scope="session")
def sweep(digits, tmp_path_factory):
    """A finished sweep: (plan, result with the 1-SE rule, store path)."""
    path = tmp_path_factory.mktemp("sweep") / "sweep.sqlite"
    plan = digits_plan(digits)
    result = run_sweep(plan, scoring="neg_log_loss", selection="1se", store=str(path))
    return plan, result, path


@pytest.fixture
def run_folder(sweep, tmp_path):
    """A run folder holding a copy of the finished sweep's store and its run.json."""
    _, _, path = sweep
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(path, folder / "sweep.sqlite")
    settings = {"scoring": "neg_log_loss", "selection": "1se", "title": "Digits <test>", "data": "150 digits"}
    (folder / "run.json").write_text(json.dumps(settings))
    return folder
