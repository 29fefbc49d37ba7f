"""Choosing alpha seven ways (halving with its refit and without), on the bench_sweep workload: time, choice, and held-out score.

Run: python benchmarks/bench_choose.py [--epochs 30] [--alphas 16] [--quick]

Digits (1797 rows) with a stratified test split held out first (20 %), inputs scaled to
[0, 1]; an MLP 64-100-100-10, ReLU, adam (learning rate 0.001), batch size 200, the same
number of epochs everywhere and nothing stopping early (tol=0, n_iter_no_change above the
epoch count); 16 alphas from 0.01 to 100 (netreg's units) and 5 folds. Every method
searches the same penalized objectives, converted with :mod:`netreg.conventions`:

1. scikit-learn ``GridSearchCV(MLPClassifier)``, its grid converted with
   ``to_sklearn_alpha`` (scikit-learn's adam divides the penalty by the batch size);
2. scikit-learn ``HalvingGridSearchCV(MLPClassifier, resource="max_iter")``, factor 3,
   ``min_resources="exhaust"`` (rungs of 3, 9 and 27 epochs for 16 alphas and 30 epochs),
   each rung retrained from scratch, as scikit-learn does;
3. skorch ``NeuralNetClassifier`` in ``GridSearchCV`` (what a PyTorch user would pick):
   ``torch.optim.Adam`` with ``weight_decay = alpha / m`` on the penalized weights only,
   through skorch's parameter groups (``to_torch_weight_decay``; biases undecayed). Skipped,
   with a note, when skorch is not installed (``pip install netreg[bench]``);
4. netreg's full grid, ``NetRegClassifierCV``: every (alpha, fold) member in one population;
5. netreg's successive halving, ``NetRegClassifierCV(search="halving", factor=3,
   min_epochs=...)``, with the same first rung as scikit-learn's ("not available" on a
   netreg without it);
6. netreg's successive halving with ``refit="folds"``: no refit; the final model is the
   chosen alpha's fold models averaged, which halving has trained to the end anyway (the
   survivors, each equal to the full grid's member of its alpha and fold);
7. netreg's evidence, ``NetRegClassifierCV(selection="evidence")``: each alpha trained
   once on all the training rows, the one with the largest Laplace evidence is the model;
8. netreg's ``NetRegClassifier(alpha="auto")``: one network on all the training rows, its
   alpha learned per layer from the evidence as it trains (issue 21's cost target: at least
   15x faster than ``GridSearchCV`` on this workload). Its alpha column is the learned alphas
   read as one (:func:`netreg.tuning.hybrid.center_alpha`).

Each method is timed once, from the start of its search to its final model: the search, then
the final model on all the training rows at the chosen alpha (scikit-learn's and skorch's
searches run with ``refit=False`` and their final model is fitted here at the chosen alpha
converted for the whole training set, so that it too minimizes netreg's objective at that
alpha; the evidence's chosen member, and with ``refit="folds"`` halving's survivors of the
chosen alpha, are already the final model). The searches in parallel
use every core (``n_jobs=-1``); netreg uses torch's threads. It prints each method's wall
time, how many times faster than ``GridSearchCV`` it is, the chosen alpha (netreg's units),
the best cross-validated score, and the held-out accuracy and log-loss of its final model,
then the issue's speed targets, met or not. The pool of worker processes is started (and has
imported torch and scikit-learn) before the first clock starts, so no method pays for it.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from joblib import Parallel, cpu_count, delayed
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401  (makes HalvingGridSearchCV importable)
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from torch import nn

from halving_options import FACTOR, exhaust_min_epochs, folds_available, halving_available
from netreg import NetRegClassifier, NetRegClassifierCV, conventions, penalized_parameters
from netreg.tuning.hybrid import center_alpha

try:
    from skorch import NeuralNetClassifier
except ImportError:  # skorch is an optional extra: pip install netreg[bench]
    NeuralNetClassifier = None

HIDDEN = (100, 100)
BATCH = 200
LEARNING_RATE = 0.001


@dataclass
class Outcome:
    """What one method produced: its time, choice, best CV score and held-out scores."""

    name: str
    seconds: float = math.nan
    alpha: float = math.nan
    best_cv: float = math.nan
    accuracy: float = math.nan
    log_loss: float = math.nan
    note: str = ""


def torch_mlp(n_features: int, n_classes: int) -> nn.Module:
    """The benchmark's network as a plain torch module (for skorch)."""
    sizes = [n_features, *HIDDEN]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], n_classes))


def skorch_param_groups(module: nn.Module, alpha: float, m: int) -> list[tuple[str, dict]]:
    """skorch's ``optimizer__param_groups`` for netreg's L2 objective at ``alpha`` on ``m`` rows:
    ``weight_decay = alpha / m`` on each penalized weight (by name), none on the rest."""
    decay = conventions.to_torch_weight_decay(alpha, n_samples=m, optimizer="Adam")
    return [(p.name, {"weight_decay": decay}) for p in penalized_parameters(module)]


