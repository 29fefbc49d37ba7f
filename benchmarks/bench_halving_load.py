"""Successive halving against the full grid and ``GridSearchCV``, beside a busy process.

Run: python benchmarks/bench_halving_load.py [--busy] [--epochs 18] [--alphas 16] [--folds 3]

Halving replaces the grid, so it must never be slower than the grid, on a machine where
other work runs too. With ``--busy`` a process spinning on one core runs for the whole
benchmark (what "another user's job" is on a shared server). The workload is a smaller
bench_choose: digits scaled to [0, 1] (80 % of the rows), an MLP 64-100-100-10, adam
(learning rate 0.001), batch 200, nothing stopping early, ``--alphas`` alphas from 0.01 to
100 and ``--folds`` folds. Each method is timed once, search and final model together:

1. scikit-learn ``GridSearchCV(MLPClassifier, n_jobs=-1)``;
2. netreg's full grid, ``NetRegClassifierCV`` (default ``n_jobs``);
3. netreg's halving, ``NetRegClassifierCV(search="halving", factor=3)``, first rung as
   scikit-learn's ``min_resources="exhaust"`` (default ``n_jobs``);
4. the same halving with ``n_jobs=1`` (one process).

It prints each method's seconds, its ratio to netreg's grid and to ``GridSearchCV``, its
chosen alpha, and the load average when it ended.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier

from halving_options import FACTOR, exhaust_min_epochs
from netreg import NetRegClassifierCV, conventions

HIDDEN = (100, 100)
BATCH = 200


def _spin() -> None:
    while True:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--alphas", type=int, default=16)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--busy", action="store_true", help="one process spinning on a core throughout")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    m = len(next(StratifiedKFold(args.folds).split(X_train, y_train))[0])
    alphas = np.logspace(-2, 2, args.alphas)
    common = {"max_iter": args.epochs, "tol": 0.0, "n_iter_no_change": args.epochs + 1, "batch_size": BATCH}
    mlp = MLPClassifier(HIDDEN, learning_rate_init=0.001, random_state=0, **common)
    netreg_cv = NetRegClassifierCV(HIDDEN, alphas=list(alphas), cv=args.folds, random_state=0, **common)
    halving = {"search": "halving", "factor": FACTOR, "min_epochs": exhaust_min_epochs(args.epochs, args.alphas)}

    def sklearn_grid() -> float:
        sk = [conventions.to_sklearn_alpha(a, solver="adam", n_samples=m, batch_size=BATCH) for a in alphas]
        search = GridSearchCV(mlp, {"alpha": sk}, cv=args.folds, scoring="accuracy", n_jobs=-1, refit=False)
        search.fit(X_train, y_train)
        alpha = float(alphas[search.best_index_])
        final = conventions.to_sklearn_alpha(alpha, solver="adam", n_samples=len(y_train), batch_size=BATCH)
        clone(mlp).set_params(alpha=final).fit(X_train, y_train)
        return alpha

    methods = {
        "scikit-learn GridSearchCV": sklearn_grid,
        "netreg grid": lambda: clone(netreg_cv).fit(X_train, y_train).alpha_,
        "netreg halving": lambda: clone(netreg_cv).set_params(**halving).fit(X_train, y_train).alpha_,
        "netreg halving, n_jobs=1": lambda: (
            clone(netreg_cv).set_params(**halving, n_jobs=1).fit(X_train, y_train).alpha_
        ),
    }
    busy = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True) if args.busy else None
    if busy is not None:
        busy.start()
    seconds: dict[str, float] = {}
    try:
        print(f"{args.alphas} alphas x {args.folds} folds, {args.epochs} epochs, busy process: {args.busy}")
        for name, method in methods.items():
            start = time.perf_counter()
            alpha = method()
            seconds[name] = time.perf_counter() - start
            load = os.getloadavg()[0]
            grid = seconds.get("netreg grid", float("nan"))
            sk = seconds["scikit-learn GridSearchCV"]
            print(
                f"{name:28s} {seconds[name]:7.1f} s  /grid {seconds[name] / grid:5.2f}  "
                f"GridSearchCV/this {sk / seconds[name]:5.2f}  alpha {alpha:.4g}  load {load:.1f}",
                flush=True,
            )
    finally:
        if busy is not None:
            busy.terminate()
            busy.join()


if __name__ == "__main__":
    main()
