"""Choosing alpha: best mean score, or the one-standard-error rule."""

from __future__ import annotations

import re

import numpy as np
import pytest

import netreg
from netreg.tuning.rules import select_alpha

ALPHAS = np.array([0.0, 0.1, 1.0, 10.0, 100.0])


def test_min_takes_the_best_mean_and_ties_go_to_the_larger_alpha():
    mean = np.array([0.80, 0.90, 0.90, 0.85, 0.50])
    assert select_alpha(ALPHAS, mean, np.zeros(5), 5, "min") == (2, None)


def test_one_standard_error_rule_takes_the_largest_alpha_within_one_se():
    # Best mean 0.90 at alpha=0.1 with std 0.05 over 4 folds: SE = 0.025, threshold 0.875.
    mean = np.array([0.86, 0.90, 0.88, 0.874, 0.5])
    std = np.array([0.05, 0.05, 0.05, 0.05, 0.05])
    index, threshold = select_alpha(ALPHAS, mean, std, 4, "1se")
    assert (index, threshold) == (2, pytest.approx(0.875))
    # An independent check: the largest alpha whose mean clears the threshold.
    assert ALPHAS[index] == max(a for a, m in zip(ALPHAS, mean) if m >= 0.90 - 0.05 / np.sqrt(4))


def test_alphas_without_a_full_set_of_scores_are_not_eligible():
    mean = np.array([np.nan, 0.7, np.nan, 0.6, 0.5])
    assert select_alpha(ALPHAS, mean, np.zeros(5), 3, "min") == (1, None)
    message = (
        "no alpha has a score on every fold (members missing or diverged); expected at least one alpha scored on every fold to choose from. "
        "Resume the sweep, or lower the learning rate if members diverged."
    )
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        select_alpha(ALPHAS, np.full(5, np.nan), np.zeros(5), 3, "min")


def test_unknown_rule_is_refused():
    message = "`selection` must be one of 'min', '1se', 'evidence'. Got selection='best'."
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        select_alpha(ALPHAS, np.ones(5), np.zeros(5), 3, "best")
