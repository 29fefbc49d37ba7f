"""Sparse inputs and the Poisson task in the engine: as their dense and scikit-learn counterparts."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.neural_network._base import poisson_loss

from netreg.data import check_float_array
from netreg.engine import TrainConfig, train_population
from netreg.engine.sparse import SparseRows
from netreg.exceptions import DataError
from netreg.losses import get_task
from netreg.nets import MLP

F64 = {"dtype": "float64", "device": "cpu"}


def _sparse_data(rows=120, features=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)) * (rng.random((rows, features)) < 0.1)
    return X, (X[:, :3].sum(1) > 0).astype(float)


def test_sparse_rows_index_as_a_dense_tensor_does():
    X, _ = _sparse_data()
    dense = torch.as_tensor(X, dtype=torch.float32)
    rows = SparseRows(sp.csc_matrix(X), torch.float32, torch.device("cpu"))
    index = torch.tensor([[3, 0, 7], [7, 7, 119]])
    assert torch.equal(rows[index], dense[index]) and torch.equal(rows[index[0]], dense[index[0]])
    assert torch.equal(rows[:2], dense[:2]) and rows.shape == (120, 30) and len(rows) == 120


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_a_population_on_sparse_inputs_trains_as_on_dense_ones(solver):
    X, y = _sparse_data()
    config = TrainConfig(solver=solver, batch_size=32, max_iter=6, tol=0.0, **F64)
    kwargs = {"task": "binary", "config": config, "eval_rows": {"val": [np.arange(100, 120)]}}
    if solver != "lbfgs":
        kwargs.update(
            alphas=[0.1, 1.0], train_rows=[np.arange(100), np.arange(50)], eval_rows={"val": [np.arange(100, 120)] * 2}
        )
    dense = train_population(MLP(30, (8,), 1), X, y, **kwargs).members
    for matrix in (sp.csr_matrix(X), sp.csc_array(X)):
        for ours, reference in zip(train_population(MLP(30, (8,), 1), matrix, y, **kwargs).members, dense):
            for name, value in reference.state_dict.items():
                torch.testing.assert_close(ours.state_dict[name], value, rtol=1e-12, atol=1e-14)
            assert ours.history[-1]["val_loss"] == pytest.approx(reference.history[-1]["val_loss"], rel=1e-12)


def _record_dense_rows(monkeypatch):
    """The number of rows of every block a SparseRows makes dense from now on."""
    sizes = []
    original = SparseRows.__getitem__

    def recording(self, index):
        out = original(self, index)
        sizes.append(out.shape[:-1].numel())
        return out

    monkeypatch.setattr(SparseRows, "__getitem__", recording)
    return sizes


def test_minibatches_and_evaluation_make_only_their_own_rows_dense(monkeypatch):
    X, y = _sparse_data(rows=400)
    largest = _record_dense_rows(monkeypatch)
    config = TrainConfig(solver="sgd", batch_size=25, max_iter=2, eval_batch_size=50)
    train_population(MLP(30, (4,), 1), sp.csr_matrix(X), y, task="binary", config=config,
                     eval_rows={"val": [np.arange(300, 400)]})  # fmt: skip
    assert largest and max(largest) <= 50  # batches of 25 rows, evaluation in chunks of 50


def test_sparse_x_with_a_nan_is_refused_with_its_place():
    X = sp.csr_matrix(np.array([[0.0, 1.0], [np.nan, 0.0]]))
    message = (
        "X contains 1 NaN or infinite value(s) (first at row 1, column 0); expected finite numbers. Remove or impute "
        "them before training."
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        check_float_array(X, name="X", accept_sparse=True)
    with pytest.raises(DataError, match="dense data is required"):
        check_float_array(sp.csr_matrix(np.eye(2)), name="X")


def test_the_poisson_task_is_scikit_learns_half_deviance_with_a_log_link():
    rng = np.random.default_rng(0)
    out, y = rng.normal(size=(50, 2)), rng.poisson(2.0, size=(50, 2)).astype(float)
    task = get_task("poisson")
    ours = task.loss(torch.as_tensor(out), torch.as_tensor(y)).mean().item()
    assert ours == pytest.approx(poisson_loss(y, np.exp(out)), rel=1e-12)
    assert torch.equal(task.inverse_link(torch.as_tensor(out)), torch.exp(torch.as_tensor(out)))
    assert task.regression and get_task("regression").regression and not get_task("binary").regression
    # Its gradient in the raw output is exp(out) - y (the canonical link).
    raw = torch.as_tensor(out).requires_grad_()
    task.loss(raw, torch.as_tensor(y)).sum().backward()
    np.testing.assert_allclose(raw.grad.numpy(), np.exp(out) - y, rtol=1e-12)


def test_a_negative_poisson_target_is_refused():
    X = np.ones((4, 2))
    message = "y for the poisson task must hold counts or rates >= 0 (the mean of a Poisson). Got values down to -1.0."
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        train_population(MLP(2, (), 1), X, [1.0, 0.0, -1.0, 2.0], task="poisson")


def test_evaluation_chunks_are_sized_from_the_budget(monkeypatch, budget):
    # 4096 rows of a million sparse columns made dense were 16 GB against an 11 GB budget.
    X, y = _sparse_data(rows=400)
    config = TrainConfig(solver="sgd", batch_size=25, max_iter=2, **F64)
    kwargs = {"task": "binary", "config": config, "eval_rows": {"val": [np.arange(300, 400)]}}
    reference = train_population(MLP(30, (4,), 1), sp.csr_matrix(X), y, **kwargs).members[0]
    sizes = _record_dense_rows(monkeypatch)
    # Budgets this small would refuse the rows themselves (test_inputs.py tests that check):
    # here only the evaluation chunks are under test.
    monkeypatch.setattr("netreg.engine.inputs._check_row_memory", lambda *args: None)
    # 20 rows of 30 float64 values in EVAL_COPIES = 3 copies: 14,400 bytes.
    budget(20 * 30 * 8 * 3 / 1024**3)
    member = train_population(MLP(30, (4,), 1), sp.csr_matrix(X), y, **kwargs).members[0]
    assert max(sizes) == 25 and 20 in sizes and not any(20 < size < 25 for size in sizes)
    assert member.history[-1]["val_loss"] == pytest.approx(reference.history[-1]["val_loss"], rel=1e-12)
    net = MLP(30, (4,), 1)
    budget(1e-12)  # not even one row fits: one at a time, never none
    sizes.clear()
    assert train_population(net, sp.csr_matrix(X), y, **kwargs).members[0].history[-1]["val_loss"] > 0
    assert 1 in sizes and max(sizes) == 25
