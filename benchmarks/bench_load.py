"""The sweep of bench_sweep.py alone and beside a competing CPU-bound process: netreg against GridSearchCV.

Run: python benchmarks/bench_load.py [--epochs 30] [--batch-size 64] [--alphas 16] [--variants]

On digits, 16 alphas x 5 folds of an MLP 64-100-100-10 (adam, the same number of epochs
everywhere, nothing stopping early), each sweep is timed twice: on the machine as it is
("idle"), and while one other process spins on one core ("load": ``while True: pass``,
started by this script before the loaded runs and stopped after them). It prints each
time, the slowdown under load, and the two targets of issue 14:

* netreg under load at most 2x netreg alone (one core's fair share of a 2-core machine);
* netreg under load at least 2x faster than GridSearchCV under the same load.

What runs:

1. netreg, default: ``run_sweep`` with ``n_jobs=None`` (chunks side by side in worker
   processes of one thread each, see ``netreg.tuning.backends.LocalBackend``);
2. with ``--variants`` also netreg's other two ways: every chunk in this process on all
   the cores' threads (netreg 0.1's way), and in this process on one thread (``n_jobs=1``);
3. scikit-learn: ``GridSearchCV(MLPClassifier(...), cv=5, n_jobs=-1, refit=False)`` over the
   same objectives (the grid converted with ``netreg.conventions.to_sklearn_alpha``).

A short search and a short sweep run first, untimed, so that neither side's timings pay
for starting its worker pool or its kernels.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier

from netreg import NetRegClassifier, conventions
from netreg.engine.threads import default_cores
from netreg.tuning import plan_sweep, run_sweep
from netreg.tuning.backends import LocalBackend

HIDDEN = (100, 100)


class OneProcess(LocalBackend):
    """Every chunk in this process, on ``n_jobs`` threads: how netreg 0.1 trained a sweep."""

    def workers(self, plan, n_chunks=None):
        return 1


def competitor() -> subprocess.Popen:
    """A process that keeps one core busy until it is stopped."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)  # let it reach full speed
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--alphas", type=int, default=16)
    parser.add_argument("--variants", action="store_true", help="also time netreg in one process (all threads, one)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    alphas = np.logspace(-2, 2, args.alphas)
    common = {"max_iter": args.epochs, "tol": 0.0, "n_iter_no_change": args.epochs + 1, "batch_size": args.batch_size}
    plan = plan_sweep(NetRegClassifier(HIDDEN, random_state=0, **common), X, y, alphas=list(alphas), cv=5)
    m = len(plan.train_rows[0])
    sklearn_alphas = [
        conventions.to_sklearn_alpha(a, solver="adam", n_samples=m, batch_size=args.batch_size) for a in alphas
    ]
    cores = default_cores()

    def sklearn_sweep() -> None:
        search = GridSearchCV(
            MLPClassifier(HIDDEN, random_state=0, **common), {"alpha": sklearn_alphas}, cv=5, n_jobs=-1, refit=False
        )
        search.fit(X, y)

    runs = {"netreg, default (workers of one thread)": lambda: run_sweep(plan, scoring="accuracy")}
    if args.variants:
        runs[f"netreg, one process on {cores} threads"] = lambda: run_sweep(
            plan, scoring="accuracy", backend=OneProcess(n_jobs=cores)
        )
        runs["netreg, one process on 1 thread (n_jobs=1)"] = lambda: run_sweep(plan, scoring="accuracy", n_jobs=1)
    runs["scikit-learn GridSearchCV n_jobs=-1"] = sklearn_sweep

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, {cores} cores for netreg")
    print(
        f"sweep: {args.alphas} alphas x 5 folds, MLP 64-{HIDDEN[0]}-{HIDDEN[1]}-10, adam, "
        f"batch {args.batch_size}, {args.epochs} epochs\n"
    )
    # Warm-up, not timed: scikit-learn's first search starts its pool of worker processes
    # (loky's, reused by later searches), netreg's first sweep initializes PyTorch's kernels.
    GridSearchCV(
        MLPClassifier(HIDDEN, max_iter=1, batch_size=args.batch_size), {"alpha": sklearn_alphas[:2]}, cv=5, n_jobs=-1
    ).fit(X, y)
    run_sweep(plan_sweep(NetRegClassifier(HIDDEN, max_iter=1), X, y, alphas=[0.1, 1.0], cv=5), scoring="accuracy")
    times: dict[str, dict[str, float]] = {name: {} for name in runs}
    for condition in ("idle", "load"):
        other = competitor() if condition == "load" else None
        try:
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                times[name][condition] = time.perf_counter() - started
        finally:
            if other is not None:
                other.kill()
                other.wait()

    print(f"{'':46}{'idle':>9}{'load':>9}{'load/idle':>11}")
    for name, measured in times.items():
        print(f"{name:46}{measured['idle']:8.2f}s{measured['load']:8.2f}s{measured['load'] / measured['idle']:10.2f}x")
    ours, theirs = times["netreg, default (workers of one thread)"], times["scikit-learn GridSearchCV n_jobs=-1"]
    print()
    print(f"netreg under load / netreg idle:              {ours['load'] / ours['idle']:5.2f}x   (target: at most 2)")
    print(f"GridSearchCV under load / netreg under load:  {theirs['load'] / ours['load']:5.2f}x   (target: at least 2)")
    print(f"GridSearchCV idle / netreg idle:              {theirs['idle'] / ours['idle']:5.2f}x")


if __name__ == "__main__":
    main()