def held_out(outcome: Outcome, model, X_test: np.ndarray, y_test: np.ndarray) -> Outcome:
    proba = model.predict_proba(X_test)
    outcome.accuracy = accuracy_score(y_test, np.argmax(proba, axis=1))
    outcome.log_loss = log_loss(y_test, proba, labels=np.arange(proba.shape[1]))
    return outcome


def timed(name: str, search: Callable[[], tuple[object, float, float]], X_test, y_test) -> Outcome:
    """Run ``search`` (returns the final model, the chosen alpha and the best CV score) and time it."""
    started = time.perf_counter()
    model, alpha, best_cv = search()
    outcome = Outcome(name, seconds=time.perf_counter() - started, alpha=alpha, best_cv=best_cv)
    return held_out(outcome, model, X_test, y_test)


def _import_in_worker() -> None:
    """Import in a pool worker what the searches' workers use, so that none pays for it while timed."""
    import sklearn.neural_network  # noqa: F401
    import torch  # noqa: F401

    if NeuralNetClassifier is not None:
        import skorch  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--alphas", type=int, default=16)
    parser.add_argument("--scoring", choices=["accuracy", "neg_log_loss"], default="accuracy")
    parser.add_argument("--n-jobs", type=int, default=-1, help="processes of the scikit-learn and skorch searches")
    parser.add_argument("--skip-skorch", action="store_true", help="skip skorch even when it is installed")
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 epochs, 4 alphas, 3 folds, 600 rows")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    epochs, n_alphas, cv = (4, 4, 3) if args.quick else (args.epochs, args.alphas, 5)

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    if args.quick:
        X, y = X[:600], y[:600]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    n_train = len(y_train)
    # The training rows of a fold: the m every per-fold conversion uses (as bench_sweep's).
    m = len(next(StratifiedKFold(cv).split(X_train, y_train))[0])
    alphas = np.logspace(-2, 2, n_alphas)
    sk_alphas = [conventions.to_sklearn_alpha(a, solver="adam", n_samples=m, batch_size=BATCH) for a in alphas]
    common = {"max_iter": epochs, "tol": 0.0, "n_iter_no_change": epochs + 1, "batch_size": BATCH}
    mlp = MLPClassifier(HIDDEN, learning_rate_init=LEARNING_RATE, random_state=0, **common)
    netreg_cv = NetRegClassifierCV(
        HIDDEN,
        alphas=list(alphas),
        cv=cv,
        scoring=args.scoring,
        learning_rate_init=LEARNING_RATE,
        random_state=0,
        **common,
    )
    min_epochs = exhaust_min_epochs(epochs, n_alphas)

    def sklearn_final(alpha: float) -> MLPClassifier:
        sk_alpha = conventions.to_sklearn_alpha(alpha, solver="adam", n_samples=n_train, batch_size=BATCH)
        return clone(mlp).set_params(alpha=sk_alpha, max_iter=epochs).fit(X_train, y_train)

    def sklearn_grid():
        search = GridSearchCV(mlp, {"alpha": sk_alphas}, cv=cv, scoring=args.scoring, n_jobs=args.n_jobs, refit=False)
        search.fit(X_train, y_train)
        alpha = float(alphas[search.best_index_])
        return sklearn_final(alpha), alpha, search.best_score_

    def sklearn_halving():
        search = HalvingGridSearchCV(
            mlp,
            {"alpha": sk_alphas},
            resource="max_iter",
            max_resources=epochs,
            min_resources="exhaust",
            factor=FACTOR,
            cv=cv,
            scoring=args.scoring,
            n_jobs=args.n_jobs,
            refit=False,
            random_state=0,
        )
        search.fit(X_train, y_train)
        alpha = float(alphas[sk_alphas.index(search.best_params_["alpha"])])
        return sklearn_final(alpha), alpha, search.best_score_

    def skorch_grid():
        template = torch_mlp(X.shape[1], 10)
        net = NeuralNetClassifier(
            torch_mlp,
            module__n_features=X.shape[1],
            module__n_classes=10,
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=LEARNING_RATE,
            max_epochs=epochs,
            batch_size=BATCH,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
            device="cpu",
        )
        groups = [skorch_param_groups(template, a, m) for a in alphas]
        search = GridSearchCV(
            net, {"optimizer__param_groups": groups}, cv=cv, scoring=args.scoring, n_jobs=args.n_jobs, refit=False
        )
        search.fit(X_train, y_train)
        alpha = float(alphas[search.best_index_])
        final = clone(net).set_params(optimizer__param_groups=skorch_param_groups(template, alpha, n_train))
        return final.fit(X_train, y_train), alpha, search.best_score_

    def netreg_grid():
        model = clone(netreg_cv).fit(X_train, y_train)
        return model, model.alpha_, model.best_score_

    def netreg_halving():
        model = clone(netreg_cv).set_params(search="halving", factor=FACTOR, min_epochs=min_epochs)
        model.fit(X_train, y_train)
        return model, model.alpha_, model.best_score_

    def netreg_halving_folds():
        model = clone(netreg_cv).set_params(search="halving", factor=FACTOR, min_epochs=min_epochs, refit="folds")
        model.fit(X_train, y_train)
        return model, model.alpha_, model.best_score_

    def netreg_evidence():
        model = clone(netreg_cv).set_params(selection="evidence").fit(X_train, y_train)
        return model, model.alpha_, math.nan  # no folds: no CV score

    def netreg_auto():
        model = NetRegClassifier(HIDDEN, alpha="auto", learning_rate_init=LEARNING_RATE, random_state=0, **common)
        model.fit(X_train, y_train)
        return model, center_alpha(model), math.nan  # no folds: no CV score

    torch.manual_seed(0)  # skorch's initial weights
    methods: list[tuple[str, Callable, str]] = [
        ("scikit-learn GridSearchCV", sklearn_grid, ""),
        ("scikit-learn HalvingGridSearchCV", sklearn_halving, ""),
        (
            "skorch in GridSearchCV",
            skorch_grid,
            "skipped"
            if args.skip_skorch
            else ""
            if NeuralNetClassifier
            else "skorch not installed (pip install netreg[bench])",
        ),
        ("netreg full grid", netreg_grid, ""),
        ("netreg halving", netreg_halving, "" if halving_available() else "not available in this netreg"),
        (
            "netreg halving, refit='folds'",
            netreg_halving_folds,
            "" if folds_available() else "not available in this netreg",
        ),
        ("netreg evidence", netreg_evidence, ""),
        ("netreg alpha='auto'", netreg_auto, ""),
    ]

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        f"digits: {n_train} training rows ({m} per fold), {len(y_test)} held out; MLP 64-{HIDDEN[0]}-{HIDDEN[1]}-10, "
        f"adam, batch {BATCH}, {epochs} epochs; {n_alphas} alphas x {cv} folds; scoring {args.scoring}; "
        f"halving: factor {FACTOR}, first rung {min_epochs} epochs\n"
    )
    # The process pool of the searches starts once, before any clock: no method pays for it.
    Parallel(n_jobs=args.n_jobs)(delayed(_import_in_worker)() for _ in range(2 * cpu_count()))
    outcomes = []
    for name, search, skipped in methods:
        outcomes.append(Outcome(name, note=skipped) if skipped else timed(name, search, X_test, y_test))
    report(outcomes, args.scoring)


