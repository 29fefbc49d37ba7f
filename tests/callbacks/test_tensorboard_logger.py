"""TensorBoardCallback: the event files, read back with TensorBoard's own reader, hold the
fitted estimator's history and the sweep's per-fold scores."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning

from netreg import NetRegRegressor, NetRegRegressorCV
from netreg.callbacks import TensorBoardCallback, tracker_callbacks
from netreg.exceptions import InvalidParameterError, MissingDependencyError

EventAccumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="the test extra installs tensorboard"
).EventAccumulator


@pytest.fixture()
def data():
    X, y = make_regression(48, 3, noise=5.0, random_state=0)
    return X, y / y.std()


def scalars(log_dir):
    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def expected_curves(history, prefix=""):
    """The history, column by column, as the (epoch, value) pairs TensorBoard should hold."""
    curves = {}
    for entry in history:
        for name, value in entry.items():
            if name == "weight_norms":
                for layer, norm in value.items():
                    curves.setdefault(f"{prefix}weight_norm/{layer}", []).append((entry["epoch"], norm))
            elif name != "epoch":
                curves.setdefault(prefix + name, []).append((entry["epoch"], value))
    return curves


def assert_same_curves(logged, expected):
    assert sorted(logged) == sorted(expected)
    for tag, points in expected.items():
        assert [step for step, _ in logged[tag]] == [step for step, _ in points], tag
        # TensorBoard keeps float32.
        np.testing.assert_allclose([v for _, v in logged[tag]], [v for _, v in points], rtol=1e-6, err_msg=tag)


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def test_a_plain_fit_logs_its_history_each_epoch(data, tmp_path):
    X, y = data
    model = fit_quietly(
        NetRegRegressor((4,), max_iter=4, random_state=0),
        X[:36],
        y[:36],
        X_val=X[36:],
        y_val=y[36:],
        callback=TensorBoardCallback(tmp_path),
    )
    expected = expected_curves(model.history_)
    assert {"train_loss", "penalty", "val_score", "weight_norm/layers.0.weight"} <= set(expected)
    assert_same_curves(scalars(tmp_path), expected)


def test_a_plain_fit_takes_a_list_of_callbacks(data, tmp_path):
    X, y = data
    trackers = [TensorBoardCallback(tmp_path / "a"), TensorBoardCallback(tmp_path / "b")]
    model = fit_quietly(NetRegRegressor((4,), max_iter=2, random_state=0), X, y, callback=trackers)
    for folder in ("a", "b"):
        assert_same_curves(scalars(tmp_path / folder), expected_curves(model.history_))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_sweep_logs_every_member_by_alpha_and_fold(data, tmp_path, n_jobs):
    # n_jobs=2 trains in forked workers: the curves are written on the driver from the kept records.
    X, y = data
    search = fit_quietly(
        NetRegRegressorCV(
            hidden_layer_sizes=(4,), alphas=[0.01, 1.0], cv=2, max_iter=3, random_state=0, scoring="r2", n_jobs=n_jobs
        ),
        X,
        y,
        callback=TensorBoardCallback(tmp_path),
    )
    logged = scalars(tmp_path)
    expected = {}
    for member in search.sweep_.members:
        expected.update(expected_curves(member.history, f"alpha={member.alpha:.6g}/fold={member.fold}/"))
    assert len(search.sweep_.members) == 4
    assert_same_curves(logged, expected)
    # The last epoch's held-out score is the fold's score in cv_results_ (no early stopping: the last epoch is kept).
    for i, alpha in enumerate(search.cv_results_["param_alpha"]):
        for fold in range(2):
            last = logged[f"alpha={alpha:.6g}/fold={fold}/val_score"][-1]
            assert last[0] == 3
            assert last[1] == pytest.approx(search.cv_results_[f"split{fold}_test_score"][i], rel=1e-6)


def test_a_resumed_sweep_logs_the_members_it_read_from_its_store(data, tmp_path):
    X, y = data
    params = dict(hidden_layer_sizes=(4,), alphas=[0.01, 1.0], cv=2, max_iter=2, random_state=0, n_jobs=1)
    first = fit_quietly(
        NetRegRegressorCV(**params, store=tmp_path / "sweep.sqlite"), X, y, callback=TensorBoardCallback(tmp_path / "a")
    )
    # The second fit trains nothing: every member comes from the store.
    fit_quietly(
        NetRegRegressorCV(**params, store=tmp_path / "sweep.sqlite"), X, y, callback=TensorBoardCallback(tmp_path / "b")
    )
    expected = {}
    for member in first.sweep_.members:
        expected.update(expected_curves(member.history, f"alpha={member.alpha:.6g}/fold={member.fold}/"))
    assert_same_curves(scalars(tmp_path / "b"), expected)


def test_without_tensorboard_it_is_refused_with_the_install_line(monkeypatch, tmp_path, refused):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    message = 'TensorBoardCallback needs TensorBoard, which is not installed. Install it with: pip install "netreg[tensorboard]"'
    with refused(message, MissingDependencyError):
        TensorBoardCallback(tmp_path)
    with refused(message, MissingDependencyError):
        tracker_callbacks([("tensorboard", str(tmp_path))])


def test_a_log_dir_that_is_not_a_path_is_refused(refused):
    with refused("`log_dir` must be a folder path. Got log_dir=3.", InvalidParameterError):
        TensorBoardCallback(3)


def test_importing_netreg_imports_no_tracker():
    code = (
        "import sys, netreg, netreg.callbacks, netreg.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'tensorboard')"
        " or m == 'torch.utils.tensorboard'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
