"""SweepResult: the cautions it gives about a choice (edge of the grid, R^2 below 0, diverged members)."""

from __future__ import annotations

import re

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


def _sweep_with_a_diverging_alpha(digits, n_rows=300, alphas=(1e-4, 1e-2, 1e5)):
    from netreg import NetRegClassifier
    from netreg.tuning import plan_sweep, run_sweep

    X, y = digits[0][:n_rows], digits[1][:n_rows]
    # alpha / m = 1e5 / 200 = 500 and learning_rate * alpha / m = 50 > 2 (1 + 0.9) / (1 + 1.8): the
    # penalty alone makes SGD overshoot at the largest alpha, and only there.
    model = NetRegClassifier((16,), solver="sgd", learning_rate_init=0.1, max_iter=4, random_state=0)
    return run_sweep(plan_sweep(model, X, y, alphas=list(alphas), cv=3), scoring="accuracy")


def test_diverged_members_are_counted_not_scored_and_their_cause_is_a_note(digits):
    result = _sweep_with_a_diverging_alpha(digits)
    assert result.cv_results["n_diverged"].tolist() == [0, 0, 3]
    assert result.cv_results["n_members"].tolist() == [3, 3, 0]
    assert np.isnan(result.cv_results["mean_test_score"][2]) and result.best_index in (0, 1)
    first = next(m for m in result.members if m.status == "diverged")
    assert (
        result.notes()[-1] == f"3 of 9 members diverged and are not scored (alpha = 100000). The first: {first.message}"
    )
    assert first.message.endswith(
        "alpha is too large for this step size: the penalty alone makes each SGD step overshoot (learning_rate * "
        "alpha / m = 50, alpha / m = 500). Lower alpha or the learning rate."
    )


def test_members_diverging_for_one_cause_make_one_note_whatever_their_numbers(digits):
    # 301 rows in 3 folds: m = 200 or 201, so alpha / m differs between folds and alphas.
    result = _sweep_with_a_diverging_alpha(digits, n_rows=301, alphas=(1e-4, 1e5, 2e5))
    diverged = [m for m in result.members if m.status == "diverged"]
    assert len(diverged) == 6 and len({m.message for m in diverged}) > 1
    notes = [note for note in result.notes() if "diverged" in note]
    assert notes == [
        f"6 of 9 members diverged and are not scored (alpha = 100000, 200000). The first: {diverged[0].message}"
    ]


def test_the_terminal_table_and_the_report_show_the_diverged_members(digits):
    from rich.console import Console

    from netreg.cli.render import print_results
    from netreg.report.results_table import results_table

    result = _sweep_with_a_diverging_alpha(digits)
    console = Console(record=True, width=200)
    print_results(console, result)
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "alpha" in line and "epochs" in line)
    assert header.rstrip(" ┃").endswith("diverged")
    row = next(line for line in lines if line.lstrip("│ ").startswith("1e+05"))
    assert row.rstrip(" │").endswith("3")
    assert any(line.startswith("Note: 3 of 9 members diverged and are not scored (alpha = 100000).") for line in lines)
    assert results_table(result).count("<small>3 diverged</small>") == 1


def test_a_sweep_whose_every_member_diverged_says_why_instead_of_choosing(digits):
    import pytest

    from netreg import NetRegClassifier
    from netreg.exceptions import DataError
    from netreg.tuning import plan_sweep, run_sweep

    X, y = digits[0][:300], digits[1][:300]
    model = NetRegClassifier((16,), learning_rate_init=1e8, max_iter=4, random_state=0)
    with pytest.raises(DataError) as caught:
        run_sweep(plan_sweep(model, X, y, alphas=[1e-4, 1e-2], cv=2), scoring="accuracy")
    assert re.fullmatch(
        r"no alpha has a score on every fold: 4 of 4 members diverged; expected at least one alpha scored on every "
        r"fold to choose from\. The first: Training diverged at epoch \d+ \(alpha=0\.0001, solver='adam', "
        r"learning_rate=100000000\.0\): the training loss reached .*\. Lower the learning rate or standardize the "
        r"inputs \(large feature values make the loss overflow\)\.",
        str(caught.value),
    ), str(caught.value)
