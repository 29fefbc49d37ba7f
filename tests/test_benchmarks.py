"""The benchmark scripts run: their --quick paths, in a subprocess, print every method and the targets.

Smoke tests only: the figures of a quick run mean nothing (a few epochs on a few rows), so
nothing here checks a time or a score, only that each script runs to its end and reports
every method, with netreg halving, skorch and laplace-torch skipped by name where they are missing.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str, timeout: int = 300) -> str:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
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
        "netreg alpha='auto'",
    ):
        (line,) = [row for row in out.splitlines() if row.startswith(method + " ")]
        assert line.split()[-1].replace(".", "").isdigit(), line  # ends with a test log-loss
    assert "skorch in GridSearchCV              skipped" in out
    assert any(row.startswith("netreg halving ") for row in out.splitlines())
    assert any(row.startswith("netreg halving, refit='folds' ") for row in out.splitlines())
    assert "Targets (issue 12):" in out
    assert "Targets (issue 22, item 4):" in out
    assert "  evidence >= 15x faster than GridSearchCV: " in out
    assert "Targets (issue 21, cost):\n  alpha='auto' >= 15x faster than GridSearchCV: " in out


def test_bench_quality_quick_reports_every_method_and_the_target():
    out = run_script("bench_quality.py")
    lines = out.splitlines()
    for method in (
        "alpha=0",
        "grid min",
        "grid folds",
        "grid 1se",
        "halving",
        "evidence",
        "auto",
        "hybrid",
        "hybrid folds",
    ):
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
    assert [row.split()[0] for row in verdicts] == [
        "alpha=0",
        "grid",
        "grid",
        "halving",
        "evidence",
        "auto",
        "hybrid",
        "hybrid",
    ]
    # A quick run's scores mean nothing, so either verdict may come: each must be the one its
    # count gives (met when within on at least 1 of the 2 data sets). "not available" is for a
    # netreg without halving; this one has it, so every method ran and has a count.
    for row in verdicts:
        match = re.fullmatch(r"  \S+(?: \S+)? +([0-2]) of 2: (met|not met)", row)
        assert match, row
        assert match[2] == ("met" if int(match[1]) >= 1 else "not met"), row
    assert [row.split()[0] for row in lines[versus + 1 : versus + 3]] == ["iris", "diabetes"]
    match = re.fullmatch(r"  auto worse than evidence on ([0-2]) of 2: (met|not met)", lines[versus + 3])
    assert match, lines[versus + 3]
    assert match[2] == ("met" if match[1] == "0" else "not met"), lines[versus + 3]  # either, as above


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
    for method in (*methods, "CV grid", "CV search='hybrid'", "  the same, refit='folds'"):
        (line,) = [row for row in out.splitlines() if row.startswith(method)]
        assert line.split()[-1].replace(".", "").isdigit(), line  # ends with a held-out log-loss


def test_bench_single_fit_quick_reports_both_libraries_and_their_ratio_per_dtype():
    out = run_script("bench_single_fit.py")
    lines = [row.strip() for row in out.splitlines()]
    for dtype in ("float32", "float64"):
        at = lines.index(f"X {dtype}")
        assert lines[at + 2].startswith("scikit-learn ") and lines[at + 3].startswith("netreg ")
        assert lines[at + 4].startswith(f"netreg / scikit-learn ({dtype}): time "), lines[at + 4]


def test_bench_marglik_quick_reports_netreg_and_laplace_or_its_skip():
    # One epoch: laplace-torch's curvature takes seconds an epoch on digits, minutes on a busy machine.
    out = run_script("bench_marglik.py", "--epochs", "1", timeout=900)
    lines = out.splitlines()
    for method in ("netreg fixed alpha=1e-4", "netreg alpha='auto' (layerwise)"):
        (line,) = [row for row in lines if row.startswith(method + " ")]
        assert line.split()[-1].replace(".", "").isdigit(), line  # ends with a held-out log-loss
    (laplace,) = [row for row in lines if row.startswith("laplace-torch marglik_training")]
    (verdict,) = [row for row in lines if row.startswith("  digits")]
    if importlib.util.find_spec("laplace") is None:
        assert laplace.endswith("skipped: laplace-torch not installed (see this script's docstring)"), laplace
        assert verdict == "  digits: not available (laplace-torch not installed)"
    else:
        assert laplace.split()[-1].replace(".", "").isdigit(), laplace
        assert verdict.startswith("  digits, split 0: ") and verdict.endswith(("met", "not met")), verdict
    assert "Target (issue 21): alpha='auto' >= 10x faster than marglik_training" in out


@pytest.mark.parametrize("hidden", [False, True], ids=["laplace-if-installed", "laplace-hidden"])
def test_bench_marglik_splits_summarize_each_method_with_a_standard_error(hidden):
    # Hidden, an installed laplace-torch's import fails as if it were missing (as CI has it).
    hide = "import sys; sys.modules['laplace'] = None; " if hidden else ""
    code = (
        f"{hide}import runpy, sys; sys.argv = ['bench_marglik.py', '--quick', '--epochs', '1', '--splits', '2'];"
        " runpy.run_path('bench_marglik.py', run_name='__main__')"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=BENCHMARKS
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    at = lines.index("digits, 2 splits:")
    assert lines[at + 1].split() == ["method", "median", "s", "log-loss", "mean", "SE"]
    end = lines.index("", at)  # the summary ends at a blank line
    rows = {line[:34].strip(): line[34:].split() for line in lines[at + 2 : end] if not line.startswith("auto")}
    assert {"netreg fixed alpha=1e-4", "netreg alpha='auto' (layerwise)"} <= set(rows)
    for values in rows.values():
        seconds, mean, se = map(float, values)
        assert seconds > 0 and mean > 0 and se >= 0, values
    paired = [line for line in lines if line.startswith("auto - marglik_training, paired log-loss: ")]
    assert len(paired) == (not hidden and importlib.util.find_spec("laplace") is not None), paired
    assert ("laplace-torch marglik_training" in rows) == bool(paired)


def test_bench_marglik_names_laplace_torch_when_it_cannot_be_imported():
    # Hides an installed laplace-torch from the script (its import fails as if it were
    # missing), so that the skip is proven where laplace-torch is installed too.
    hide = (
        "import runpy, sys; sys.modules['laplace'] = None; sys.argv = ['bench_marglik.py', '--quick', '--epochs', '1'];"
        " runpy.run_path('bench_marglik.py', run_name='__main__')"
    )
    completed = subprocess.run(
        [sys.executable, "-c", hide], capture_output=True, text=True, timeout=300, cwd=BENCHMARKS
    )
    assert completed.returncode == 0, completed.stderr
    (laplace,) = [row for row in completed.stdout.splitlines() if row.startswith("laplace-torch marglik_training")]
    assert laplace.split(maxsplit=2)[-1] == "skipped: laplace-torch not installed (see this script's docstring)"
    assert "  digits: not available (laplace-torch not installed)" in completed.stdout.splitlines()


def test_bench_rows_quick_reports_time_and_memory_of_each_sweep_and_the_ratios():
    # Three fresh processes (each imports torch and makes its data): a longer timeout on a busy machine.
    out = run_script("bench_rows.py", timeout=900)
    lines = out.splitlines()
    for method in ("netreg CV", "netreg no evidence", "GridSearchCV"):
        (row,) = [row for row in lines if row[10:].startswith(method + " ")]
        assert row.split()[0] == "2000", row
        assert row.count("MB") == 3, row  # peak PSS and RSS over the start, and a worker's private memory
    (row,) = [row for row in lines if row[10:].startswith("evidence alone ")]
    assert row.split()[0] == "2000" and row.count("MB") == 1, row  # the evidence process's private memory
    (ratios,) = [row for row in lines if "GridSearchCV's time over netreg CV's: " in row]
    assert ratios.split()[-1].endswith("x"), ratios
    assert "CPU time over netreg CV's: " in ratios, ratios
    assert lines[-1].startswith("load average at the end ")


def test_bench_grid_top_quick_reports_the_kill_point_and_the_spreads():
    out = run_script("bench_grid_top.py")
    (row,) = [line for line in out.splitlines() if line.startswith("iris ")]
    # The name, "(16, 16)" (two words), both bounds, the top, the spread there and at 4 fractions.
    cells = row.split()
    assert len(cells) == 1 + 2 + 3 + 1 + 4
    one_layer, kill, top, *spreads = (float(cell) for cell in cells[3:])
    assert kill < one_layer and top == pytest.approx(kill / 2, abs=0.06) and all(0 <= v <= 1 for v in spreads)
