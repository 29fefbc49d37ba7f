"""Choosing alpha: netreg's vectorized sweep against scikit-learn's GridSearchCV.

Run: python benchmarks/bench_sweep.py [--epochs 30] [--alphas 16]

On digits (1797 rows), an MLP with two hidden layers of 100 units, adam, batch size 200,
the same number of epochs everywhere (tol=0 and n_iter_no_change above the epoch count,
so nothing stops early), 16 alphas x 5 folds, three ways:

1. netreg: ``NetRegClassifierCV``, every (alpha, fold) member in one vectorized population;
2. netreg with vectorization off: the same sweep, one member at a time (``chunk_size=1``);
3. scikit-learn: ``GridSearchCV(MLPClassifier(...), {"alpha": ...}, cv=5, n_jobs=-1)``, its
   grid converted with ``netreg.conventions.to_sklearn_alpha`` so that both search the same
   objectives (scikit-learn's adam divides the penalty by the batch size).

Each sweep is timed once (with the refit on all data excluded, to time the sweep alone:
``GridSearchCV(refit=False)`` and netreg's sweep without its refit). It prints the wall
times, their ratios, the best CV accuracy of each, and the arithmetic floor: the sweep's
floating-point operations (forward and backward passes of every member, and the forward
passes that score the held-out rows) divided by this machine's float32 matmul rate,
measured in the same run on a 2048 x 2048 product.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier

from netreg import NetRegClassifier, conventions
from netreg.tuning import plan_sweep, run_sweep

HIDDEN = (100, 100)
BATCH = 200


def matmul_rate(size: int = 2048, repeats: int = 15) -> float:
    """Float32 GFLOP/s of a square matrix product with torch on this machine: the best of
    ``repeats`` runs, the rate the machine can reach (a noisy neighbour only slows runs down)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - started)
    return 2 * size**3 / min(times) / 1e9


def sweep_flops(plan, epochs: int) -> float:
    """Floating-point operations of the sweep's matrix products.

    Per layer of ``in -> out`` units and per row: 2 in*out forward, 4 in*out backward
    (weight and input gradients), less the input gradient of the first layer, which is
    never needed. Every epoch also scores the held-out fold (forward only), and a member
    is scored once more at its end on its training and held-out rows.
    """
    sizes = [plan.X.shape[1], *HIDDEN, len(np.unique(plan.targets))]
    products = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    first = sizes[0] * sizes[1]
    total = 0.0
    for _, fold in plan.keys:
        n_train, n_val = len(plan.train_rows[fold]), len(plan.folds[fold][1])
        train_step = n_train * (6 * products - 2 * first)
        total += epochs * (train_step + 2 * n_val * products) + 2 * (n_train + n_val) * products
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--alphas", type=int, default=16)
    parser.add_argument("--skip-sequential", action="store_true", help="skip the one-member-at-a-time run")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    alphas = np.logspace(-2, 2, args.alphas)
    common = {"max_iter": args.epochs, "tol": 0.0, "n_iter_no_change": args.epochs + 1, "batch_size": BATCH}
    base = NetRegClassifier(HIDDEN, random_state=0, **common)
    plan = plan_sweep(base, X, y, alphas=list(alphas), cv=5)
    m = len(plan.train_rows[0])
    rate = matmul_rate()
    floor = sweep_flops(plan, args.epochs) / (rate * 1e9)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; matmul rate {rate:.0f} GFLOP/s (float32)")
    print(
        f"sweep: {args.alphas} alphas x 5 folds, MLP 64-{HIDDEN[0]}-{HIDDEN[1]}-10, adam, batch {BATCH}, {args.epochs} epochs"
    )
    print(f"arithmetic floor: {sweep_flops(plan, args.epochs) / 1e9:.0f} GFLOP / {rate:.0f} GFLOP/s = {floor:.2f} s\n")

    started = time.perf_counter()
    vectorized = run_sweep(plan, scoring="accuracy")
    t_vectorized = time.perf_counter() - started
    best_vectorized = float(np.max(vectorized.cv_results["mean_test_score"]))

    t_sequential = best_sequential = float("nan")
    if not args.skip_sequential:
        started = time.perf_counter()
        sequential = run_sweep(plan, scoring="accuracy", chunk_size=1)
        t_sequential = time.perf_counter() - started
        best_sequential = float(np.max(sequential.cv_results["mean_test_score"]))

    sklearn_alphas = [conventions.to_sklearn_alpha(a, solver="adam", n_samples=m, batch_size=BATCH) for a in alphas]
    search = GridSearchCV(
        MLPClassifier(HIDDEN, random_state=0, **common), {"alpha": sklearn_alphas}, cv=5, n_jobs=-1, refit=False
    )
    started = time.perf_counter()
    search.fit(X, y)
    t_sklearn = time.perf_counter() - started
    best_sklearn = float(np.max(search.cv_results_["mean_test_score"]))

    rows = [
        ("netreg, vectorized", t_vectorized, best_vectorized),
        ("netreg, one member at a time", t_sequential, best_sequential),
        ("scikit-learn GridSearchCV n_jobs=-1", t_sklearn, best_sklearn),
    ]
    print(f"{'':38}{'time':>9}{'best CV accuracy':>19}")
    for name, seconds, best in rows:
        print(f"{name:38}{seconds:8.2f}s{best:19.4f}")
    print()
    print(f"scikit-learn / netreg vectorized:            {t_sklearn / t_vectorized:5.2f}x")
    if not args.skip_sequential:
        print(f"netreg one at a time / netreg vectorized:    {t_sequential / t_vectorized:5.2f}x")
    print(f"netreg vectorized / arithmetic floor:        {t_vectorized / floor:5.2f}x")
    print(f"best CV accuracy, netreg minus scikit-learn: {100 * (best_vectorized - best_sklearn):+.2f} points")


if __name__ == "__main__":
    main()
