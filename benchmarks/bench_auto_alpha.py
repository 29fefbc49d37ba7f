"""``alpha="auto"`` (alpha learned in one fit) against one fixed-alpha fit, the evidence grid
and scikit-learn's grid search: time and held-out log-loss.

Run: python benchmarks/bench_auto_alpha.py [--epochs 30] [--quick] [--no-sklearn] [--repeats 1]

Two data sets, 30 % of the rows held out (stratified) for the test, inputs standardized on the
training rows: digits (1797 rows, 64 features, 10 classes) and a ``make_classification`` set of
4000 rows, 40 features (20 informative), 10 classes. An MLP (100, 100), ReLU, adam, batch 64,
the same number of epochs everywhere, nothing stopping early (tol=0). Methods:

1. one fit at a fixed alpha (``1e-4``, scikit-learn's default): the cost reference;
2. ``NetRegClassifier(alpha="auto")``: alpha learned per layer in the one fit
   (``auto_alpha="layerwise"``), and 3. one alpha for the network (``"scalar"``);
4. ``NetRegClassifierCV(selection="evidence")``: 16 alphas trained on all the training rows
   as one population, the member of largest Laplace evidence kept (the former ``alpha="auto"``);
   ``NetRegClassifierCV()``: the CV grid of 16 alphas x 5 folds, then its refit;
   ``NetRegClassifierCV(search="hybrid")``: one ``alpha="auto"`` fit (per layer, read as one alpha), 5 alphas around
   what it learned x 5 folds, then the refit; the same with ``refit="folds"`` (the chosen
   alpha's 5 fold models averaged, no refit);
5. ``GridSearchCV(MLPClassifier)`` over 16 alphas and 5 folds, ``n_jobs=-1``, then its refit
   (skipped with ``--no-sklearn`` or ``--quick``).

Each method is timed once (the fastest of ``--repeats`` runs), from its start to its final
model, after an untimed warm-up fit, and the script prints the time,
the ratio to the fixed-alpha fit, the alpha it ended with and the held-out log-loss. On a
shared, busy machine the times are indicative only: rerun on an idle one for the figures of
``benchmarks/README.md``. The target of issue 21: ``alpha="auto"`` within 2x one fit's time.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from netreg import NetRegClassifier, NetRegClassifierCV

HIDDEN = (100, 100)
N_ALPHAS = 16


def data_sets(quick: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    X, y = load_digits(return_X_y=True)
    sets = {"digits": (X, y)}
    if not quick:
        sets["classification 4000x40"] = make_classification(
            n_samples=4000, n_features=40, n_informative=20, n_classes=10, random_state=0
        )
    return sets


def methods(epochs: int, sklearn: bool) -> dict[str, object]:
    common = {"hidden_layer_sizes": HIDDEN, "solver": "adam", "batch_size": 64, "max_iter": epochs, "tol": 0.0}
    found = {
        "fixed alpha=1e-4 (reference)": NetRegClassifier(alpha=1e-4, random_state=0, **common),
        "alpha='auto' (layerwise)": NetRegClassifier(alpha="auto", random_state=0, **common),
        "alpha='auto' (scalar)": NetRegClassifier(alpha="auto", auto_alpha="scalar", random_state=0, **common),
        "CV selection='evidence' (16)": NetRegClassifierCV(
            alphas=N_ALPHAS, selection="evidence", random_state=0, **common
        ),
        "CV grid (16 x 5 folds)": NetRegClassifierCV(alphas=N_ALPHAS, random_state=0, **common),
        "CV search='hybrid' (5 x 5 folds)": NetRegClassifierCV(search="hybrid", random_state=0, **common),
        "  the same, refit='folds'": NetRegClassifierCV(search="hybrid", refit="folds", random_state=0, **common),
    }
    if sklearn:
        grid = {"alpha": list(np.logspace(-5, 1, N_ALPHAS))}
        found["GridSearchCV(MLPClassifier)"] = GridSearchCV(
            MLPClassifier(random_state=0, n_iter_no_change=epochs + 1, **common), grid, cv=5, n_jobs=-1
        )
    return found


def alpha_text(model: object) -> str:
    alpha = getattr(model, "alpha_", None)
    if alpha is None:
        alpha = getattr(model, "best_params_", {}).get("alpha", getattr(model, "alpha", None))
    if isinstance(alpha, dict):
        return "/".join(f"{value:.3g}" for value in alpha.values())
    return f"{alpha:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="digits only, without scikit-learn's grid search")
    parser.add_argument("--no-sklearn", action="store_true", help="skip GridSearchCV(MLPClassifier)")
    parser.add_argument(
        "--repeats", type=int, default=1, help="time each method this many times and keep the fastest (a busy machine)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print("Times on this machine; on a shared, busy one they are indicative only.")
    for name, (X, y) in data_sets(args.quick).items():
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        print(f"\n{name}: {len(X_train)} training rows, {len(X_test)} test rows, {args.epochs} epochs")
        print(f"{'method':<34} {'time s':>8} {'x fixed':>8} {'alpha':>24} {'log-loss':>9}")
        # Untimed: the first fit of a process imports what torch loads lazily (0.1-0.4 s), which
        # would otherwise be charged to the reference and flatter every ratio.
        NetRegClassifier(hidden_layer_sizes=HIDDEN, max_iter=1, random_state=0).fit(X_train, y_train)
        reference = None
        for label, model in methods(args.epochs, not (args.quick or args.no_sklearn)).items():
            elapsed = math.inf
            for _ in range(args.repeats):
                started = time.perf_counter()
                model.fit(X_train, y_train)
                elapsed = min(elapsed, time.perf_counter() - started)
            reference = reference or elapsed
            loss = log_loss(y_test, model.predict_proba(X_test), labels=np.unique(y))
            print(f"{label:<34} {elapsed:>8.2f} {elapsed / reference:>8.2f} {alpha_text(model):>24} {loss:>9.4f}")


if __name__ == "__main__":
    main()
