"""``search="hybrid"``: a short grid centred on the alpha ``alpha="auto"`` learns, confirmed by
the folds with halving: centred on that alpha exactly, chosen as GridSearchCV chooses among
the alphas that survive, at a cost in member-epochs bounded by the halving schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressorCV
from netreg.exceptions import InvalidParameterError

SETTINGS = {
    "hidden_layer_sizes": (12,),
    "max_iter": 30,
    "tol": 0.0,
    "batch_size": 50,
    "learning_rate_init": 0.01,
    "random_state": 0,
    "dtype": "float64",
    "device": "cpu",
}
FOLDS = StratifiedKFold(4)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data(digits):
    return digits[0][:240], digits[1][:240]


@pytest.fixture(scope="module")
def hybrid(data):
    return NetRegClassifierCV(search="hybrid", cv=FOLDS, **SETTINGS).fit(*data)


@pytest.fixture(scope="module")
def reference(data, hybrid):
    """GridSearchCV over the hybrid's short grid: each alpha fitted alone on each fold."""
    search = GridSearchCV(
        NetRegClassifier(**SETTINGS), {"alpha": list(hybrid.alphas_)}, cv=FOLDS, scoring="neg_log_loss"
    )
    return search.fit(*data)


def test_the_grid_is_centred_on_the_alpha_a_plain_auto_fit_learns(data, hybrid):
    learned = NetRegClassifier(alpha="auto", auto_alpha="scalar", **SETTINGS).fit(*data).alpha_
    assert hybrid.learned_alpha_ == learned == hybrid.learned_estimator_.alpha_
    np.testing.assert_allclose(hybrid.alphas_, learned * np.logspace(-1, 1, 5), rtol=1e-12)
    assert hybrid.alphas_[2] == pytest.approx(learned, rel=1e-12) and len(hybrid.cv_results_["alpha"]) == 5


def test_the_choice_is_gridsearchcvs_among_the_alphas_halving_keeps(hybrid, reference):
    stopped = np.isfinite(hybrid.sweep_.stopped_at)
    assert stopped.sum() == 3  # 5 alphas, factor 3: the best ceil(5 / 3) = 2 go on
    theirs = np.where(stopped, -np.inf, reference.cv_results_["mean_test_score"])
    assert hybrid.alpha_ == hybrid.alphas_[int(np.argmax(theirs))]
    kept = ~stopped
    np.testing.assert_allclose(
        hybrid.cv_results_["mean_test_score"][kept], reference.cv_results_["mean_test_score"][kept], rtol=1e-6
    )


def test_with_every_alpha_surviving_the_choice_is_gridsearchcvs(data, hybrid, reference):
    # factor 5 with 5 alphas: no rung (halving ranks only while more than `factor` alphas are left).
    every = NetRegClassifierCV(search="hybrid", factor=5, cv=FOLDS, **SETTINGS).fit(*data)
    assert not np.isfinite(every.sweep_.stopped_at).any()
    np.testing.assert_array_equal(every.alphas_, hybrid.alphas_)
    assert every.alpha_ == reference.best_params_["alpha"]
    assert every.best_estimator_.alpha == every.alpha_


def test_the_cost_in_member_epochs_is_bounded_by_the_schedule(hybrid):
    epochs, n_folds, factor = SETTINGS["max_iter"], 4, 3
    rung = epochs // factor  # scikit-learn's "exhaust" for 5 alphas and factor 3: two iterations
    kept = math.ceil(5 / factor)
    sweep = sum(member.n_iter for member in hybrid.sweep_.members)
    assert len(hybrid.sweep_.members) == 5 * n_folds
    assert sweep == n_folds * (5 * rung + kept * (epochs - rung))
    total = sweep + hybrid.learned_estimator_.n_iter_ + hybrid.best_estimator_.n_iter_
    # At most the sweep, one alpha="auto" fit and one refit: less than the short grid trained to the end.
    assert total <= sweep + 2 * epochs < 5 * n_folds * epochs


def test_the_regressor_learns_its_centre_too(diabetes):
    X, y = diabetes
    model = NetRegRegressorCV(search="hybrid", cv=3, **SETTINGS).fit(X, y)
    assert model.learned_alpha_ > 0 and model.alphas_[2] == pytest.approx(model.learned_alpha_)
    assert model.alpha_ in model.alphas_


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"alphas": [0.1, 1.0]},
            "`alphas` must be its default 16 with search='hybrid', which lays its own grid of 5 alphas from x/10 to "
            "x*10 around the alpha x learned by the evidence. Got alphas=[0.1, 1.0]. Leave alphas out, or use "
            "search='grid' or 'halving' for your grid.",
        ),
        (
            {"selection": "evidence"},
            "`selection` must be 'min' or '1se' with search='hybrid': the folds choose among the alphas around the "
            "learned one. Got selection='evidence'.",
        ),
        (
            {"penalty": "l1"},
            "`search` must be 'grid' or 'halving' with penalty='l1' (the evidence reads an L2 penalty as a Gaussian "
            "prior): 'hybrid' centres its grid on the alpha the Laplace evidence learns. Got search='hybrid'.",
        ),
        (
            {"class_weight": "balanced"},
            "`search` must be 'grid' or 'halving' with a class_weight (halving trains every fold in one population, "
            "with one weight per row): 'hybrid' centres its grid on the alpha the Laplace evidence learns. Got "
            "search='hybrid'.",
        ),
        (
            {"scoring": "f1_macro"},
            "`scoring` must be one of 'neg_log_loss', 'accuracy', 'r2', 'neg_mean_squared_error' with "
            "search='hybrid', whose halving ranks members every rung. Got scoring='f1_macro'.",
        ),
    ],
)
def test_what_the_hybrid_cannot_do_is_refused_before_any_fit(data, refused, monkeypatch, params, message):
    import netreg.tuning.estimators as estimators

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before refusing")

    monkeypatch.setattr(estimators, "learn_center", no_fit)
    with refused(message, InvalidParameterError):
        NetRegClassifierCV(search="hybrid", **{**SETTINGS, **params}).fit(*data)
