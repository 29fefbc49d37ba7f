"""NetRegClassifier / NetRegRegressor: equivalences with scikit-learn, the API contract, errors."""

from __future__ import annotations

import io
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressor
from netreg.nets import MLP
from netreg.objective import objective

F64 = {"dtype": "float64", "device": "cpu"}


def _start_both_from(ours, theirs, X, y, init):
    """Fit both once to set them up, then put the same starting weights into both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.set_params(max_iter=1, warm_start=True).fit(X, y)
        theirs.set_params(max_iter=1, warm_start=True).fit(X, y)
    ours.module_.load_state_dict(init.state_dict())
    theirs.coefs_ = [layer.weight.detach().numpy().T.copy() for layer in init.layers]
    theirs.intercepts_ = [layer.bias.detach().numpy().copy() for layer in init.layers]


def _pair(kind, digits, diabetes, **params):
    if kind == "classifier":
        X, y = digits[0][:200], digits[1][:200]
        pair = (
            NetRegClassifier((12,), solver="lbfgs", **F64, **params),
            MLPClassifier(hidden_layer_sizes=(12,), solver="lbfgs", **params),
        )
        return (*pair, X, y, MLP(64, (12,), 10).double())
    X, y = diabetes
    pair = (
        NetRegRegressor((6,), solver="lbfgs", **F64, **params),
        MLPRegressor(hidden_layer_sizes=(6,), solver="lbfgs", **params),
    )
    return (*pair, X, y, MLP(10, (6,), 1).double())


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_from_the_same_weights_follows_sklearn_mlp_step_for_step(digits, diabetes, kind):
    # Same objective, same gradients, same optimizer (SciPy's L-BFGS-B with scikit-learn's
    # settings): 30 iterations from the same weights land on the same weights, up to the
    # rounding of two different implementations (measured ~1e-13).
    ours, theirs, X, y, init = _pair(kind, digits, diabetes, alpha=1.0)
    _start_both_from(ours, theirs, X, y, init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.set_params(max_iter=30).fit(X, y)
        theirs.set_params(max_iter=30).fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-11)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_to_convergence_reaches_sklearn_mlp_objective(digits, diabetes, kind):
    # Run to scikit-learn's stopping rule. The last-bit differences of the step-for-step test
    # grow along a non-convex path of a few hundred iterations, so the two runs end at nearby
    # minima of the same objective: measured 2e-5 to 1.2e-4 apart in objective, hence 1e-3.
    ours, theirs, X, y, init = _pair(kind, digits, diabetes, alpha=1.0)
    _start_both_from(ours, theirs, X, y, init)
    ours.set_params(max_iter=2000).fit(X, y)
    theirs.set_params(max_iter=2000, max_fun=100000).fit(X, y)
    assert ours.status_ == "converged"
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-3)


# The estimators stop L-BFGS where scikit-learn's MLP does: also when an iteration lowers the
# objective by less than 2.2e-9 relative. Near a minimum that leaves the weights about
# sqrt(2.2e-9) ~ 5e-5 (relative) from it, hence the 1e-4 tolerances below. (The engine,
# run with ftol=1e-15 in tests/engine/test_solvers.py, matches Ridge and LogisticRegression to 1e-6.)


def test_no_hidden_layer_regressor_is_ridge(diabetes):
    X, y = diabetes
    ours = NetRegRegressor((), alpha=5.0, solver="lbfgs", tol=1e-8, **F64).fit(X, y)
    ridge = Ridge(alpha=5.0).fit(X, y)
    np.testing.assert_allclose(ours.coefs_[0].ravel(), ridge.coef_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.intercepts_[0], ridge.intercept_, atol=1e-4)
    np.testing.assert_allclose(ours.predict(X), ridge.predict(X), atol=1e-4)


@pytest.mark.parametrize("binary", [True, False])
def test_no_hidden_layer_classifier_is_logistic_regression(digits, binary):
    X, y = digits[0][:400], digits[1][:400]
    if binary:
        y = np.where(y >= 5, "high", "low")
    ours = NetRegClassifier((), alpha=3.0, solver="lbfgs", tol=1e-9, max_iter=2000, **F64).fit(X, y)
    theirs = LogisticRegression(C=netreg.conventions.to_logistic_C(3.0), tol=1e-12, max_iter=10000).fit(X, y)
    assert list(ours.classes_) == list(theirs.classes_)
    # 650 weights for 10 classes leave flatter directions than the binary case: measured 2e-4.
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4 if binary else 5e-4)
    assert (ours.predict(X) == theirs.predict(X)).all()


def test_on_overfitting_digits_tuned_alpha_beats_no_penalty_and_norms_shrink(digits):
    # 300 training rows, 1497 held out, 64 hidden units (4810 weights), L-BFGS: with alpha = 0
    # the network fits the training set exactly (converged in 32 iterations) and its held-out
    # log-loss is poor (measured 1.27); GridSearchCV over alpha finds a model far better
    # (measured 0.20, as with 256 units and 300 iterations, in a quarter of the time).
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=300, stratify=y, random_state=0)
    base = NetRegClassifier((64,), solver="lbfgs", max_iter=150, random_state=0)
    alphas = [0.0, 0.3, 1.0, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(base, {"alpha": [0.3, 3.0]}, cv=3, scoring="neg_log_loss").fit(X_train, y_train)
        fits = [clone(base).set_params(alpha=alpha).fit(X_train, y_train) for alpha in alphas]
    unregularized = log_loss(y_test, fits[0].predict_proba(X_test))
    tuned = log_loss(y_test, search.best_estimator_.predict_proba(X_test))
    assert tuned < 0.5 * unregularized, (tuned, unregularized)
    totals = [sum((c.astype(np.float64) ** 2).sum() for c in fit.coefs_) for fit in fits]
    assert all(a > b for a, b in zip(totals, totals[1:])), totals


def test_pipeline_cross_val_score_and_clone_work():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(
        StandardScaler(), NetRegClassifier((16,), alpha=1.0, solver="lbfgs", max_iter=100, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, X, y, cv=3)
    assert scores.mean() > 0.95
    copy = clone(model)
    assert copy.get_params()["netregclassifier__alpha"] == 1.0
    assert not hasattr(copy[-1], "module_")


@pytest.mark.parametrize("dump, load", [(pickle.dumps, pickle.loads), ("joblib", "joblib")])
def test_pickle_and_joblib_round_trips_predict_the_same(digits, tmp_path, dump, load):
    X, y = digits[0][:300], digits[1][:300]
    model = NetRegClassifier((32,), max_iter=20, random_state=0).fit(X, y)
    if dump == "joblib":
        joblib.dump(model, tmp_path / "model.joblib")
        restored = joblib.load(tmp_path / "model.joblib")
    else:
        restored = load(dump(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert next(restored.module_.parameters()).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none; run on a GPU machine)")
def test_model_fitted_on_cuda_unpickles_and_predicts_on_cpu(digits):
    X, y = digits[0][:300], digits[1][:300]
    model = NetRegClassifier((32,), max_iter=5, device="cuda", random_state=0).fit(X, y)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    restored = torch.load(buffer, map_location="cpu", weights_only=False)
    np.testing.assert_allclose(restored.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_partial_fit_twice_equals_two_epochs_of_fit(digits):
    # partial_fit keeps Adam's moments between calls, so two calls are two epochs of fit.
    X, y = digits[0][:256], digits[1][:256]
    params = dict(hidden_layer_sizes=(16,), batch_size=64, shuffle=False, random_state=0, tol=0.0, **F64)
    streamed = NetRegClassifier(**params)
    streamed.partial_fit(X, y, classes=np.arange(10)).partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = NetRegClassifier(max_iter=2, **params).fit(X, y)
    for a, b in zip(streamed.coefs_, fitted.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # Two epochs trained over the calls; n_iter_ counts the last call's, as scikit-learn's does.
    assert len(streamed.history_) == 2 and streamed.n_iter_ == 1 and streamed.t_ == 2 * 256


def test_partial_fit_is_not_available_for_lbfgs():
    with pytest.raises(AttributeError, match="^This 'NetRegRegressor' has no attribute 'partial_fit'$") as caught:
        NetRegRegressor(solver="lbfgs").partial_fit
    assert str(caught.value.__cause__) == (
        "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic."
    )


def test_multilabel_and_multi_output_shapes(digits):
    X = digits[0][:200]
    Y = np.column_stack([digits[1][:200] % 2, digits[1][:200] > 4]).astype(int)
    classifier = NetRegClassifier((16,), max_iter=30, random_state=0).fit(X, Y)
    assert classifier.predict(X).shape == (200, 2) and set(np.unique(classifier.predict(X))) <= {0, 1}
    assert classifier.predict_proba(X).shape == (200, 2) and classifier.out_activation_ == "logistic"
    regressor = NetRegRegressor((16,), max_iter=30, random_state=0).fit(X, Y.astype(float))
    assert regressor.predict(X).shape == (200, 2)
    assert NetRegRegressor((4,), max_iter=5, random_state=0).fit(X, Y[:, 0].astype(float)).predict(X).shape == (200,)


def test_probabilities_are_normalized_and_logs_consistent(digits):
    X, y = digits[0][:200], digits[1][:200]
    for target in (y, y > 4):
        model = NetRegClassifier((16,), max_iter=20, random_state=0).fit(X, target)
        proba = model.predict_proba(X)
        np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
        np.testing.assert_allclose(np.log(proba), model.predict_log_proba(X), rtol=1e-6, atol=1e-7)
        assert (model.classes_[proba.argmax(1)] == model.predict(X)).all()


def test_fitted_attributes_and_history(digits):
    X, y = digits[0][:300], digits[1][:300]
    model = NetRegClassifier((16, 8), alpha=2.0, max_iter=15, random_state=0).fit(X, y)
    assert [c.shape for c in model.coefs_] == [(64, 16), (16, 8), (8, 10)]
    assert [b.shape for b in model.intercepts_] == [(16,), (8,), (10,)]
    assert model.n_iter_ == len(model.loss_curve_) == len(model.history_) == 15
    assert model.loss_ == model.loss_curve_[-1] and model.best_loss_ == min(model.loss_curve_)
    assert model.n_layers_ == 4 and model.n_outputs_ == 10 and model.out_activation_ == "softmax"
    last = model.history_[-1]
    assert last["weight_norms"]["layers.2.weight"] == pytest.approx(np.linalg.norm(model.coefs_[2]), rel=1e-5)
    assert last["penalty"] == pytest.approx(
        2.0 / (2 * 300) * sum((c.astype(np.float64) ** 2).sum() for c in model.coefs_), rel=1e-5
    )
    assert model.validation_scores_ is None and model.best_validation_score_ is None


def test_loss_matches_the_objective_of_the_fitted_module_for_l1(digits):
    X, y = digits[0][:200], digits[1][:200]
    model = NetRegClassifier((8,), penalty="l1", alpha=2.0, solver="lbfgs", max_iter=30, **F64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    expected = objective(model.module_, X, y, task="multiclass", penalty=netreg.L1(2.0)).item()
    assert model.loss_ == pytest.approx(expected, rel=1e-8)


def test_early_stopping_records_validation_scores(digits):
    X, y = digits
    model = NetRegClassifier((32,), early_stopping=True, max_iter=200, random_state=0).fit(X, y)
    assert model.status_ == "early_stopped"
    assert model.best_loss_ is None and len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_warm_start_continues_training(digits):
    X, y = digits[0][:300], digits[1][:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NetRegClassifier((16,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
        first = model.coefs_[0].copy()
        model.fit(X, y)
    # The curve goes on over both fits; n_iter_ counts the last fit's epochs, as scikit-learn's does.
    assert len(model.history_) == 10 and model.n_iter_ == 5 and len(model.loss_curve_) == 10
    assert not np.array_equal(first, model.coefs_[0])


def test_verbose_prints_one_line_per_epoch(digits, capsys):
    X, y = digits[0][:100], digits[1][:100]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NetRegClassifier((8,), max_iter=3, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and re.fullmatch(
        r"Iteration 1, loss = \d+\.\d{8} \(data loss \d+\.\d{8}, penalty .+\)", lines[0]
    )


def test_feature_names_are_kept_from_dataframes(digits):
    pandas = pytest.importorskip("pandas", reason="pandas is a netreg dependency")
    X = pandas.DataFrame(digits[0][:100], columns=[f"pixel{i}" for i in range(64)])
    model = NetRegRegressor((4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, digits[1][:100].astype(float))
    assert list(model.feature_names_in_) == list(X.columns)


def test_predict_before_fit_raises_not_fitted_error():
    message = (
        "This NetRegClassifier instance is not fitted yet. Call 'fit' with appropriate arguments "
        "before using this estimator."
    )
    with pytest.raises(netreg.NotFittedError, match=f"^{re.escape(message)}$"):
        NetRegClassifier().predict(np.zeros((2, 3)))
    with pytest.raises(SklearnNotFittedError):
        NetRegRegressor().predict(np.zeros((2, 3)))


def test_convergence_warning_gives_the_numbers(digits):
    X, y = digits[0][:100], digits[1][:100]
    message = (
        "NetRegClassifier: Stopped at max_iter=2 epochs before converging (the objective still improved "
        "by more than tol=0.0001 within the last 11 epochs)."
    )
    with pytest.warns(ConvergenceWarning, match=f"^{re.escape(message)}$"):
        NetRegClassifier((4,), max_iter=2, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"alpha": -1.0},
            "The 'alpha' parameter of NetRegClassifier must be a float in the range [0.0, inf), a str among {'auto'} or an instance of 'dict'. "
            "Got -1.0 instead.",
        ),
        (
            {"alpha": float("nan")},
            "The 'alpha' parameter of NetRegClassifier must be a float in the range [0.0, inf), a str among {'auto'} or an instance of 'dict'. "
            "Got nan instead.",
        ),
        (
            {"alpha": True},
            "The 'alpha' parameter of NetRegClassifier must be a float in the range [0.0, inf), a str among {'auto'} or an instance of 'dict'. "
            "Got True instead.",
        ),
        (
            {"l1_ratio": 1.5},
            "The 'l1_ratio' parameter of NetRegClassifier must be a float in the range [0.0, 1.0]. Got 1.5 instead.",
        ),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must be > 0, got (10, 0)."),
        (
            {"batch_size": 0},
            "The 'batch_size' parameter of NetRegClassifier must be a str among {'auto'} or an int in the range "
            "[1, inf). Got 0 instead.",
        ),
        (
            {"dropout": 1.0},
            "The 'dropout' parameter of NetRegClassifier must be a float in the range [0.0, 1.0). Got 1.0 instead.",
        ),
    ],
)
def test_bad_parameters_are_refused_in_fit_with_sklearn_wording(params, message):
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        NetRegClassifier(**params).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_more_hidden_layers_than_the_bound_are_refused_before_any_work(refused):
    # 20,000 layers of width 1 pass the memory check (60,000 parameters) and trained for minutes.
    message = (
        "`hidden_layer_sizes` must be at most 1000 hidden layers (a plain MLP that deep does not train, and every "
        "layer adds time to every step). Got 20,000 layers."
    )
    X, y = np.zeros((4, 2)), [0, 1, 0, 1]
    for estimator in (NetRegClassifier((1,) * 20_000), NetRegClassifierCV(hidden_layer_sizes=[1] * 20_000)):
        with refused(message, netreg.InvalidParameterError):
            estimator.fit(X, y)
    with refused(message, netreg.InvalidParameterError):
        MLP(2, (1,) * 20_000, 1)
    assert len(MLP(2, (1,) * 1000, 1).layers) == 1001  # the bound itself is allowed


def test_one_class_and_unseen_classes_are_refused():
    X = np.zeros((4, 2))
    with pytest.raises(
        netreg.DataError,
        match=re.escape(
            "NetRegClassifier needs samples of at least 2 classes in the data, but the data contains only one class: 'a'."
        ),
    ):
        NetRegClassifier().fit(X, ["a"] * 4)
    model = NetRegClassifier(max_iter=1)
    model.partial_fit(X, [0, 1, 0, 1], classes=[0, 1])
    with pytest.raises(
        netreg.DataError,
        match=re.escape("`y` has classes not in `self.classes_`. `self.classes_` has [0 1]. 'y' has [0 1 2]."),
    ):
        model.partial_fit(X, [0, 1, 2, 1])


def test_warm_start_on_data_that_needs_another_network_is_refused(digits):
    X, y = digits[0][:100], digits[1][:100]
    model = NetRegClassifier((4,), max_iter=2, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    before = model.coefs_[0].copy()
    message = (
        "this data and these parameters need a network shaped {'layers.0.weight': (4, 10), 'layers.0.bias': (4,), "
        "'layers.1.weight': (10, 4), 'layers.1.bias': (10,)} (the features, classes or hidden layers changed); "
        "expected the previous fit's network, shaped {'layers.0.weight': (4, 64), 'layers.0.bias': (4,), "
        "'layers.1.weight': (10, 4), 'layers.1.bias': (10,)}, which warm_start and partial_fit continue from. "
        "Set `warm_start=False` to start afresh."
    )
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        model.fit(X[:, :10], y)
    np.testing.assert_array_equal(model.coefs_[0], before)


def test_partial_fit_refuses_early_stopping_as_scikit_learn_does(digits):
    # scikit-learn 1.9 refuses it (older versions ignored it): one epoch on a stream has no
    # validation set to stop on. Without early stopping, partial_fit tracks the best loss.
    X, y = digits[0][:100], digits[1][:100]
    model = NetRegClassifier((4,), early_stopping=True, random_state=0)
    with pytest.raises(netreg.InvalidParameterError, match="^partial_fit does not support early_stopping=True$"):
        model.partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="^partial_fit does not support early_stopping=True$"):
        MLPClassifier((4,), early_stopping=True).partial_fit(X, y, classes=np.arange(10))
    assert not hasattr(model, "module_")
    model.set_params(early_stopping=False).partial_fit(X, y, classes=np.arange(10)).partial_fit(X, y)
    assert model.validation_scores_ is None and model.best_loss_ == min(model.loss_curve_)


def test_verbose_and_a_callback_both_get_the_epochs(digits, capsys):
    X, y = digits[0][:100], digits[1][:100]
    seen = []

    class Count(netreg.Callback):
        def on_epoch_end(self, epoch, records):
            seen.append(epoch)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NetRegClassifier((4,), max_iter=3, verbose=True, random_state=0).fit(X, y, callback=Count())
    assert seen == [1, 2, 3] and len(capsys.readouterr().out.strip().splitlines()) == 3


@pytest.mark.parametrize("callback", [42, print, [42]], ids=["int", "function", "list"])
def test_a_plain_fit_names_its_callback_parameter_when_refusing_one(refused, callback):
    # Before: "`callbacks` must be ... Got callbacks=[42]." of callback=42, from inside the engine.
    from netreg.exceptions import InvalidParameterError

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with refused(
        f"`callback` must be a Callback, a list of Callbacks or None. Got callback={callback!r}.", InvalidParameterError
    ):
        NetRegClassifier((4,), max_iter=2).fit(X, y, callback=callback)
