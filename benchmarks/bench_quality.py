"""Choosing alpha, honestly: the held-out score of the model each method chooses, on seven data sets.

Run: python benchmarks/bench_quality.py [--splits 5] [--alphas 16] [--methods ...] [--quick]

Five data sets that ship with scikit-learn: digits with a small training split (300 rows),
breast cancer, wine, iris (classification, 30 % held out) and diabetes (regression, 30 %
held out), and two generated ones (30 % held out): 4000 rows of ``make_classification`` (3
classes; 2800 training rows, seven times the largest of the five) and Friedman's first
regression problem with its target times 2000 (tens of thousands), each over several
random splits (stratified for classification). Inputs are standardized on the
training rows; the regression target too (``NetRegRegressor(transformer=StandardScaler())``,
scores in the target's units). One network for all: an MLP with one hidden layer of 32 ReLU
units, adam (learning rate 0.01, batch size 32), up to 200 epochs, stopped as scikit-learn
stops it (training loss improving by less than ``tol=1e-4`` for 10 epochs). The methods:

``alpha=0``
    ``NetRegClassifier(alpha=0)``: no penalty, the baseline.
``grid min``, ``grid 1se``
    ``NetRegClassifierCV`` over netreg's default grid of 16 alphas (log-spaced, scaled to the
    data) and 5 folds, scored by log-loss (R^2 for regression), then refit on all the training
    rows: the best mean score, and the largest alpha within one standard error of it. Each is
    its own fit, as a user would run it.
``grid folds``
    ``grid min`` with ``refit="folds"``: no refit; the chosen alpha's 5 fold models, each
    trained on 4/5 of the training rows, predict as their average (mean probabilities).
``halving``
    The same grid with ``search="halving", factor=3`` and the first rung of scikit-learn's
    ``min_resources="exhaust"`` ("not available" on a netreg without it).
``evidence``
    ``selection="evidence"``: each alpha of the grid trained once on all the training rows,
    the one with the largest Laplace evidence is the model.
``auto``
    ``alpha="auto"``: one fit that learns alpha per layer from the evidence as it trains
    (its alpha column: the geometric mean of the layers' alphas).
``auto scalar``, ``auto layerwise``
    ``auto`` with ``auto_alpha`` given: one alpha for the network, or one per layer.
``hybrid``
    ``search="hybrid"``: one ``alpha="auto"`` fit (per layer, read as one alpha) learns ``x``; 5 alphas from ``x/10``
    to ``x*10`` over the 5 folds, then the refit.
``hybrid folds``
    ``hybrid`` with ``refit="folds"``: no refit; the chosen alpha's 5 fold models, averaged.

Every method of a split uses the same split and seed. It prints, per data set and method,
the mean and standard error over the splits of the held-out log-loss and accuracy (R^2 for
regression), the chosen alpha (geometric mean) and the mean wall time of a fit (noisy on a
shared machine; the scores are not); then each method's difference to ``grid min``, paired
over the splits; then the issues' targets: on all data sets but one, each method's mean
held-out score (log-loss, or R^2) no worse than the full CV grid's (``grid min``) by more than
one standard error of the grid's mean (issue 12: four of five; issue 21: all but one), and
``auto`` never worse than ``evidence`` by that criterion (one standard error of the evidence
grid's mean), met or not.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_friedman1,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from halving_options import FACTOR, exhaust_min_epochs, halving_available
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressor, NetRegRegressorCV

#: Run by default; "auto scalar" and "auto layerwise" (``auto`` with ``auto_alpha`` given) on request.
DEFAULT_METHODS = (
    "alpha=0",
    "grid min",
    "grid folds",
    "grid 1se",
    "halving",
    "evidence",
    "auto",
    "hybrid",
    "hybrid folds",
)
METHODS = (*DEFAULT_METHODS[:7], "auto scalar", "auto layerwise", *DEFAULT_METHODS[7:])
REFERENCE = "grid min"


@dataclass(frozen=True)
class Dataset:
    """A data set of the benchmark: how to load it, its task, its training split."""

    name: str
    load: Callable
    task: str  # "classification" or "regression"
    train_size: float | int


def load_many_rows(return_X_y: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """4000 rows of ``make_classification`` (20 features, 8 informative, 3 classes, 5 % of the
    labels flipped): seven times the rows of the largest set above."""
    return make_classification(
        n_samples=4000, n_features=20, n_informative=8, n_redundant=4, n_classes=3, flip_y=0.05, random_state=0
    )


def load_large_target(return_X_y: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """600 rows of Friedman's first regression problem (10 features, 5 of them used, noise of
    standard deviation 1), the target times 2000: a target in the tens of thousands (mean
    about 29,000, standard deviation about 10,000)."""
    X, y = make_friedman1(n_samples=600, noise=1.0, random_state=0)
    return X, 2000.0 * y


DATASETS = (
    Dataset("digits (300 rows)", load_digits, "classification", 300),
    Dataset("breast cancer", load_breast_cancer, "classification", 0.7),
    Dataset("wine", load_wine, "classification", 0.7),
    Dataset("iris", load_iris, "classification", 0.7),
    Dataset("diabetes", load_diabetes, "regression", 0.7),
    Dataset("4000 rows (3 classes)", load_many_rows, "classification", 0.7),
    Dataset("friedman1 x 2000", load_large_target, "regression", 0.7),
)


@dataclass
class Fit:
    """One method on one split: its held-out scores, chosen alpha and time."""

    primary: float  # log-loss (lower is better) or R^2 (higher is better)
    accuracy: float  # NaN for regression
    alpha: float
    seconds: float


def split(data: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random split (stratified for classification), inputs standardized on the training rows."""
    X, y = data.load(return_X_y=True)
    stratify = y if data.task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=data.train_size, stratify=stratify, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def estimators(task: str, settings: dict, n_alphas: int, seed: int) -> dict[str, object | None]:
    """The estimator of each method (``None`` where this netreg lacks it)."""
    if task == "classification":
        single, cv = NetRegClassifier, NetRegClassifierCV
        extra: dict = {}
    else:
        single, cv = NetRegRegressor, NetRegRegressorCV
        extra = {"transformer": StandardScaler()}
    kwargs = {**settings, **extra, "random_state": seed}
    grid = cv(alphas=n_alphas, cv=5, **kwargs)
    halving = None
    if halving_available():
        min_epochs = exhaust_min_epochs(settings["max_iter"], n_alphas)
        halving = clone(grid).set_params(search="halving", factor=FACTOR, min_epochs=min_epochs)
    return {
        "alpha=0": single(alpha=0.0, **kwargs),
        "grid min": grid,
        "grid folds": clone(grid).set_params(refit="folds"),
        "grid 1se": clone(grid).set_params(selection="1se"),
        "halving": halving,
        "evidence": clone(grid).set_params(selection="evidence"),
        "auto": single(alpha="auto", **kwargs),
        "auto scalar": single(alpha="auto", auto_alpha="scalar", **kwargs),
        "auto layerwise": single(alpha="auto", auto_alpha="layerwise", **kwargs),
        "hybrid": clone(grid).set_params(search="hybrid", alphas=16),
        "hybrid folds": clone(grid).set_params(search="hybrid", alphas=16, refit="folds"),
    }


