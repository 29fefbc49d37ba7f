"""A sweep's results in ``GridSearchCV``'s ``cv_results_`` layout, plus netreg's own columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from netreg.tuning.sweep_result import SweepResult

__all__ = ["search_cv_results"]


def search_cv_results(result: SweepResult, *, return_train_score: bool = False) -> dict[str, Any]:
    """``cv_results_`` as ``GridSearchCV(estimator, {"alpha": alphas})`` would lay it out.

    ``params``, ``param_alpha`` (a masked array), ``split{k}_test_score``, ``mean_test_score``,
    ``std_test_score``, ``rank_test_score``, ``mean_fit_time`` and ``std_fit_time``
    (seconds per member, over the folds), and with ``return_train_score=True`` the same for
    train; then netreg's own columns (:attr:`SweepResult.cv_results`).

    Examples
    --------
    >>> results = search_cv_results(digits_sweep)  # the doctests' shared sweep, conftest.py
    >>> results["params"], list(results)[:4]
    ([{'alpha': 0.0}, {'alpha': 1.0}], ['params', 'param_alpha', 'split0_test_score', 'split1_test_score'])
    """
    table = result.cv_results
    n_alphas = len(result.alphas)
    fit_time = np.full((n_alphas, result.n_folds), np.nan)
    for member in result.members:
        fit_time[member.key] = member.fit_time_s
    out: dict[str, Any] = {
        "params": [{"alpha": float(alpha)} for alpha in result.alphas],
        "param_alpha": np.ma.MaskedArray(np.asarray(result.alphas, dtype=object), mask=False),
    }
    parts = ("test", "train") if return_train_score else ("test",)
    for part in parts:
        for fold in range(result.n_folds):
            out[f"split{fold}_{part}_score"] = table[f"split{fold}_{part}_score"]
        out[f"mean_{part}_score"], out[f"std_{part}_score"] = table[f"mean_{part}_score"], table[f"std_{part}_score"]
        if part == "test":
            out["rank_test_score"] = table["rank_test_score"]
    with np.errstate(invalid="ignore"):
        out["mean_fit_time"], out["std_fit_time"] = np.nanmean(fit_time, axis=1), np.nanstd(fit_time, axis=1)
    skipped = set(out) | {f"split{k}_train_score" for k in range(result.n_folds)}
    skipped |= set() if return_train_score else {"mean_train_score", "std_train_score"}
    out.update({key: value for key, value in table.items() if key not in skipped})
    return out
