"""What float64 costs: netreg's estimators in float32 (their default) and float64 (scikit-learn's precision).

Run: python benchmarks/bench_dtype.py [--rows 20000] [--features 100] [--epochs 10] [--repeats 3]

scikit-learn's MLP computes in the input's dtype: float64 for the usual float64 data.
netreg's estimators compute in ``dtype="float32"`` unless told ``dtype="float64"``. This
script measures what that choice is worth, on a synthetic 10-class problem (``--rows`` x
``--features``, Gaussian features, labels from a random linear map), MLP with two hidden
layers of 256 units, Adam, batches of 200, ``--epochs`` epochs (``tol=0``, so every fit
runs them all):

1. one fit: ``NetRegClassifier`` in float32 and in float64, and scikit-learn's
   ``MLPClassifier`` on float32 and on float64 input (the same epochs), wall times and
   their ratio to netreg's float32 fit;
2. a sweep: ``NetRegClassifierCV`` with 8 alphas x 3 folds (24 members trained as one
   population, the refit included), float32 against float64.

Each fit runs ``--repeats`` times, interleaved; the minimum is kept. The figures in
benchmarks/README.md are to be measured on an idle machine (a shared one gives noise).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from netreg import NetRegClassifier, NetRegClassifierCV


def make_data(rows: int, features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    scores = X @ rng.normal(size=(features, 10)) + rng.normal(scale=2.0, size=(rows, 10))
    return X, scores.argmax(1)


def best_time(fit: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fit()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a few rows and epochs: checks that the script runs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.features, args.epochs, args.repeats = 600, 20, 2, 1
    X, y = make_data(args.rows, args.features)
    common = {"hidden_layer_sizes": (256, 256), "max_iter": args.epochs, "tol": 0.0, "random_state": 0}
    fits: dict[str, Callable[[], object]] = {
        "netreg float32": lambda: NetRegClassifier(dtype="float32", device="cpu", **common).fit(X, y),
        "netreg float64": lambda: NetRegClassifier(dtype="float64", device="cpu", **common).fit(X, y),
        "scikit-learn float32": lambda: MLPClassifier(**common).fit(X.astype(np.float32), y),
        "scikit-learn float64": lambda: MLPClassifier(**common).fit(X, y),
    }
    sweep = {"alphas": list(np.logspace(-3, 1, 8)), "cv": 3, "device": "cpu", **common}
    sweeps: dict[str, Callable[[], object]] = {
        f"sweep {dtype}": (lambda dtype=dtype: NetRegClassifierCV(dtype=dtype, **sweep).fit(X, y))
        for dtype in ("float32", "float64")
    }
    print(
        f"Synthetic 10 classes, {args.rows} rows x {args.features} features, MLP {args.features}-256-256-10, adam, "
        f"batch 200, {args.epochs} epochs; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"best of {args.repeats}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        times = {name: best_time(fit, args.repeats) for name, fit in {**fits, **sweeps}.items()}
    print("\n1. One fit")
    for name in fits:
        print(
            f"   {name:<22} {times[name]:8.2f} s   ratio to netreg float32 {times[name] / times['netreg float32']:6.2f}"
        )
    print("\n2. NetRegClassifierCV, 8 alphas x 3 folds (24 members as one population) and the refit")
    for name in sweeps:
        print(f"   {name:<22} {times[name]:8.2f} s   ratio to float32 {times[name] / times['sweep float32']:6.2f}")


if __name__ == "__main__":
    main()
