"""The benchmark scripts run: their --quick paths, in a subprocess, print every method and the targets.

Smoke tests only: the figures of a quick run mean nothing (a few epochs on a few rows), so
nothing here checks a time or a score, only that each script runs to its end and reports
every method, with netreg halving and skorch skipped by name where they are missing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCHMARKS,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_bench_choose_quick_reports_every_method_and_the_targets():
    out = run_script("bench_choose.py", "--n-jobs", "1", "--skip-skorch")
    for method in (
        "scikit-learn GridSearchCV",
        "scikit-learn HalvingGridSearchCV",
        "netreg full grid",
        "netreg evidence",
    ):
        (line,) = [row for row in out.splitlines() if row.startswith(method + " ")]
        assert line.split()[-1].replace(".", "").isdigit(), line  # ends with a test log-loss
    assert "skorch in GridSearchCV              skipped" in out
    assert any(row.startswith("netreg halving") for row in out.splitlines())
    assert "Targets (issue 12):" in out
    assert "  evidence >= 15x faster than GridSearchCV: " in out


def test_bench_quality_quick_reports_every_method_and_the_target():
    out = run_script("bench_quality.py")
    lines = out.splitlines()
    for method in ("alpha=0", "grid min", "grid folds", "grid 1se", "halving", "evidence", "auto", "hybrid"):
        assert any(row[20:].startswith(method) for row in lines), method
    (target,) = [
        i
        for i, row in enumerate(lines)
        if row.startswith("Target (issues 12 and 21): on at least 1 of the 2 data sets")
    ]
    (versus,) = [
        i for i, row in enumerate(lines) if row.startswith("Target (issue 21): auto never worse than evidence")
    ]
    verdicts = lines[target + 1 : versus - 1]
    assert [row.split()[0] for row in verdicts] == ["alpha=0", "grid", "grid", "halving", "evidence", "auto", "hybrid"]
    assert all(row.endswith(("met", "not available")) for row in verdicts), verdicts
    assert [row.split()[0] for row in lines[versus + 1 : versus + 3]] == ["iris", "diabetes"]
    assert lines[versus + 3].startswith("  auto worse than evidence on ") and lines[versus + 3].endswith("met")


def test_bench_dtype_quick_reports_every_fit_and_the_sweeps():
    out = run_script("bench_dtype.py")
    lines = out.splitlines()
    for name in ("netreg float32", "netreg float64", "scikit-learn float32", "scikit-learn float64"):
        (line,) = [row for row in lines if row.strip().startswith(name + " ")]
        assert "ratio to netreg float32" in line, line
    for name in ("sweep float32", "sweep float64"):
        assert any(row.strip().startswith(name + " ") for row in lines), name


def test_bench_auto_alpha_quick_reports_every_method():
    out = run_script("bench_auto_alpha.py", "--epochs", "3")
    methods = ("fixed alpha=1e-4", "alpha='auto' (layerwise)", "alpha='auto' (scalar)", "CV selection='evidence'")
    for method in (*methods, "CV grid", "CV search='hybrid'"):
        (line,) = [row for row in out.splitlines() if row.startswith(method)]
        assert line.split()[-1].replace(".", "").isdigit(), line  # ends with a held-out log-loss
