"""The figures plot the sweep's numbers: every line is held against the results table,
the member records or the stored weights it claims to show."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from report_helpers import made_result

from netreg.report import alpha_positions, learning_curves, validation_curve, weight_histograms, weight_norm_curve
from netreg.tuning.store import SweepStore


def _lines(figure):
    return {line.get_gid(): line for ax in figure.axes for line in ax.get_lines() if line.get_gid()}


def _by_gid(ax):
    return {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}


def test_alpha_zero_is_drawn_a_decade_left_of_the_smallest_positive_alpha_on_a_tick_labeled_0(sweep):
    _, result, _ = sweep
    figure, _ = validation_curve(result)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log"
    # The smallest positive alpha is 0.1: "0" sits at 0.01, then the decades of the grid.
    np.testing.assert_allclose(ax.get_xticks(), [0.01, 0.1, 1.0, 10.0, 100.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.1", "1", "10", "100"]
    np.testing.assert_array_equal(alpha_positions(result.alphas), [0.01, 0.1, 3.0, 100.0])
    low, high = ax.get_xlim()
    assert low < 0.01 and high > 100.0  # every alpha inside the axes


def test_validation_curve_plots_the_mean_scores_and_losses_and_marks_the_chosen_alpha(sweep):
    _, result, _ = sweep
    cv = result.cv_results
    figure, data = validation_curve(result)
    score_ax, loss_ax = figure.axes
    x = alpha_positions(result.alphas)
    for ax, kind in ((score_ax, "score"), (loss_ax, "loss")):
        lines = _by_gid(ax)
        for part, column in (("train", "train"), ("val", "test")):
            line = lines[f"mean_{column}_{kind}"]
            np.testing.assert_array_equal(line.get_xdata(), x)
            np.testing.assert_array_equal(line.get_ydata(), cv[f"mean_{column}_{kind}"])
            np.testing.assert_array_equal(data[f"{part}_{kind}_std"], cv[f"std_{column}_{kind}"])
        assert list(lines["chosen"].get_xdata()) == [x[result.best_index]] * 2
        assert "score" in ax.get_ylabel() or "nats" in ax.get_ylabel()
    assert data["chosen_alpha"] == result.alpha == result.alphas[result.best_index]
    # The 1-SE threshold is drawn on the score panel, at the result's threshold.
    assert result.selection == "1se" and result.threshold is not None
    np.testing.assert_allclose(_by_gid(score_ax)["threshold"].get_ydata(), [result.threshold] * 2)
    assert "threshold" not in _by_gid(loss_ax)
    # The band spans mean +- std: its vertical extent at each alpha.
    band = score_ax.collections[1].get_paths()[0].vertices  # validation band
    for xi, mean, std in zip(x, cv["mean_test_score"], cv["std_test_score"]):
        ys = band[np.isclose(band[:, 0], xi), 1]
        assert ys.min() == pytest.approx(mean - std) and ys.max() == pytest.approx(mean + std)


def test_the_min_rule_draws_no_threshold():
    result = made_result([0.0, 1.0, 10.0], [(0.99, 0.80, {"w": 5.0}), (0.95, 0.85, {"w": 3.0}), (0.7, 0.6, {"w": 1.0})])
    figure, data = validation_curve(result)
    assert data["threshold"] is None and "threshold" not in _lines(figure)
    assert data["chosen_alpha"] == 1.0 and _lines(figure)["chosen"].get_xdata()[0] == 1.0


def test_weight_norm_lines_equal_the_table_and_the_stored_weights(sweep):
    plan, result, path = sweep
    figure, data = weight_norm_curve(result)
    lines = _lines(figure)
    layers = ["layers.0.weight", "layers.1.weight"]  # biases are not penalized
    assert sorted(data["norms"]) == layers
    assert sorted(gid for gid in lines if gid.startswith("mean_norm")) == [f"mean_norm[{layer}]" for layer in layers]
    with SweepStore.read(path) as store:
        for layer in layers:
            np.testing.assert_array_equal(
                lines[f"mean_norm[{layer}]"].get_ydata(), result.cv_results[f"mean_norm[{layer}]"]
            )
            # The table's norm is the Frobenius norm of the kept weights, mean over folds.
            stored = [
                [np.linalg.norm(store.weights(a, f)[layer].numpy()) for f in range(result.n_folds)]
                for a in range(len(result.alphas))
            ]
            np.testing.assert_allclose(lines[f"mean_norm[{layer}]"].get_ydata(), np.mean(stored, axis=1), rtol=1e-9)
    assert data["chosen_x"] == alpha_positions(result.alphas)[result.best_index]


def test_learning_curves_show_fold_0_of_the_smallest_chosen_and_largest_alpha_with_the_penalty_apart(sweep):
    plan, result, _ = sweep
    figure, data = learning_curves(result)
    panels = data["panels"]
    expected = sorted({0, result.best_index, len(result.alphas) - 1})
    assert [p["alpha_index"] for p in panels] == expected and len(figure.axes) == len(expected)
    for ax, panel in zip(figure.axes, panels):
        record = next(m for m in result.members if m.alpha_index == panel["alpha_index"] and m.fold == 0)
        assert panel["fold"] == 0
        lines = _by_gid(ax)
        for key in ("train_loss", "val_loss"):
            np.testing.assert_array_equal(lines[key].get_ydata(), [h[key] for h in record.history])
        np.testing.assert_array_equal(lines["train_loss"].get_xdata(), np.arange(1, len(record.history) + 1))
        assert ("penalty" in lines) == ("chosen" in panel["roles"])
    chosen = next(p for p in panels if "chosen" in p["roles"])
    # The penalty term is alpha / (2m) * sum_j ||W_j||^2, m the fold's training rows.
    m = len(plan.train_rows[0])
    record = next(m_ for m_ in result.members if m_.alpha_index == result.best_index and m_.fold == 0)
    squares = [sum(n**2 for n in h["weight_norms"].values()) for h in record.history]
    np.testing.assert_allclose(chosen["penalty"], result.alpha / (2 * m) * np.array(squares), rtol=1e-9)
    np.testing.assert_allclose(chosen["objective"], chosen["train_loss"] + chosen["penalty"], rtol=1e-12)


def test_weight_histograms_count_the_stored_weights_of_the_three_alphas(sweep):
    _, result, path = sweep
    with SweepStore.read(path) as store:
        figure, data = weight_histograms(result, store)
        assert sorted(data["layers"]) == ["layers.0.weight", "layers.1.weight"] and len(figure.axes) == 2
        for layer, entry in data["layers"].items():
            assert [e["alpha_index"] for e in entry["alphas"]] == sorted({0, result.best_index, len(result.alphas) - 1})
            for shown in entry["alphas"]:
                weights = store.weights(shown["alpha_index"], 0)[layer].numpy().ravel()
                np.testing.assert_array_equal(shown["values"], weights)
                np.testing.assert_array_equal(shown["counts"], np.histogram(weights, bins=entry["bins"])[0])
                assert shown["counts"].sum() == weights.size  # the shared bins hold every weight
    # Larger alpha, smaller weights: the spread of the histogram shrinks.
    spreads = [np.std(e["values"]) for e in data["layers"]["layers.0.weight"]["alphas"]]
    assert spreads[0] > spreads[-1]


def test_a_diverged_member_is_not_the_one_shown_when_another_fold_is_there():
    result = made_result([0.0, 1.0], [(0.9, 0.8, {"w": 2.0}), (0.9, 0.85, {"w": 1.0})])
    result.members[0] = dataclasses.replace(result.members[0], status="diverged")  # alpha 0, fold 0
    _, data = learning_curves(result)
    assert [(p["alpha_index"], p["fold"]) for p in data["panels"]] == [(0, 1), (1, 0)]
