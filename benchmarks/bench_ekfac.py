"""The evidence and MacKay's re-estimate with three curvatures, at networks trained at fixed alphas.

Run: python benchmarks/bench_ekfac.py [--datasets "digits (300 rows)" ...] [--alphas 0.3 0.575 ...] [--split 0]

For each data set (bench_quality's, its settings and split) and each alpha, one
``NetRegClassifier(alpha=alpha)`` is trained; at its weights, with every training row, it prints
the held-out log-loss and, for the Kronecker-factored curvature (``"kfac"``), its eigenvalue-
corrected form (``"ekfac"``, George et al. 2018) and the exact GGN (``"exact"``): the log
evidence, MacKay's one-alpha re-estimate T (``layerwise=False``), the layers' gamma and the
seconds the re-estimate took (the least of ``--repeat`` runs; noisy on a shared machine), then each
curvature's total time over the alphas. The evidence's peak over the alphas
is each curvature's choice; T's fixed point (T(alpha) = alpha) is MacKay's.
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from bench_quality import DATASETS, model_settings, split
from netreg import NetRegClassifier
from netreg.evidence import stack_members
from netreg.evidence.data_checks import check_data
from netreg.evidence.fixed_point import fixed_point

CURVATURES = ("kfac", "ekfac", "exact")
SETTINGS = model_settings(200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [d.name for d in DATASETS if d.task == "classification"]
    parser.add_argument("--datasets", nargs="+", default=["digits (300 rows)"], choices=names)
    parser.add_argument("--alphas", nargs="+", type=float, default=[0.3, 0.575, 1.0, 2.0, 3.82, 6.0, 10.0])
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each re-estimate; the least time is printed")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    for data in (d for d in DATASETS if d.name in args.datasets):
        X_train, X_test, y_train, y_test = split(data, args.split)
        print(f"\n{data.name}, split {args.split}: {len(X_train)} training rows")
        head = "".join(f" | {c}: log ev      T  gamma/layer      s" for c in CURVATURES)
        print(f"{'alpha':>7} {'test':>7}{head}")
        totals = dict.fromkeys(CURVATURES, 0.0)
        for alpha in args.alphas:
            model = NetRegClassifier(alpha=alpha, random_state=args.split, **SETTINGS).fit(X_train, y_train)
            loss = log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)
            net = stack_members(model.module_)
            task = "binary" if len(model.classes_) == 2 else "multiclass"
            y = model.classes_.searchsorted(y_train)
            evidence = check_data(net, X_train, y, task=task)
            line = f"{alpha:7.3g} {loss:7.4f}"
            for curvature in CURVATURES:
                seconds = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    step = fixed_point(net, evidence, [alpha] * len(net.weights), layerwise=False, curvature=curvature)
                    seconds.append(time.perf_counter() - started)
                seconds = min(seconds)
                totals[curvature] += seconds
                gamma = "/".join(f"{g:.0f}" for g in step.gamma)
                line += f" | {step.log_evidence:14.1f} {step.new_alphas[0]:6.3g} {gamma:>12} {seconds:6.3f}"
            print(line, flush=True)
        print("seconds over the alphas: " + ", ".join(f"{c} {t:.3f}" for c, t in totals.items()))


if __name__ == "__main__":
    main()