def fit_and_score(model, task: str, X_train, X_test, y_train, y_test) -> Fit:
    started = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    alpha = getattr(model, "alpha_", model.get_params().get("alpha", math.nan))
    if isinstance(alpha, dict):  # learned per layer: their geometric mean
        alpha = math.exp(np.mean(np.log(list(alpha.values()))))
    alpha = float(alpha)
    if task == "regression":
        return Fit(r2_score(y_test, model.predict(X_test)), math.nan, alpha, seconds)
    proba = model.predict_proba(X_test)
    return Fit(
        log_loss(y_test, proba, labels=model.classes_), accuracy_score(y_test, model.predict(X_test)), alpha, seconds
    )


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation over sqrt(n))."""
    array = np.asarray(values, dtype=float)
    se = float(np.std(array, ddof=1) / math.sqrt(len(array))) if len(array) > 1 else math.nan
    return float(np.mean(array)), se


def run(
    datasets: tuple[Dataset, ...], n_splits: int, n_alphas: int, settings: dict, methods: tuple[str, ...] = METHODS
) -> dict:
    """``results[data set][method]``: the list of Fits over the splits (empty where unavailable
    or not among ``methods``)."""
    results: dict[str, dict[str, list[Fit]]] = {}
    for data in datasets:
        results[data.name] = {method: [] for method in METHODS}
        for seed in range(n_splits):
            X_train, X_test, y_train, y_test = split(data, seed)
            for method, model in estimators(data.task, settings, n_alphas, seed).items():
                if model is not None and method in methods:
                    fit = fit_and_score(model, data.task, X_train, X_test, y_train, y_test)
                    results[data.name][method].append(fit)
        print(f"  {data.name}: done", flush=True)
    return results


def better(task: str) -> int:
    """+1 where higher scores are better (R^2), -1 where lower are (log-loss)."""
    return 1 if task == "regression" else -1


def report(datasets: tuple[Dataset, ...], results: dict) -> None:
    """Print the scores table, the paired differences, and the issue's target."""
    shown = [m for m in METHODS if m in DEFAULT_METHODS or any(results[d.name][m] for d in datasets)]
    print(
        f"\n{'data set':20}{'method':15}{'test log-loss / R^2':>22}{'test accuracy':>18}{'alpha':>10}{'time':>9}"
        f"{'/ fit':>8}"
    )
    for data in datasets:
        metric = "R^2" if data.task == "regression" else "log-loss"
        one_fit = [f.seconds for f in results[data.name]["alpha=0"]]
        for method in shown:
            fits = results[data.name][method]
            label = f"{data.name if method == shown[0] else '':20}{method:15}"
            if not fits:
                print(f"{label}{'not available':>22}")
                continue
            primary, primary_se = mean_se([f.primary for f in fits])
            accuracy = (
                "" if data.task == "regression" else "{:.4f} ± {:.4f}".format(*mean_se([f.accuracy for f in fits]))
            )
            alpha = math.exp(np.mean(np.log([f.alpha for f in fits]))) if method != "alpha=0" else 0.0
            seconds = np.mean([f.seconds for f in fits])
            ratio = f"{seconds / np.mean(one_fit):7.1f}x" if one_fit else ""
            print(
                f"{label}{metric:>8} {primary:.4f} ± {primary_se:.4f}{accuracy:>18}{alpha:10.3g}{seconds:8.2f}s{ratio}"
            )
    print(
        "\nalpha: geometric mean over the splits; time: mean wall time of one fit (search and final model); "
        "/ fit: that time over alpha=0's, one fit at a fixed alpha."
    )

    print(f"\nDifference to {REFERENCE}, paired over the splits (mean ± standard error; > 0: better than {REFERENCE})")
    others = [m for m in shown if m != REFERENCE]
    print(f"{'data set':20}" + "".join(f"{m:>20}" for m in others))
    verdicts: dict[str, list[bool]] = {m: [] for m in others}
    for data in datasets:
        reference = [f.primary for f in results[data.name][REFERENCE]]
        ref_mean, ref_se = mean_se(reference)
        cells = []
        for method in others:
            fits = results[data.name][method]
            if not fits:
                cells.append(f"{'not available':>20}")
                continue
            gains = [better(data.task) * (f.primary - r) for f, r in zip(fits, reference, strict=True)]
            gain, gain_se = mean_se(gains)
            within = gain >= -ref_se  # no worse than the grid's mean by more than the grid's standard error
            verdicts[method].append(within)
            cells.append(f"{gain:+9.4f} ± {gain_se:.4f}{'' if within else ' *':2}")
        print(f"{data.name:20}" + "".join(cells))
    print(f"* worse than {REFERENCE} by more than one standard error of {REFERENCE}'s mean over the splits.")

    halving_ran = all(results[data.name]["halving"] for data in datasets)
    print("\nHalving's chosen alpha equal to grid min's (issue 22), per split:" if halving_ran else "")
    same = total = 0
    for data in datasets if halving_ran else ():
        pairs = list(zip(results[data.name]["halving"], results[data.name][REFERENCE], strict=True))
        equal = sum(math.isclose(h.alpha, g.alpha, rel_tol=1e-9) for h, g in pairs)
        same, total = same + equal, total + len(pairs)
        print(f"  {data.name:20} {equal} of {len(pairs)}")
    if halving_ran:
        print(f"  {'all':20} {same} of {total}")

    needed = len(datasets) - 1
    print(
        f"\nTarget (issues 12 and 21): on at least {needed} of the {len(datasets)} data sets, the method's mean "
        f"held-out score (log-loss, or R^2) within one standard error of {REFERENCE}'s:"
    )
    for method in others:
        within = verdicts[method]
        if not within:
            print(f"  {method:14} not available")
            continue
        met = "met" if sum(within) >= needed and len(within) == len(datasets) else "not met"
        print(f"  {method:14} {sum(within)} of {len(within)}: {met}")
    compare_auto_with_evidence(datasets, results)


