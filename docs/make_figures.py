"""Make the README's figures: they are the figures of ``netreg demo``'s own report.

Run from the repository root (about half a minute on 2 cores)::

    python docs/make_figures.py

It runs the demo into a temporary folder (the same sweep, seed and settings as
``netreg demo``), writes its report, and copies ``validation_curve.png`` and
``weight_norms.png`` into ``docs/``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from netreg.demo import run_demo
from netreg.report import report_run

DOCS = Path(__file__).resolve().parent


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        run_demo(folder)
        report_run(folder)
        for name in ("validation_curve.png", "weight_norms.png"):
            shutil.copyfile(Path(folder) / name, DOCS / name)
            print(f"wrote {DOCS / name}")


if __name__ == "__main__":
    main()
