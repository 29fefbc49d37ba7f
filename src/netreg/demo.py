"""The demo: choosing alpha for a network that overfits a small slice of digits.

A 64-256-256-10 network on 200 rows of digits for a fixed 300 epochs: the sweep over
:data:`DEMO_ALPHAS` (0 included, 4 folds, one population) chooses alpha, and the chosen alpha
and alpha = 0 are refit and scored on the held-out rows. Library code: it writes a run folder
and returns plain data; ``netreg demo`` renders it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from netreg._checks import check_seed
from netreg.estimators import NetRegClassifier
from netreg.io.models import save_model
from netreg.io.run_folder import RunFolder
from netreg.runs import write_run_files
from netreg.search.cv_estimators import NetRegClassifierCV

__all__ = ["DEMO_ALPHAS", "DEMO_SETTINGS", "run_demo"]

DEMO_ALPHAS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
#: A fixed number of epochs (tol=0): every alpha trains as long, so alpha alone differs.
DEMO_SETTINGS = {"hidden_layer_sizes": (256, 256), "batch_size": 50, "max_iter": 300, "tol": 0.0}


def run_demo(
    out_dir: str | os.PathLike = "netreg-demo", *, n_train: int = 200, seed: int = 0, callback: Any = None
) -> dict[str, Any]:
    """Run the demo and write its run folder (store, results table, run.json, model).

    Parameters
    ----------
    out_dir : path, default="netreg-demo"
        The run folder; rerunning resumes its sweep.
    n_train : int, default=200
        Training rows (the rest of the 1797 digits are held out for the test score).
    seed : int, default=0
        Seed of the split and of training.
    callback : SweepCallback, optional
        Progress of the sweep.

    Returns
    -------
    dict
        ``sweep`` (the :class:`~netreg.tuning.SweepResult`), ``cv_results``, ``alpha`` (chosen), ``best_index``, ``test`` (log-loss and accuracy
        on the held-out rows for the chosen alpha and for alpha = 0), ``norms`` (Frobenius
        norm per layer of both refits), sizes and ``paths``.
    """
    out = RunFolder(out_dir)
    out.check_writable()
    check_seed(seed)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    train, test = train_test_split(np.arange(len(X)), train_size=n_train, stratify=y, random_state=seed)
    with warnings.catch_warnings():
        # A fixed 300 epochs is the demo's design, so "stopped at max_iter" is no news here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = NetRegClassifierCV(
            alphas=list(DEMO_ALPHAS),
            cv=4,
            scoring="neg_log_loss",
            store=out.store,
            random_state=seed,
            **DEMO_SETTINGS,
        ).fit(X[train], y[train], callback=callback)
        unregularized = NetRegClassifier(alpha=0.0, random_state=seed, **DEMO_SETTINGS).fit(X[train], y[train])
    chosen = search.best_estimator_
    test_scores = {
        name: {
            "log_loss": float(log_loss(y[test], model.predict_proba(X[test]), labels=model.classes_)),
            "accuracy": float(model.score(X[test], y[test])),
        }
        for name, model in (("chosen", chosen), ("zero", unregularized))
    }
    norms = {
        name: {layer: float(np.linalg.norm(coef)) for layer, coef in enumerate(model.coefs_)}
        for name, model in (("chosen", chosen), ("zero", unregularized))
    }
    paths = write_run_files(
        out.path,
        search.sweep_,
        {
            "data": "sklearn.datasets.load_digits",
            "target": "digit",
            "task": "classification",
            "command": "demo",
            "title": "netreg demo: L2 on an overfitting network (200 digits, 64-256-256-10)",
            "test": {
                "rows": len(test),
                f"chosen alpha = {search.alpha_:.3g}, refit on the {len(train)} training rows": test_scores["chosen"],
                f"alpha = 0, fit on the {len(train)} training rows": test_scores["zero"],
            },
        },
    )
    paths["model"] = save_model(chosen, out.model, target="digit", extra={"test": test_scores["chosen"]}, force=True)
    return {
        "sweep": search.sweep_,
        "cv_results": search.cv_results_,
        "alpha": float(search.alpha_),
        "best_index": int(search.best_index_),
        "scoring": search.scoring_,
        "test": test_scores,
        "norms": norms,
        "n_train": len(train),
        "n_test": len(test),
        "paths": paths,
    }