def compare_auto_with_evidence(datasets: tuple[Dataset, ...], results: dict) -> None:
    """Issue 21's second target: ``auto`` never worse than the evidence grid, paired over the
    splits, by the criterion above (one standard error of the evidence grid's mean)."""
    if not all(results[d.name]["auto"] and results[d.name]["evidence"] for d in datasets):
        return
    print("\nTarget (issue 21): auto never worse than evidence (paired difference, > 0: auto better):")
    worse = 0
    for data in datasets:
        auto, evidence = ([f.primary for f in results[data.name][m]] for m in ("auto", "evidence"))
        gain, gain_se = mean_se([better(data.task) * (a - e) for a, e in zip(auto, evidence, strict=True)])
        below = gain < -mean_se(evidence)[1]
        worse += below
        print(f"  {data.name:20} {gain:+.4f} ± {gain_se:.4f}{' *' if below else ''}")
    print(f"  auto worse than evidence on {worse} of {len(datasets)}: {'not met' if worse else 'met'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=5, help="random splits per data set")
    parser.add_argument("--alphas", type=int, default=16, help="size of the alpha grid")
    parser.add_argument("--epochs", type=int, default=200, help="most epochs of a fit")
    parser.add_argument("--quick", action="store_true", help="smoke test: iris and diabetes, 2 splits, 4 alphas")
    parser.add_argument(
        "--datasets",
        type=lambda text: tuple(d.strip() for d in text.split(",")),
        default=tuple(d.name for d in DATASETS),
        help="comma-separated data sets to run (default all): " + ", ".join(d.name for d in DATASETS),
    )
    parser.add_argument(
        "--methods",
        type=lambda text: tuple(m.strip() for m in text.split(",")),
        default=DEFAULT_METHODS,
        help=f"comma-separated methods to run, among {', '.join(METHODS)} (default: {', '.join(DEFAULT_METHODS)}; {REFERENCE} always runs)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; expected some of {', '.join(METHODS)}")
    methods = tuple(dict.fromkeys((REFERENCE, *args.methods)))
    warnings.simplefilter("ignore", ConvergenceWarning)
    unknown = sorted(set(args.datasets) - {d.name for d in DATASETS})
    if unknown:
        parser.error(f"unknown data sets {unknown}; expected some of {', '.join(d.name for d in DATASETS)}")
    datasets = tuple(d for d in DATASETS if d.name in args.datasets)
    n_splits, n_alphas, epochs = args.splits, args.alphas, args.epochs
    if args.quick:
        datasets = tuple(d for d in DATASETS if d.name in ("iris", "diabetes"))
        n_splits, n_alphas, epochs = 2, 4, 20
    settings = model_settings(epochs)
    print(
        f"{len(datasets)} data sets x {n_splits} splits; MLP (32,), adam lr 0.01, batch 32, up to {epochs} epochs; "
        f"{n_alphas} alphas x 5 folds; halving: {'factor 3' if halving_available() else 'not available'}"
    )
    report(datasets, run(datasets, n_splits, n_alphas, settings, methods))


def model_settings(epochs: int) -> dict[str, object]:
    """The estimators' settings of every method here (and of bench_ekfac.py)."""
    return {
        "hidden_layer_sizes": (32,),
        "solver": "adam",
        "learning_rate_init": 0.01,
        "batch_size": 32,
        "max_iter": epochs,
    }


if __name__ == "__main__":
    main()
