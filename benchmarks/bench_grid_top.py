"""The default grid's top: is a network alive there, and constant above its kill point? (issue 22, item 2)

Run: python benchmarks/bench_grid_top.py [--epochs 200] [--quick]

For each data set (standardized) and MLP, the kill point of :func:`netreg.grid.kill_point`
for the network's depth (its weight layers; the one-hidden-layer bound ``||R'X||_2`` beside
it), the default grid's top (:func:`netreg.grid.default_alphas`: half the kill point where
that is below the data's scale), and one fit alone on all the rows at fractions of the kill
point (adam, learning rate 1e-3, batch 200 or all the rows, ``--epochs`` epochs, seed 0):
the spread of its predicted probabilities (their standard deviation over the rows, mean over
the classes). A spread below 0.01 is a constant prediction: a dead network, which a grid
should not spend members on. The target of issue 22, item 2: none of the default grid's
alphas gives one; the network at the top alive, at twice the kill point constant.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from netreg import NetRegClassifier
from netreg.grid import default_alphas, kill_point

#: (data set, hidden layers) pairs: one, two and three hidden layers.
CASES = [
    ("digits", (100,)),
    ("digits", (100, 100)),
    ("digits", (64, 64, 64)),
    ("wine", (100, 100)),
]
FRACTIONS = (0.5, 0.75, 1.0, 2.0)
CONSTANT = 0.01


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = {"digits": load_digits, "wine": load_wine, "iris": load_iris}[name](return_X_y=True)
    return StandardScaler().fit_transform(X), y


def spread(X: np.ndarray, y: np.ndarray, hidden: tuple[int, ...], alpha: float, epochs: int) -> float:
    model = NetRegClassifier(hidden, alpha=alpha, max_iter=epochs, random_state=0).fit(X, y)
    return float(model.predict_proba(X).std(axis=0).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="iris, (16, 16), 30 epochs: a smoke test")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    cases, epochs = ([("iris", (16, 16))], 30) if args.quick else (CASES, args.epochs)
    print(
        f"adam, {epochs} epochs, seed 0; spread: the predicted probabilities' std over the rows (< {CONSTANT}: constant)"
    )
    header = "".join(f"{f'{f:g}x kill':>11}" for f in FRACTIONS)
    print(f"{'data set':<8} {'hidden':<13} {'one-layer':>10} {'kill point':>11} {'grid top':>9} {'at top':>8}{header}")
    started = time.perf_counter()
    for name, hidden in cases:
        X, y = load(name)
        onehot = np.eye(len(np.unique(y)))[y]
        bound = {"depth": len(hidden) + 1, "task": "multiclass"}
        kill = kill_point(X, onehot, **bound)
        top = float(default_alphas(X, 16, targets=onehot, **bound)[-1])
        cells = [f"{spread(X, y, hidden, f * kill, epochs):>11.4f}" for f in FRACTIONS]
        at_top = spread(X, y, hidden, top, epochs)
        print(
            f"{name:<8} {str(hidden):<13} {kill_point(X, onehot):>10.1f} {kill:>11.1f} {top:>9.1f} {at_top:>8.4f}"
            + "".join(cells)
        )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
