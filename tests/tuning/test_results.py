"""SweepResult: the cautions it gives about a choice (edge of the grid, R^2 below 0)."""

from __future__ import annotations

import numpy as np

from netreg.tuning import MemberRecord, SweepResult


def _result(val_scores, *, task="multiclass", alphas=(0.01, 0.1, 1.0)):
    members = [
        MemberRecord(
            a,
            fold,
            alphas[a],
            0,
            "converged",
            3,
            3,
            {"train_loss": 0.1, "train_score": 0.9, "val_loss": 0.2, "val_score": score},
            [],
            "",
            0.0,
        )
        for a, score in enumerate(val_scores)
        for fold in range(2)
    ]
    spec = {"alphas": list(alphas), "n_folds": 2, "task": task, "n_outputs": 1}
    return SweepResult.from_members(
        spec, members, scoring="r2" if task == "regression" else "accuracy", selection="min"
    )


def test_an_alpha_inside_the_grid_with_a_good_score_gives_no_note():
    assert _result([0.8, 0.9, 0.7]).notes() == []


def test_a_choice_on_either_edge_of_the_grid_is_named():
    assert _result([0.7, 0.8, 0.9]).notes() == [
        "The chosen alpha, 1, is the largest of the grid: a larger one may score better. "
        "Extend the grid upward to find out."
    ]
    assert _result([0.9, 0.8, 0.7]).notes() == [
        "The chosen alpha, 0.01, is the smallest of the grid: a smaller one may score better. "
        "Extend the grid downward (or add alpha = 0) to find out."
    ]
    # alpha = 0 chosen: nothing lies below it, regularization simply did not help.
    assert _result([0.9, 0.8, 0.7], alphas=(0.0, 0.1, 1.0)).notes() == []


def test_a_regression_worse_than_the_mean_is_named():
    result = _result([-0.5, -0.2, -0.4], task="regression")
    assert result.best_index == 1 and np.isclose(result.cv_results["mean_test_score"][1], -0.2)
    assert result.notes() == [
        "The chosen model's cross-validated R\N{SUPERSCRIPT TWO} is -0.200: it predicts worse than the mean of the "
        "target would. Check the target's scale (standardize it), the learning rate and the number of epochs."
    ]
