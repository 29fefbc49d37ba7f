"""Make the README's example figure from a small real sweep on scikit-learn's digits.

Run from the repository root (CPU only; it trains 36 networks for 600 epochs, which took
about 7 minutes on a busy 2-core machine)::

    python docs/make_figures.py [--report DIR]

It sweeps 12 alphas (0, and 11 from 0.01 to 10) over 3 folds of 200 digits with a
64-256-256-10 network trained for 600 epochs, long enough to overfit without a
penalty, and writes ``docs/validation_curve.png``. With ``--report DIR`` it also writes
the whole report (figures and ``report.html``) into DIR.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from netreg import NetRegClassifier
from netreg.report import validation_curve, write_report
from netreg.report.page import DPI
from netreg.tuning import plan_sweep, run_sweep

DOCS = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="also write the full report into this folder")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    # Few rows and many epochs: without a penalty the network overfits them.
    rows = np.random.default_rng(0).permutation(len(X))[:200]
    net = NetRegClassifier((256, 256), max_iter=600, batch_size=64, tol=0.0, n_iter_no_change=600, random_state=0)
    plan = plan_sweep(net, X[rows] / 16.0, y[rows], alphas=[0.0, *np.logspace(-2, 1, 11)], cv=3)
    result = run_sweep(plan, scoring="neg_log_loss", selection="1se")
    figure, _ = validation_curve(result)
    figure.savefig(DOCS / "validation_curve.png", dpi=DPI, metadata={"Software": None})
    if args.report is not None:
        write_report(
            result,
            None,
            args.report,
            title="netreg: an L2 sweep on 200 digits",
            data="digits (scikit-learn), 200 rows, pixels scaled to [0, 1]",
            target="digit 0-9",
        )


if __name__ == "__main__":
    main()
