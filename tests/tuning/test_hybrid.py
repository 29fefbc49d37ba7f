"""``search="hybrid"``: a short grid centred on the alpha ``alpha="auto"`` learns (per layer, read
as one alpha), confirmed by the folds: centred on that alpha exactly, chosen as GridSearchCV chooses over that grid, at a
cost in member-epochs of the short grid, one ``alpha="auto"`` fit and the refit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressorCV
from netreg.exceptions import InvalidParameterError
from netreg.tuning.hybrid import center_alpha

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


def test_the_grid_is_centred_on_the_penalty_weighted_alpha_a_plain_layerwise_auto_fit_learns(data, hybrid):
    plain = NetRegClassifier(alpha="auto", auto_alpha="layerwise", **SETTINGS).fit(*data)
    # Independently of the module: the layers' alphas weighted by their weights' squared norms.
    squared = [float(np.sum(coef**2)) for coef in plain.coefs_]
    alphas = [plain.alpha_[f"layers.{j}.weight"] for j in range(len(plain.coefs_))]
    centre = np.dot(alphas, squared) / np.sum(squared)
    assert hybrid.learned_estimator_.alpha_ == plain.alpha_
    assert hybrid.learned_alpha_ == pytest.approx(centre, rel=1e-9)
    assert min(alphas) < hybrid.learned_alpha_ < max(alphas)
    np.testing.assert_allclose(hybrid.alphas_, centre * np.logspace(-1, 1, 5), rtol=1e-9)
    assert hybrid.alphas_[2] == pytest.approx(centre, rel=1e-9) and len(hybrid.cv_results_["alpha"]) == 5


def test_the_centre_of_a_layerwise_fit_is_its_penalty_read_as_one_alpha():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    alphas = {"0.weight": 30.0, "2.weight": 0.5}
    learned = SimpleNamespace(alpha_=alphas, module_=module)
    w0, w2 = module[0].weight.detach().numpy(), module[2].weight.detach().numpy()
    expected = (30.0 * np.sum(w0**2) + 0.5 * np.sum(w2**2)) / (np.sum(w0**2) + np.sum(w2**2))
    assert center_alpha(learned) == pytest.approx(expected, rel=1e-6)
    # With it, the network's penalty at the learned weights is the layers' own: the biases play no part.
    penalty = sum(
        alphas[name] * float(p.detach().square().sum()) for name, p in module.named_parameters() if name in alphas
    )
    assert center_alpha(learned) * (np.sum(w0**2) + np.sum(w2**2)) == pytest.approx(penalty, rel=1e-6)


def test_the_centre_of_a_scalar_fit_is_its_alpha_and_of_zero_weights_the_geometric_mean():
    assert center_alpha(SimpleNamespace(alpha_=2.5, module_=None)) == 2.5
    module = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False), torch.nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.zero_()
    zeros = SimpleNamespace(alpha_={"0.weight": 0.1, "1.weight": 1000.0}, module_=module)
    assert center_alpha(zeros) == pytest.approx(10.0, rel=1e-12)


def test_the_choice_is_gridsearchcvs_over_the_short_grid(hybrid, reference):
    assert not np.isfinite(hybrid.sweep_.stopped_at).any()  # every alpha trained to the end on every fold
    assert hybrid.alpha_ == reference.best_params_["alpha"] and hybrid.best_estimator_.alpha == hybrid.alpha_
    np.testing.assert_allclose(
        hybrid.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"], rtol=1e-6
    )


def test_the_cost_in_member_epochs_is_the_short_grid_one_auto_fit_and_the_refit(hybrid):
    epochs, n_folds = SETTINGS["max_iter"], 4
    sweep = sum(member.n_iter for member in hybrid.sweep_.members)
    assert len(hybrid.sweep_.members) == 5 * n_folds and sweep == 5 * n_folds * epochs
    assert hybrid.learned_estimator_.n_iter_ == hybrid.best_estimator_.n_iter_ == epochs
    # Less than a 16-alpha CV grid's 16 * n_folds * epochs.
    assert sweep + 2 * epochs < 16 * n_folds * epochs


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
    ],
)
def test_what_the_hybrid_cannot_do_is_refused_before_any_fit(data, refused, monkeypatch, params, message):
    import netreg.search.cv_estimators as estimators

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before refusing")

    monkeypatch.setattr(estimators, "learn_center", no_fit)
    with refused(message, InvalidParameterError):
        NetRegClassifierCV(search="hybrid", **{**SETTINGS, **params}).fit(*data)


def test_a_minibatch_classifier_with_hidden_layers_centres_on_a_learned_alpha_not_the_start():
    # The evidence's stationary condition had no positive solution at its minibatch weights, and
    # the hybrid centred on alpha="auto"'s start 1.0, which it then never left.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 4))
    y = np.tanh(X[:, 0]) - X[:, 1] + 0.3 * rng.normal(size=400) > 0
    settings = {"hidden_layer_sizes": (6,), "solver": "adam", "max_iter": 200, "batch_size": 200, "random_state": 0}
    model = NetRegClassifierCV(search="hybrid", cv=3, **settings).fit(X, y)
    assert model.learned_alpha_ != pytest.approx(1.0, rel=0.05)
    assert model.alphas_[2] == pytest.approx(model.learned_alpha_, rel=1e-12)
