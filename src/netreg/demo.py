"""The demo: the same overfitting network trained on digits with and without L2.

Library code: it returns plain data and prints nothing; ``netreg demo`` renders it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from netreg.engine import TrainConfig, train_population
from netreg.nets import MLP

__all__ = ["run_demo"]


def run_demo(alpha: float = 1.0, seed: int = 0, n_train: int = 300) -> dict[str, Any]:
    """Train a 64-256-256-10 MLP on ``n_train`` digits with alpha = 0 and with ``alpha``.

    Both members are trained together as one population (same seed, same batches), so
    the only difference between them is the penalty.

    Returns
    -------
    dict
        ``rows``: per alpha, train and test log-loss, test accuracy, per-layer and total
        weight norms, epochs; plus ``n_train``, ``n_test`` and ``fit_time_s``.

    """
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    train, test = train_test_split(np.arange(len(X)), train_size=n_train, stratify=y, random_state=seed)
    config = TrainConfig(solver="adam", learning_rate=1e-3, batch_size=64, max_iter=300, n_iter_no_change=10)
    result = train_population(
        MLP(64, (256, 256), 10),
        X,
        y,
        task="multiclass",
        alphas=[0.0, alpha],
        config=config,
        seeds=seed,
        train_rows=[train, train],
        eval_rows={"test": [test, test]},
    )
    rows = []
    for member in result.members:
        norms = member.history[-1]["weight_norms"]
        rows.append(
            {
                "alpha": member.alpha,
                "train_loss": member.metrics["train_loss"],
                "test_loss": member.metrics["test_loss"],
                "test_accuracy": member.metrics["test_score"],
                "weight_norms": norms,
                "total_norm": float(np.sqrt(sum(v**2 for v in norms.values()))),
                "n_iter": member.n_iter,
                "status": member.status,
            }
        )
    return {"rows": rows, "n_train": len(train), "n_test": len(test), "fit_time_s": result.fit_time_s}
