"""The displays plot the search's numbers: each line is held against ``cv_results_`` (or the
member records it claims to show), drawn where asked, and refused before a fit."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from expected_messages import not_a_nonnegative_float
from netreg import (
    AlphaPathDisplay,
    LearningCurveDisplay,
    NetRegClassifier,
    NetRegClassifierCV,
    NetRegRegressorCV,
    ValidationCurveDisplay,
    WeightNormDisplay,
)
from netreg.exceptions import InvalidParameterError
from netreg.report.figures import new_figure

DISPLAYS = [ValidationCurveDisplay, WeightNormDisplay, LearningCurveDisplay]


def _lines(ax):
    return {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}


def _x(alphas):
    # alpha = 0 sits a decade left of the smallest positive alpha on the log axis
    alphas = np.asarray(alphas, dtype=float)
    return np.where(alphas > 0, alphas, alphas[alphas > 0].min() / 10)


def test_the_validation_curve_shows_the_searchs_mean_scores_their_spread_the_chosen_alpha_and_the_rule(onese_search):
    cv = onese_search.cv_results_
    display = ValidationCurveDisplay.from_search(onese_search)
    lines = _lines(display.ax_)
    for column in ("mean_test_score", "mean_train_score"):
        np.testing.assert_allclose(lines[column].get_xdata(), _x(cv["alpha"]))
        np.testing.assert_allclose(lines[column].get_ydata(), cv[column])
    # The bands: mean +- std over the folds, cv_results_'s std.
    for collection, part in zip(display.ax_.collections, ("train", "test")):
        mean, std = cv[f"mean_{part}_score"], cv[f"std_{part}_score"]
        y = collection.get_paths()[0].vertices[:, 1]
        assert math.isclose(y.min(), (mean - std).min()) and math.isclose(y.max(), (mean + std).max())
    assert lines["chosen"].get_xdata()[0] == _x(cv["alpha"])[onese_search.best_index_]
    # The 1-SE threshold: the best mean minus its standard error over the 3 folds.
    best = int(np.argmax(cv["mean_test_score"]))
    expected = cv["mean_test_score"][best] - cv["std_test_score"][best] / math.sqrt(3)
    assert math.isclose(lines["threshold"].get_ydata()[0], expected, rel_tol=1e-9)
    assert display.ax_.get_title() == f"Validation curve (1se rule; chosen alpha = {onese_search.alpha_:.3g})"


def test_the_evidence_is_on_a_second_axis_where_the_sweep_computed_it(onese_search):
    cv = onese_search.cv_results_
    evidence = np.asarray(cv["mean_log_evidence"], dtype=float)
    assert np.isfinite(evidence).any()
    display = ValidationCurveDisplay.from_search(onese_search)
    line = _lines(display.evidence_ax_)["log_evidence"]
    known = np.isfinite(evidence)
    np.testing.assert_allclose(line.get_xdata(), _x(cv["alpha"])[known])
    np.testing.assert_allclose(line.get_ydata(), evidence[known])
    assert display.evidence_ax_.get_shared_x_axes().joined(display.evidence_ax_, display.ax_)
    assert ValidationCurveDisplay.from_search(onese_search, evidence=False).evidence_ax_ is None


def test_the_alphas_halving_stopped_are_marked_with_their_partial_scores(halving_search):
    cv = halving_search.cv_results_
    stopped = np.isfinite(np.asarray(cv["stopped_at_epoch"], dtype=float))
    assert stopped.any() and not stopped.all()
    display = ValidationCurveDisplay.from_search(halving_search, kind="loss")
    line = _lines(display.ax_)["stopped"]
    np.testing.assert_allclose(line.get_xdata(), _x(cv["alpha"])[stopped])
    np.testing.assert_allclose(line.get_ydata(), np.asarray(cv["mean_test_loss"])[stopped])
    labels = [text.get_text() for text in display.ax_.texts if text.get_text() != "//"]
    assert labels == [f"{epoch:.0f}" for epoch in np.asarray(cv["stopped_at_epoch"])[stopped]]


def test_the_weight_norms_are_cv_results_norms(onese_search):
    cv = onese_search.cv_results_
    lines = _lines(WeightNormDisplay.from_search(onese_search).ax_)
    layers = [key[len("mean_norm[") : -1] for key in cv if key.startswith("mean_norm[")]
    assert layers == ["layers.0.weight", "layers.1.weight"]
    for layer in layers:
        np.testing.assert_allclose(lines[f"mean_norm[{layer}]"].get_ydata(), cv[f"mean_norm[{layer}]"])


def test_the_learning_curve_is_the_chosen_members_history(onese_search):
    display = LearningCurveDisplay.from_search(onese_search)
    member = min(
        (m for m in onese_search.sweep_.members if m.alpha_index == onese_search.best_index_), key=lambda m: m.fold
    )
    lines = _lines(display.ax_)
    np.testing.assert_array_equal(lines["train_loss"].get_xdata(), [h["epoch"] for h in member.history])
    np.testing.assert_allclose(lines["val_loss"].get_ydata(), [h["val_loss"] for h in member.history])
    assert {"penalty", "objective"} <= set(lines)  # the chosen alpha's panel shows the penalty
    other = LearningCurveDisplay.from_search(onese_search, alpha_index=0)
    assert other.data_["alpha"] == 0.0 and "penalty" not in _lines(other.ax_)


@pytest.mark.parametrize("display", DISPLAYS)
def test_a_display_draws_on_the_axes_it_is_given_and_returns_itself(onese_search, display):
    figure, (left, right) = plt.subplots(1, 2)
    shown = display.from_search(onese_search, ax=right)
    assert shown.ax_ is right and shown.figure_ is figure and right.get_lines() and not left.get_lines()
    assert plt.get_fignums() == [figure.number]  # no figure of its own
    # plot() draws again, on a new pyplot figure when no axes is given, and returns the display.
    assert shown.plot() is shown and shown.ax_ is not right and len(plt.get_fignums()) == 2


@pytest.mark.parametrize("display", DISPLAYS)
@pytest.mark.parametrize("estimator", [NetRegClassifierCV, NetRegRegressorCV])
def test_an_unfitted_search_is_refused_with_scikit_learns_message(refused, display, estimator):
    name = estimator.__name__
    message = (
        f"This {name} instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator."
    )
    with pytest.raises(NotFittedError) as expected:
        check_is_fitted(estimator())
    assert str(expected.value) == message  # scikit-learn's own words
    with refused(message, NotFittedError):
        display.from_search(estimator())


def test_what_is_not_a_search_or_a_result_is_refused(refused, digits):
    X, y = digits
    plain = NetRegClassifier((4,), max_iter=2, random_state=0).fit(X[:60], y[:60])
    with refused(
        "`search` must be a fitted NetRegClassifierCV or NetRegRegressorCV. Got a NetRegClassifier without sweep_.",
        InvalidParameterError,
    ):
        ValidationCurveDisplay.from_search(plain)
    with refused("`result` must be a SweepResult (a fitted search's sweep_). Got a dict.", InvalidParameterError):
        WeightNormDisplay.from_result({})


def test_bad_plot_arguments_are_refused(refused, onese_search):
    with refused("`kind` must be one of 'score', 'loss'. Got kind='accuracy'.", InvalidParameterError):
        ValidationCurveDisplay.from_search(onese_search, kind="accuracy")
    with refused(
        "`alpha_index` must be a position in the grid of 4 alphas (0 to 3). Got alpha_index=4.", InvalidParameterError
    ):
        LearningCurveDisplay.from_search(onese_search, alpha_index=4)


def test_the_alpha_path_draws_one_alpha_or_one_line_per_layer_over_the_epochs():
    one = AlphaPathDisplay.from_history([{"epoch": 5, "alpha": 0.1}, {"epoch": 10, "alpha": 0.4, "gamma": 3.0}])
    (line,) = one.ax_.get_lines()
    assert line.get_gid() == "alpha" and one.ax_.get_yscale() == "log"
    np.testing.assert_array_equal(line.get_xdata(), [5, 10])
    np.testing.assert_array_equal(line.get_ydata(), [0.1, 0.4])
    history = [{"epoch": e, "alpha": {"layers.0.weight": 0.1 * e, "layers.1.weight": 0.0}} for e in (2, 4, 6)]
    ax = new_figure(4, 3).subplots()
    layers = AlphaPathDisplay.from_history(history, ax=ax)
    lines = _lines(layers.ax_)
    assert layers.ax_ is ax and sorted(lines) == ["layers.0.weight", "layers.1.weight"]
    np.testing.assert_allclose(lines["layers.0.weight"].get_ydata(), [0.2, 0.4, 0.6])
    assert ax.get_yscale() == "linear"  # an alpha of 0 has no place on a log scale


def test_the_alpha_path_of_an_estimator_is_its_alpha_history(refused, digits):
    X, y = digits
    estimator = NetRegClassifier((4,), max_iter=2, random_state=0)
    with refused(
        "This NetRegClassifier instance is not fitted yet. Call 'fit' with appropriate arguments before using this "
        "estimator.",
        NotFittedError,
    ):
        AlphaPathDisplay.from_estimator(estimator)
    estimator.fit(X[:60], y[:60])
    if not hasattr(estimator, "alpha_history_"):
        with refused(
            '`estimator` must be an estimator fitted with alpha="auto" (one with `alpha_history_`). '
            "Got a NetRegClassifier without alpha_history_.",
            InvalidParameterError,
        ):
            AlphaPathDisplay.from_estimator(estimator)
    # A synthetic history in the documented format stands for alpha="auto"'s.
    estimator.alpha_history_ = [{"epoch": 3, "alpha": 0.5}, {"epoch": 6, "alpha": 0.25}]
    line = _lines(AlphaPathDisplay.from_estimator(estimator).ax_)["alpha"]
    np.testing.assert_array_equal(line.get_ydata(), [0.5, 0.25])


@pytest.mark.parametrize(
    "history, message",
    [
        (
            [],
            "`alpha_history` must be a non-empty sequence of dicts with keys 'epoch' and 'alpha'. Got an empty sequence.",
        ),
        (
            {"epoch": 1, "alpha": 0.1},
            "`alpha_history` must be a non-empty sequence of dicts with keys 'epoch' and 'alpha'. Got a dict.",
        ),
        (
            [{"epoch": 1}],
            "`alpha_history[0]` must be a dict with keys 'epoch' and 'alpha'. Got alpha_history[0]={'epoch': 1}.",
        ),
        (
            [{"epoch": 1, "alpha": 0.1}, {"epoch": 2, "alpha": -1.0}],
            not_a_nonnegative_float("alpha_history[1]['alpha']", "-1.0"),
        ),
        (
            [{"epoch": 1, "alpha": {"fc.weight": float("nan")}}],
            not_a_nonnegative_float("alpha_history[0]['alpha']['fc.weight']", "nan"),
        ),
        (
            [{"epoch": "one", "alpha": 0.1}],
            not_a_nonnegative_float("alpha_history[0]['epoch']", "'one'"),
        ),
    ],
)
def test_a_malformed_alpha_history_is_refused_naming_the_record(refused, history, message):
    with refused(message, InvalidParameterError):
        AlphaPathDisplay.from_history(history)


def test_the_alpha_path_of_a_real_auto_fit_draws_its_learned_alphas(auto_fit):
    display = AlphaPathDisplay.from_estimator(auto_fit)
    lines = _lines(display.ax_)
    history = auto_fit.alpha_history_
    assert len(history) >= 2
    if isinstance(auto_fit.alpha_, dict):  # layerwise: one line per penalized weight, ending at alpha_
        assert sorted(lines) == sorted(auto_fit.alpha_)
        for name, line in lines.items():
            np.testing.assert_array_equal(line.get_xdata(), [r["epoch"] for r in history])
            np.testing.assert_array_equal(line.get_ydata(), [r["alpha"][name] for r in history])
            assert line.get_ydata()[-1] == auto_fit.alpha_[name]
    else:
        assert list(lines) == ["alpha"]
        np.testing.assert_array_equal(lines["alpha"].get_ydata(), [r["alpha"] for r in history])
        assert lines["alpha"].get_ydata()[-1] == auto_fit.alpha_
