"""Project hygiene that CI must enforce: README commands, CI script, lint and format."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_the_demo_and_test_commands_and_ci_runs_the_latter():
    blocks = _bash_blocks((ROOT / "README.md").read_text())
    demo, tests = blocks[0].strip(), blocks[1].strip()
    assert demo.endswith("netreg demo")
    ci_lines = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert tests in ci_lines
    # Both install the torch that CI tests (a bare `pip install -e .` takes the newest, a CUDA build).
    assert " -c .ci/constraints.txt " in demo and " -c .ci/constraints.txt " in tests


def _torch_pin():
    lines = (ROOT / ".ci/constraints.txt").read_text().splitlines()
    (pin,) = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    (exact,) = pin.specifier
    assert pin.name == "torch" and exact.operator == "=="
    return Version(exact.version)


def test_torch_is_required_as_a_range_from_the_release_ci_pins():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (torch_requirement,) = [r for r in map(Requirement, dependencies) if r.name == "torch"]
    (lower,) = torch_requirement.specifier  # one bound: no exact pin, no upper bound
    assert lower.operator == ">="
    assert Version(lower.version) == _torch_pin()  # CI tests the oldest release netreg accepts


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI installs the pinned torch; a developer may run any")
def test_ci_runs_the_torch_its_constraints_file_pins():
    assert Version(torch.__version__).release == _torch_pin().release


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff is installed by the [test] extra that CI uses",
)
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command):
    ruff = Path(sys.executable).parent / "ruff"
    executable = str(ruff) if ruff.exists() else "ruff"
    paths = [str(ROOT / p) for p in ("src", "tests", "benchmarks", "docs", "conftest.py")]
    completed = subprocess.run([executable, *command, *paths], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_layers_import_downward_only():
    # The contract is declared in pyproject.toml ([tool.importlinter]); a cycle or an
    # upward import breaks it.
    executable = Path(sys.executable).parent / "lint-imports"
    completed = subprocess.run([str(executable)], capture_output=True, text=True, cwd=ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Contracts: 1 kept, 0 broken." in completed.stdout


def test_no_two_modules_share_a_name():
    # A module is named for its one job, so a name read in a traceback or an import says
    # which job it is; packages' __init__ and __main__ are the exceptions by nature.
    folders: dict[str, list[str]] = {}
    for path in sorted((ROOT / "src" / "netreg").rglob("*.py")):
        if path.name not in ("__init__.py", "__main__.py"):
            folders.setdefault(path.stem, []).append(str(path.parent.relative_to(ROOT / "src")))
    shared = {name: places for name, places in folders.items() if len(places) > 1}
    assert shared == {}
