"""Warnings point at the user's line: ``netreg.exceptions.warn`` skips netreg's own frames."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from netreg import NetRegRegressor, NetRegRegressorCV
from netreg.exceptions import DataWarning, warn
from netreg.tables.preprocessing import TablePreprocessor

X = np.linspace(0.0, 1.0, 40).reshape(-1, 1)


def _user_line(record) -> None:
    assert len(record) >= 1
    assert record[0].filename == __file__, record[0].filename


def test_a_fit_stopped_at_max_iter_warns_at_the_users_line():
    with pytest.warns(ConvergenceWarning) as record:
        NetRegRegressor((), solver="adam", max_iter=1).fit(X, X[:, 0])
    _user_line(record)


def test_a_cv_estimators_refit_warns_at_the_users_line():
    # The refit is deeper in netreg than a plain fit: a fixed stacklevel pointed into netreg.
    model = NetRegRegressorCV((), alphas=[0.1, 1.0], cv=2, max_iter=1, n_jobs=1)
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(X, X[:, 0])
    _user_line(record)


def test_the_target_scale_warning_points_at_the_users_line_through_a_pipeline():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(DataWarning, match="far from unit scale") as record:
            make_pipeline(NetRegRegressor((), max_iter=1)).fit(X, 2e5 + 1e5 * X[:, 0])
    _user_line(record)  # scikit-learn's Pipeline frames are skipped too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(DataWarning, match="far from unit scale") as record:
            NetRegRegressorCV((), alphas=[0.1, 1.0], cv=2, max_iter=1, n_jobs=1).fit(X, 2e5 + 1e5 * X[:, 0])
    _user_line(record)


def test_categories_unseen_at_fit_warn_at_the_users_line():
    train = pd.DataFrame({"city": ["Oslo", "Lima"] * 5, "rooms": np.arange(10) % 3})
    preprocessor = TablePreprocessor().fit(train)
    with pytest.warns(DataWarning, match="1 row holds categories not seen at fit") as record:
        preprocessor.transform(pd.DataFrame({"city": ["Tokyo"], "rooms": [1]}))
    _user_line(record)


def test_warn_outside_netreg_is_the_callers_line():
    with pytest.warns(DataWarning, match="^a note$") as record:
        warn("a note", DataWarning)
    _user_line(record)
