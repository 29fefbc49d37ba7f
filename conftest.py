"""What the doctests share: one small sweep, run once per test session.

``digits_sweep`` is the result of a sweep of 2 alphas (0 and 1) over 2 folds of 90 digits,
an MLP with 8 hidden units trained for 3 epochs; ``digits_store`` is the path of its
results store. The report's doctests use them instead of repeating that setup.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _digits_sweep(tmp_path_factory):
    from sklearn.datasets import load_digits

    from netreg import NetRegClassifier
    from netreg.tuning import plan_sweep, run_sweep

    X, y = load_digits(return_X_y=True)
    store = tmp_path_factory.mktemp("doctest-sweep") / "sweep.sqlite"
    net = NetRegClassifier((8,), max_iter=3, random_state=0)
    plan = plan_sweep(net, X[:90] / 16, y[:90], alphas=[0.0, 1.0], cv=2, require_seed=True)
    return run_sweep(plan, scoring="accuracy", store=str(store)), store


@pytest.fixture(autouse=True)
def _doctest_sweep(request, doctest_namespace):
    # Only doctests need the sweep: build it on the first that asks.
    if request.node.__class__.__name__ == "DoctestItem":
        doctest_namespace["digits_sweep"], doctest_namespace["digits_store"] = request.getfixturevalue("_digits_sweep")
