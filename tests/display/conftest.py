"""Fixtures of the display tests: small fitted searches on digits, one per kind of sweep."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from netreg import NetRegClassifierCV  # noqa: E402


def _fit(digits, alphas=(0.0, 0.1, 1.0, 10.0), **params):
    X, y = digits
    search = NetRegClassifierCV((8,), alphas=list(alphas), cv=3, max_iter=4, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 4 epochs: the refit stops early on purpose
        return search.fit(X[:150], y[:150])


@pytest.fixture(scope="session")
def onese_search(digits):
    """A grid search with the 1-SE rule and the train scores (evidence on the first fold)."""
    return _fit(digits, selection="1se", return_train_score=True)


@pytest.fixture(scope="session")
def halving_search(digits):
    """A halving search: some alphas stopped at a rung (a rung keeps every alpha within its
    folds' noise of the best, so the worst alphas are far from it)."""
    return _fit(
        digits,
        alphas=(0.0, 0.1, 1e3, 1e4),
        search="halving",
        factor=2,
        min_epochs=2,
        batch_size=16,
        return_train_score=True,
    )


@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session", params=["layerwise", "scalar"])
def auto_fit(request, digits):
    """A real ``alpha="auto"`` fit, one alpha per layer or one for the network, with several
    re-estimates (40 epochs)."""
    from netreg import NetRegClassifier

    X, y = digits
    model = NetRegClassifier((8,), alpha="auto", auto_alpha=request.param, max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X[:150], y[:150])
