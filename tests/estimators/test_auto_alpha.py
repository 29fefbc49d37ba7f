"""``alpha="auto"``: a plain estimator choosing its alpha by the Laplace evidence, checked against
solo fits with their evidence computed independently, and against the evidence sweep."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressor, NetRegRegressorCV
from netreg.estimators import base
from netreg.evidence import log_evidence
from netreg.exceptions import DivergenceError, InvalidParameterError
from netreg.grid import default_alphas
from netreg.io.models import load_model, save_model

SETTINGS = {"hidden_layer_sizes": (6,), "max_iter": 40, "random_state": 0, "dtype": "float64", "device": "cpu"}


@pytest.fixture(scope="module")
def small_digits(digits):
    return digits[0][:300], digits[1][:300]


@pytest.fixture(scope="module")
def auto_model(small_digits):
    return NetRegClassifier(alpha="auto", **SETTINGS).fit(*small_digits)


def test_the_chosen_member_is_the_solo_fit_whose_evidence_is_largest(small_digits, auto_model):
    X, y = small_digits
    np.testing.assert_array_equal(auto_model.alphas_, default_alphas(X, 16))
    best = int(np.nanargmax(auto_model.log_evidence_))
    assert auto_model.alpha_ == auto_model.alphas_[best] and 0 < best < 15  # inside the grid, not on its edge
    # Independently: the chosen alpha and a neighbour fitted alone, their evidence computed from their modules.
    for k in (best, best - 1):
        solo = NetRegClassifier(alpha=float(auto_model.alphas_[k]), **SETTINGS).fit(X, y)
        evidence = log_evidence(solo.module_, X, y, task="multiclass", alpha=float(auto_model.alphas_[k]))
        assert auto_model.log_evidence_[k] == pytest.approx(evidence.log_evidence, rel=1e-9)
        if k == best:  # the model is that member: no refit
            np.testing.assert_allclose(auto_model.predict_proba(X), solo.predict_proba(X), rtol=1e-9, atol=1e-12)
            assert auto_model.n_iter_ == solo.n_iter_ and auto_model.loss_curve_ == pytest.approx(solo.loss_curve_)


def test_it_chooses_as_the_evidence_sweep_does(small_digits, auto_model):
    sweep = NetRegClassifierCV(alphas=16, selection="evidence", **SETTINGS).fit(*small_digits)
    np.testing.assert_allclose(auto_model.alphas_, sweep.alphas_)
    np.testing.assert_allclose(auto_model.log_evidence_, sweep.cv_results_["mean_log_evidence"], rtol=1e-9)
    assert auto_model.alpha_ == sweep.alpha_
    np.testing.assert_allclose(auto_model.predict_proba(small_digits[0]), sweep.predict_proba(small_digits[0]))


def test_a_regressor_with_a_target_transformer_chooses_as_the_sweep_does(diabetes):
    X, y = diabetes
    y = 150.0 + 75.0 * y  # the target in its own units, the network trained on it standardized
    settings = {**SETTINGS, "hidden_layer_sizes": (), "solver": "lbfgs", "max_iter": 200}
    model = NetRegRegressor(alpha="auto", transformer=StandardScaler(), **settings).fit(X, y)
    sweep = NetRegRegressorCV(alphas=16, selection="evidence", transformer=StandardScaler(), **settings).fit(X, y)
    assert model.alpha_ == sweep.alpha_
    np.testing.assert_allclose(model.predict(X), sweep.predict(X), rtol=1e-9)
    assert 100 < model.predict(X).mean() < 200  # in the target's units


@pytest.mark.parametrize(
    "extra", [{"early_stopping": True}, {"sample_weight": True}], ids=["early_stopping", "weights"]
)
def test_with_early_stopping_or_sample_weights_it_chooses_as_the_sweep_does(small_digits, extra):
    X, y = small_digits
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if "sample_weight" in extra else None
    params = {**SETTINGS, "early_stopping": bool(extra.get("early_stopping"))}
    model = NetRegClassifier(alpha="auto", **params).fit(X, y, sample_weight=weights)
    sweep = NetRegClassifierCV(alphas=16, selection="evidence", **params).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(model.log_evidence_, sweep.cv_results_["mean_log_evidence"], rtol=1e-9)
    assert model.alpha_ == sweep.alpha_
    np.testing.assert_allclose(model.predict_proba(X), sweep.predict_proba(X))
    if params["early_stopping"]:  # the sweep's early-stopping scores are the estimator's validation scores
        assert len(model.validation_scores_) == model.n_iter_
        assert sweep.best_estimator_.validation_scores_ == pytest.approx(model.validation_scores_)


def test_a_grid_too_large_for_the_memory_is_refused_before_training(small_digits, budget, refused):
    budget(0.004)  # 4 MiB: one member of this 64-6-10 network in float64 fits, sixteen do not
    model = NetRegClassifier(alpha="auto", **SETTINGS)
    with refused(
        "`alpha` must be a number here, or a smaller network, batch or data set. Got alpha='auto'. alpha='auto' "
        "trains 16 members of about 525 KiB at once: about 8 MiB, over the 4 MiB netreg may take (half the "
        "memory available).",
        InvalidParameterError,
    ):
        model.fit(*small_digits)
    assert not hasattr(model, "module_")


def test_a_model_set_to_auto_after_its_fit_is_not_saved_under_a_wrong_alpha(tmp_path, small_digits, refused):
    model = NetRegClassifier(alpha=0.1, **SETTINGS).fit(*small_digits).set_params(alpha="auto")
    with refused(
        "`alpha` must be the alpha the model's weights were trained with. Got alpha='auto'. The model was fitted at "
        "a number and set to 'auto' since, without a refit: refit it, or set alpha back.",
        InvalidParameterError,
    ):
        save_model(model, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_a_multilabel_classifier_chooses_as_the_sweep_does(small_digits):
    X, y = small_digits
    Y = np.column_stack([y % 2, y > 4, y == 0]).astype(int)  # three labels per row (Bernoulli each)
    model = NetRegClassifier(alpha="auto", **SETTINGS).fit(X, Y)
    sweep = NetRegClassifierCV(alphas=16, selection="evidence", **SETTINGS).fit(X, Y)
    assert model.alpha_ == sweep.alpha_ and model.predict(X).shape == (len(X), 3)
    np.testing.assert_allclose(model.log_evidence_, sweep.cv_results_["mean_log_evidence"], rtol=1e-9)


def test_a_pickled_model_keeps_its_choice(auto_model, small_digits):
    clone_ = pickle.loads(pickle.dumps(auto_model))
    assert clone_.alpha_ == auto_model.alpha_ and clone_.get_params()["alpha"] == "auto"
    np.testing.assert_array_equal(clone_.log_evidence_, auto_model.log_evidence_)
    np.testing.assert_array_equal(clone_.predict_proba(small_digits[0]), auto_model.predict_proba(small_digits[0]))


def test_sparse_input_chooses_as_dense_input(small_digits, auto_model):
    X, y = small_digits
    model = NetRegClassifier(alpha="auto", **SETTINGS).fit(sp.csr_matrix(X), y)
    assert model.alpha_ == auto_model.alpha_
    np.testing.assert_allclose(model.log_evidence_, auto_model.log_evidence_, rtol=1e-9)


def test_parameters_clone_and_a_fit_at_a_number_leaves_no_choice_behind(small_digits, auto_model):
    assert auto_model.get_params()["alpha"] == "auto" and clone(auto_model).get_params()["alpha"] == "auto"
    model = clone(auto_model).fit(*small_digits)
    model.set_params(alpha=0.1).fit(*small_digits)
    assert not any(hasattr(model, name) for name in ("alpha_", "alphas_", "log_evidence_"))


def test_a_saved_model_keeps_the_alpha_it_chose(tmp_path, auto_model, small_digits):
    save_model(auto_model, tmp_path / "model")
    loaded = load_model(tmp_path / "model").estimator
    assert loaded.get_params()["alpha"] == "auto" and loaded.alpha_ == auto_model.alpha_
    np.testing.assert_allclose(loaded.predict_proba(small_digits[0]), auto_model.predict_proba(small_digits[0]))


def test_a_member_that_diverges_is_never_chosen(small_digits, monkeypatch):
    X, y = small_digits
    # An alpha step far past SGD's stability limit: that member diverges, the other two do not.
    monkeypatch.setattr(base, "auto_alphas", lambda request: np.array([0.1, 1.0, 1e9]))
    model = NetRegClassifier(alpha="auto", solver="sgd", learning_rate_init=0.1, **SETTINGS).fit(X, y)
    assert np.isnan(model.log_evidence_[2]) and np.isfinite(model.log_evidence_[:2]).all()
    assert model.alpha_ == model.alphas_[int(np.argmax(model.log_evidence_[:2]))]


def test_when_every_member_diverges_the_error_says_why(small_digits, monkeypatch):
    monkeypatch.setattr(base, "auto_alphas", lambda request: np.array([1e9, 1e10]))
    model = NetRegClassifier(alpha="auto", solver="sgd", learning_rate_init=0.1, **SETTINGS)
    with pytest.raises(
        DivergenceError,
        match=r"^Every one of the 2 alphas of alpha='auto' diverged\. The first \(alpha=1e\+09\): Training diverged at epoch 1 ",
    ):
        model.fit(*small_digits)


def test_verbose_names_the_choice(small_digits, capsys):
    model = NetRegClassifier(alpha="auto", verbose=True, **SETTINGS).fit(*small_digits)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"alpha='auto': alpha_={model.alpha_:.6g} has the largest log evidence "
        f"({np.nanmax(model.log_evidence_):.6g}) of 16 alphas from {model.alphas_[0]:.3g} to {model.alphas_[-1]:.3g}"
    ]


HINT_CV = "Choose alpha by cross-validation instead, with NetRegClassifierCV."


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"penalty": "l1"},
            "a number with penalty='l1' (the evidence reads an L2 penalty as a Gaussian prior): alpha='auto' "
            f"chooses alpha by the Laplace evidence. Got alpha='auto'. {HINT_CV}",
        ),
        (
            {"alpha_scale": "batch"},
            "a number with alpha_scale='batch' (the evidence reads the penalty alpha / (2 m) of the whole training "
            f"set): alpha='auto' chooses alpha by the Laplace evidence. Got alpha='auto'. {HINT_CV}",
        ),
        (
            {"module": "own_modules.TinyNet"},
            "a number with a module other than netreg's MLP (the evidence reads its layers and activation): "
            f"alpha='auto' chooses alpha by the Laplace evidence. Got alpha='auto'. {HINT_CV}",
        ),
        (
            {"warm_start": True},
            "a number with warm_start=True, which continues one network at one alpha. Got alpha='auto'. "
            "Set warm_start=False, or go on from a fit with alpha='auto' with alpha=model.alpha_.",
        ),
    ],
)
def test_what_the_evidence_cannot_choose_for_is_refused_before_training(small_digits, params, expected, refused):
    if "module" in params:
        from own_modules import TinyNet

        params = {"module": TinyNet, "hidden_layer_sizes": (100,)}
    settings = {**SETTINGS, **params}
    model = NetRegClassifier(alpha="auto", **settings)
    with refused(f"`alpha` must be {expected}", InvalidParameterError):
        model.fit(*small_digits)
    assert not hasattr(model, "module_") and not hasattr(model, "n_features_in_")  # refused before reading X


def test_partial_fit_and_the_poisson_loss_are_refused(small_digits, diabetes, refused):
    X, y = small_digits
    with refused(
        "`alpha` must be a number for partial_fit, which continues one network at one alpha. Got alpha='auto'. "
        "Fit with alpha='auto' first and go on with alpha=model.alpha_.",
        InvalidParameterError,
    ):
        NetRegClassifier(alpha="auto", **SETTINGS).partial_fit(X, y, classes=np.arange(10))
    with refused(
        "`alpha` must be a number with the Poisson loss (the evidence reads a Gaussian or Bernoulli likelihood): "
        "alpha='auto' chooses alpha by the Laplace evidence. Got alpha='auto'. "
        "Choose alpha by cross-validation instead, with NetRegRegressorCV.",
        InvalidParameterError,
    ):
        NetRegRegressor(alpha="auto", loss="poisson", **SETTINGS).fit(diabetes[0], np.exp(diabetes[1]))


def test_a_string_other_than_auto_is_refused_by_the_parameter_check(small_digits, refused):
    with refused(
        "The 'alpha' parameter of NetRegClassifier must be a float in the range [0.0, inf) or a str among "
        "{'auto'}. Got 'automatic' instead.",
        netreg.InvalidParameterError,
    ):
        NetRegClassifier(alpha="automatic", **SETTINGS).fit(*small_digits)
