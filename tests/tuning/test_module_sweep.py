"""The sweep with a user's module (BatchNorm, dropout, image-shaped rows): members equal solo
fits, a resumed sweep equals an uninterrupted one, the store, the report, the refusals."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressorCV
from netreg.engine import member_module
from netreg.report import write_report
from netreg.tuning import SweepCallback, plan_sweep, run_sweep
from netreg.tuning.store import SweepStore
from own_modules import ImageCNN, Tied, Unused
from reference import PLAIN_SGD, plain_sgd

F64 = {"dtype": "float64", "device": "cpu"}
CNN = {"module": ImageCNN, "module_kwargs": {"channels": 3, "dropout": 0.3}}
SETTINGS = {"max_iter": 3, "batch_size": 40, "tol": 0.0, "learning_rate_init": 0.01, "random_state": 5, **F64}


def _images(digits, n):
    X, y = digits
    return X[:n].reshape(n, 1, 8, 8), y[:n]


def test_each_member_equals_the_estimator_fitted_alone_on_its_fold(digits, tmp_path):
    # BatchNorm statistics and dropout masks included: the stored weights are the solo fit's.
    X, y = _images(digits, 150)
    plan = plan_sweep(NetRegClassifier(**CNN, **SETTINGS), X, y, alphas=[0.0, 3.0, 300.0], cv=3, require_seed=True)
    run_sweep(plan, scoring="accuracy", store=tmp_path / "s.sqlite", chunk_size=5)
    with SweepStore.read(tmp_path / "s.sqlite") as store:
        for a, f in plan.keys:
            train, _ = plan.folds[f]
            alone = NetRegClassifier(alpha=plan.alphas[a], **CNN, **SETTINGS).fit(X[train], y[train])
            stored = store.weights(a, f)
            assert set(stored) == set(alone.module_.state_dict())
            for name, value in alone.module_.state_dict().items():
                torch.testing.assert_close(stored[name], value, rtol=1e-9, atol=1e-11, msg=name)


class _StopAfter(SweepCallback):
    def __init__(self, n):
        self.n, self.stored = n, 0

    def on_member_stored(self, record):
        self.stored += 1
        if self.stored == self.n:
            raise KeyboardInterrupt


def test_a_resumed_sweep_with_dropout_equals_an_uninterrupted_one(digits, tmp_path):
    X, y = _images(digits, 300)
    params = {"alphas": [0.0, 1.0, 10.0, 100.0], "cv": 2, "early_stopping": True, "chunk_size": 3, **CNN, **SETTINGS}
    whole = NetRegClassifierCV(store=tmp_path / "whole.sqlite", **params).fit(X, y)
    with pytest.raises(KeyboardInterrupt):
        NetRegClassifierCV(store=tmp_path / "resumed.sqlite", **params).fit(X, y, callback=_StopAfter(4))
    # Resumed in other chunks: the members draw their masks as they would in any population.
    resumed = NetRegClassifierCV(store=tmp_path / "resumed.sqlite", **params).fit(X, y)
    np.testing.assert_allclose(resumed.cv_results_["mean_test_score"], whole.cv_results_["mean_test_score"], rtol=1e-12)
    with SweepStore.read(tmp_path / "whole.sqlite") as a, SweepStore.read(tmp_path / "resumed.sqlite") as b:
        for key in [(i, f) for i in range(4) for f in range(2)]:
            for name, value in a.weights(*key).items():
                torch.testing.assert_close(b.weights(*key)[name], value, rtol=1e-10, atol=1e-12, msg=(key, name))


def test_cv_estimator_chooses_refits_and_writes_the_report(digits, tmp_path):
    X, y = _images(digits, 400)
    model = NetRegClassifierCV(
        alphas=[0.01, 1.0, 100.0], cv=2, store=tmp_path / "sweep.sqlite", **CNN, **{**SETTINGS, "max_iter": 6}
    ).fit(X[:300], y[:300])
    assert model.alpha_ in model.alphas_ and isinstance(model.best_estimator_.module_, ImageCNN)
    assert model.n_features_in_ == 1 and model.predict(X[300:]).shape == (100,)
    assert set(model.sweep_.layers) == {"conv.weight", "head.weight"}
    assert "log_evidence" not in model.sweep_.members[0].evidence  # the evidence reads the MLP only
    with SweepStore.read(tmp_path / "sweep.sqlite") as store:
        assert store.spec()["params"]["module"] == "own_modules.ImageCNN"
        assert store.spec()["architecture"]["conv.weight"] == [3, 1, 3, 3]
        page = write_report(model.sweep_, store, tmp_path, title="Digits as images")
    html = page.read_text()
    assert "module=own_modules.ImageCNN" in html and "conv.weight" in html


def test_evidence_selection_is_refused_for_a_module(digits):
    X, y = _images(digits, 100)
    message = (
        "`selection` must be 'min' or '1se' for ImageCNN: the evidence reads netreg's MLP (its layers and "
        "activation). Got selection='evidence'."
    )
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        NetRegClassifierCV(alphas=[0.1, 1.0], selection="evidence", **CNN, **SETTINGS).fit(X, y)


def test_a_regressor_cv_on_images(digits):
    X, y = _images(digits, 200)
    target = (y - y.mean()) / y.std()
    model = NetRegRegressorCV(alphas=[0.01, 10.0], cv=2, selection="1se", **CNN, **SETTINGS).fit(X, target)
    assert model.best_estimator_.predict(X[:7]).shape == (7,) and model.scoring_ == "r2"
    assert (
        model.sweep_.selection == "1se"
        and model.alpha_ >= model.alphas_[np.argmax(model.cv_results_["mean_test_score"])]
    )


def test_a_scikit_learn_scorer_scores_a_modules_members_as_gridsearchcv_does(digits):
    # The scorer runs on each member as a fitted estimator of its module (n_outputs, row shape).
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    X, y = _images(digits, 150)
    cv, grid = StratifiedKFold(2), [0.0, 3.0, 300.0]
    ours = NetRegClassifierCV(alphas=grid, cv=cv, scoring="balanced_accuracy", **CNN, **SETTINGS).fit(X, y)
    theirs = GridSearchCV(NetRegClassifier(**CNN, **SETTINGS), {"alpha": grid}, cv=cv, scoring="balanced_accuracy")
    theirs.fit(X, y)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 6 epochs, on purpose
@pytest.mark.parametrize("module", [Unused, Tied])
def test_members_with_an_unused_or_a_tied_parameter_train_as_plain_pytorch_does(tmp_path, module):
    # One population (vmap) of every alpha and fold; each member against plain SGD on its fold's rows.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=80) > 0).astype(np.int64)
    plan = plan_sweep(NetRegClassifier(module=module, random_state=0, **PLAIN_SGD), X, y, alphas=[0.0, 4.0, 40.0], cv=2)
    run_sweep(plan, scoring="accuracy", store=tmp_path / "s.sqlite", n_jobs=1, chunk_size=6)
    with SweepStore.read(tmp_path / "s.sqlite") as store:
        for a, f in plan.keys:
            train, _ = plan.folds[f]
            reference = plain_sgd(module(3, 1).double(), X[train], y[train], alpha=plan.alphas[a], lr=0.3, epochs=6)
            trained = member_module(plan.template, store.weights(a, f))  # the module's state dict loads
            for name, value in reference.state_dict().items():
                torch.testing.assert_close(trained.state_dict()[name], value, rtol=1e-10, atol=1e-12, msg=name)
            if module is Unused:  # moved by its penalty alone
                start = module(3, 1).double().unused
                assert torch.equal(trained.unused.weight, start.weight) == (plan.alphas[a] == 0.0)
                assert torch.equal(trained.unused.bias, start.bias)
