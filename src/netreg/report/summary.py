"""The few sentences at the top of the report: the chosen alpha against the grid's smallest, or why that comparison cannot be made."""

from __future__ import annotations

import math

import numpy as np

from netreg.display.axes import format_alpha
from netreg.tuning.sweep_result import SweepResult

__all__ = ["SCORE_NAMES", "summarize"]

SCORE_NAMES = {
    "neg_log_loss": "negative log-loss",
    "accuracy": "accuracy",
    "r2": "R\N{SUPERSCRIPT TWO}",
    "neg_mean_squared_error": "negative MSE",
}


def summarize(result: SweepResult) -> list[str]:
    """The report's summary, one sentence per item.

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> summarize(result)[0]
    '2 alphas \N{MULTIPLICATION SIGN} 2 folds: 4 of 4 members trained.'
    """
    cv, alphas, k = result.cv_results, result.alphas, result.n_folds
    score = SCORE_NAMES.get(result.scoring, result.scoring)
    diverged = sum(m.status == "diverged" for m in result.members)
    lines = [
        f"{len(alphas)} alphas \N{MULTIPLICATION SIGN} {k} folds: {len(result.members)} of {len(alphas) * k} "
        f"members trained" + (f", {diverged} diverged (not scored)." if diverged else ".")
    ]
    best = result.best_index
    if best is None:
        lines.append(
            f"No alpha could be chosen yet: no alpha has a validation score on all {k} folds. "
            "The figures and the table show the members trained so far."
        )
        return lines
    if result.selection == "1se":
        rule = (
            f"the 1-SE rule: the largest alpha whose mean validation {score} is within one standard error "
            f"of the best, i.e. at least {_num(result.threshold)}"
        )
    else:
        rule = f"the min rule: the best mean validation {score}"
    lines.append(f"Chosen alpha: {format_alpha(alphas[best])} ({rule}).")
    unregularized = alphas[0] == 0
    reference = (
        "the unregularized fit (alpha = 0)" if unregularized else f"the smallest alpha ({format_alpha(alphas[0])})"
    )
    at_reference = f"at alpha = {format_alpha(alphas[0])}"
    complete = np.asarray(cv["n_members"]) == k
    if best == 0:
        lines.append(
            f"The chosen alpha is the smallest of the grid{' (no regularization)' if unregularized else ''}: "
            f"no larger alpha with all {k} folds trained reached a higher mean validation {score}."
            + ("" if unregularized else " The best alpha may lie below the grid; extend it downward to find out.")
        )
        return lines
    if best == len(alphas) - 1:
        lines.append(
            "The chosen alpha is the largest of the grid: the best alpha may lie above it; "
            "extend the grid upward to find out."
        )
    if not complete[0]:
        lines.append(
            f"The smallest alpha is not trained on all {k} folds yet, so the chosen alpha is not compared with it."
        )
        return lines
    val, std = np.asarray(cv["mean_test_score"]), np.asarray(cv["std_test_score"])
    difference = val[best] - val[0]
    if difference > 0:
        verdict = f"higher (better) by {_num(difference)}"
    elif difference < 0:
        verdict = f"lower by {_num(-difference)}"
        if result.selection == "1se":
            verdict += " (the 1-SE rule gives up at most one standard error for a larger alpha)"
    else:
        verdict = "the same"
    spread = max(std[best], std[0])
    if difference != 0 and abs(difference) < spread:
        verdict += f"; the difference is smaller than the standard deviation over folds ({_num(spread)})"
    lines.append(
        f"Mean validation {score}: {_num(val[best])} \N{PLUS-MINUS SIGN} {_num(std[best])} at the chosen alpha "
        f"against {_num(val[0])} \N{PLUS-MINUS SIGN} {_num(std[0])} for {reference}: {verdict}."
    )
    gap = np.asarray(cv["mean_train_score"]) - val
    change = gap[best] - gap[0]
    how = "narrowed" if change < 0 else "widened" if change > 0 else "unchanged"
    by = f" by {_num(abs(change))}" if change else ""
    lines.append(
        f"Train \N{MINUS SIGN} validation gap of the {score}: {_num(gap[0])} {at_reference}, "
        f"{_num(gap[best])} at the chosen alpha ({how}{by})."
    )
    norms = result.total_norms
    if np.isfinite(norms[[0, best]]).all() and norms[0] > 0:
        ratio = norms[best] / norms[0]
        if ratio < 1:
            how = f"the weights shrank to {_num(ratio, 3)} of their size {at_reference}"
        elif ratio > 1:
            how = f"the weights grew to {_num(ratio, 3)} times their size {at_reference}"
        else:
            how = "the total norm is unchanged"
        # The folds' models, not the model refit with the chosen alpha: its norm is another number.
        whose = f", mean over the {k} folds' models (not the model refit on all rows)" if k > 1 else ""
        lines.append(
            "Total norm of the penalized weights (\N{SQUARE ROOT} of the sum of the squared layer norms)"
            f"{whose}: {_num(norms[0])} {at_reference}, {_num(norms[best])} at the chosen alpha; {how}."
        )
    return lines


def _num(value: float, digits: int = 4) -> str:
    return "nan" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"