def report(outcomes: list[Outcome], scoring: str) -> None:
    """Print the table and the issue's speed targets."""
    grid = outcomes[0].seconds
    print(f"{'':34}{'time':>9}{'faster':>8}{'alpha':>9}{'best CV':>9}{'test acc':>10}{'test log-loss':>15}")
    for o in outcomes:
        if o.note:
            print(f"{o.name:34}  {o.note}")
            continue
        best_cv = "-" if math.isnan(o.best_cv) else f"{o.best_cv:.4f}"
        print(
            f"{o.name:34}{o.seconds:8.2f}s{grid / o.seconds:7.2f}x{o.alpha:9.3g}{best_cv:>9}"
            f"{o.accuracy:10.4f}{o.log_loss:15.4f}"
        )
    print(f"\n'faster' is GridSearchCV's time over the method's; alpha in netreg's units; best CV: mean {scoring}.")
    by_name = {o.name: o for o in outcomes}
    full, evidence = by_name["netreg full grid"], by_name["netreg evidence"]
    halvings = [by_name["netreg halving"], by_name["netreg halving, refit='folds'"]]
    print("\nTargets (issue 12):")
    for halving in halvings:
        print(f"  {halving_target(halving, full, grid, 5)}")
    speed = grid / evidence.seconds
    print(f"  evidence >= 15x faster than GridSearchCV: {speed:.2f}x: {'met' if speed >= 15 else 'not met'}")
    speed = grid / by_name["netreg alpha='auto'"].seconds
    print("Targets (issue 21, cost):")
    print(f"  alpha='auto' >= 15x faster than GridSearchCV: {speed:.2f}x: {'met' if speed >= 15 else 'not met'}")
    print("Targets (issue 22, item 4):")
    for halving in halvings:
        print(f"  {halving_target(halving, full, grid, 10)}")


def halving_target(halving: Outcome, full: Outcome, grid_seconds: float, target: float) -> str:
    """The line of a halving speed target: ``target`` times GridSearchCV's speed at the full
    grid's best CV score within half a point, met or not."""
    claim = f"{halving.name} >= {target:g}x faster than GridSearchCV, best CV within 0.5 points of the full grid's"
    if halving.note:
        return f"{claim}: {halving.note}"
    speed, gap = grid_seconds / halving.seconds, 100 * (full.best_cv - halving.best_cv)
    return f"{claim}: {speed:.2f}x, {gap:+.2f} points below: {'met' if speed >= target and gap <= 0.5 else 'not met'}"


if __name__ == "__main__":
    main()
