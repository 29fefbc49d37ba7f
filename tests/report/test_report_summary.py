"""The summary states what the numbers show and nothing more: tested on hand-made sweeps
whose numbers are chosen to make each sentence, and each honest refusal, appear."""

from __future__ import annotations

import re

import pytest
from report_helpers import made_result, member

from netreg.exceptions import DataError
from netreg.report import summarize
from netreg.tuning import SweepResult

NORMS = {"a": 3.0, "b": 4.0}  # total norm 5


def test_a_regularized_choice_is_compared_with_the_unregularized_fit():
    result = made_result(
        [0.0, 1.0, 10.0],
        [(0.99, 0.80, NORMS), (0.95, 0.85, {"a": 1.5, "b": 2.0}), (0.70, 0.60, {"a": 0.3, "b": 0.4})],
    )
    assert summarize(result) == [
        "3 alphas \N{MULTIPLICATION SIGN} 2 folds: 6 of 6 members trained.",
        "Chosen alpha: 1 (the min rule: the best mean validation accuracy).",
        "Mean validation accuracy: 0.85 \N{PLUS-MINUS SIGN} 0.01 at the chosen alpha against 0.8 \N{PLUS-MINUS SIGN} "
        "0.01 for the unregularized fit (alpha = 0): higher (better) by 0.05.",
        "Train \N{MINUS SIGN} validation gap of the accuracy: 0.19 at alpha = 0, 0.1 at the chosen alpha "
        "(narrowed by 0.09).",
        "Total norm of the penalized weights (\N{SQUARE ROOT} of the sum of the squared layer norms), mean over the 2 "
        "folds' models (not the model refit on all rows): 5 at alpha = 0, 2.5 at the chosen alpha; the weights shrank "
        "to 0.5 of their size at alpha = 0.",
    ]


def test_when_alpha_0_is_chosen_the_summary_says_so_and_claims_no_improvement():
    result = made_result([0.0, 1.0], [(0.99, 0.90, NORMS), (0.95, 0.85, {"a": 1.0, "b": 1.0})])
    lines = summarize(result)
    assert lines[2:] == [
        "The chosen alpha is the smallest of the grid (no regularization): no larger alpha with all 2 folds "
        "trained reached a higher mean validation accuracy."
    ]


def test_when_the_smallest_positive_alpha_is_chosen_the_grid_may_be_too_high():
    result = made_result([0.01, 1.0], [(0.99, 0.90, NORMS), (0.95, 0.85, NORMS)])
    assert summarize(result)[2:] == [
        "The chosen alpha is the smallest of the grid: no larger alpha with all 2 folds trained reached a higher "
        "mean validation accuracy. The best alpha may lie below the grid; extend it downward to find out."
    ]


def test_a_1se_choice_that_scores_lower_than_the_smallest_alpha_is_reported_as_lower():
    # Best mean at alpha 1 (0.85); alpha 10 (0.845) is within one standard error (0.01 / sqrt 2),
    # and scores below the smallest alpha (0.849): the summary must say "lower", not "better".
    result = made_result(
        [0.01, 1.0, 10.0], [(0.9, 0.849, NORMS), (0.9, 0.85, NORMS), (0.9, 0.845, NORMS)], selection="1se"
    )
    assert result.alpha == 10.0
    lines = summarize(result)
    assert lines[1] == (
        "Chosen alpha: 10 (the 1-SE rule: the largest alpha whose mean validation accuracy is within one standard "
        f"error of the best, i.e. at least {result.threshold:.4g})."
    )
    assert lines[2] == (
        "The chosen alpha is the largest of the grid: the best alpha may lie above it; extend the grid upward to find out."
    )
    assert lines[3] == (
        "Mean validation accuracy: 0.845 \N{PLUS-MINUS SIGN} 0.01 at the chosen alpha against 0.849 "
        "\N{PLUS-MINUS SIGN} 0.01 for the smallest alpha (0.01): lower by 0.004 (the 1-SE rule gives up at most "
        "one standard error for a larger alpha); the difference is smaller than the standard deviation over folds (0.01)."
    )
    assert lines[4] == (
        "Train \N{MINUS SIGN} validation gap of the accuracy: 0.051 at alpha = 0.01, 0.055 at the chosen alpha "
        "(widened by 0.004)."
    )
    assert lines[5].endswith("5 at alpha = 0.01, 5 at the chosen alpha; the total norm is unchanged.")


def test_weights_that_grew_are_not_called_shrunk():
    result = made_result([0.0, 1.0, 10.0], [(0.9, 0.8, NORMS), (0.9, 0.85, {"a": 6.0, "b": 8.0}), (0.9, 0.7, NORMS)])
    assert summarize(result)[-1].endswith("; the weights grew to 2 times their size at alpha = 0.")


def _fold_0_only():
    members = [member(a, 0, alpha, train=0.9, val=0.8, norms=NORMS) for a, alpha in enumerate([0.0, 1.0])]
    spec = {"alphas": [0.0, 1.0], "n_folds": 2, "task": "multiclass", "n_outputs": 1}
    return spec, members


def test_without_an_alpha_scored_on_every_fold_nothing_is_chosen_and_the_summary_says_so():
    spec, members = _fold_0_only()
    result = SweepResult.from_members(spec, members, scoring="accuracy", selection="1se", require_choice=False)
    assert result.best_index is None and result.alpha is None and result.threshold is None
    assert result.missing == [(0, 1), (1, 1)]
    assert summarize(result) == [
        "2 alphas \N{MULTIPLICATION SIGN} 2 folds: 2 of 4 members trained.",
        "No alpha could be chosen yet: no alpha has a validation score on all 2 folds. "
        "The figures and the table show the members trained so far.",
    ]


def test_by_default_from_members_still_refuses_a_sweep_with_nothing_to_choose():
    # The CV estimators rely on this: they must never refit with no alpha.
    spec, members = _fold_0_only()
    message = (
        "no alpha has a score on every fold (members missing or diverged); expected at least one alpha scored on every fold to choose from. "
        "Resume the sweep, or lower the learning rate if members diverged."
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        SweepResult.from_members(spec, members, scoring="accuracy", selection="min")
