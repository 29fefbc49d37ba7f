"""Row sets: one per distinct set of rows, each member reading its own, and evaluation on them."""

from __future__ import annotations

import numpy as np
import torch

from netreg.engine.row_sets import Rows, evaluate
from netreg.losses import get_task

CPU = torch.device("cpu")


def test_rows_are_stored_once_when_shared_and_taken_per_member_otherwise():
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    shared = Rows.build([np.array([0, 2])] * 3, weight, CPU)
    assert shared.shared and shared.index.tolist() == [[0, 2]] and shared.total_weight().tolist() == [4.0] * 3
    assert shared.take(torch.tensor([2])).n_members == 1
    own = Rows.build([np.array([0, 1, 3]), np.array([2])], weight, CPU)
    assert own.weight.tolist() == [[1.0, 2.0, 4.0], [3.0, 0.0, 0.0]]
    taken = own.take(torch.tensor([1]))
    assert taken.index.tolist() == [[2, 0, 0]] and taken.total_weight().tolist() == [3.0]


def test_members_of_a_fold_share_one_row_set_and_read_their_own_slots():
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    a, b = np.array([0, 1, 4]), np.array([2, 3])
    rows = Rows.build([a, b, a.copy(), b], weight, CPU)
    assert rows.index.shape == (2, 3) and rows.index.dtype == torch.int32 and rows.groups.tolist() == [0, 1, 0, 1]
    index, slot_weight = rows.member_slots(0, 3)
    assert index.tolist() == [[0, 1, 4], [2, 3, 0], [0, 1, 4], [2, 3, 0]]
    assert slot_weight.tolist() == [[1.0, 2.0, 5.0], [3.0, 4.0, 0.0], [1.0, 2.0, 5.0], [3.0, 4.0, 0.0]]
    assert rows.total_weight().tolist() == [8.0, 7.0, 8.0, 7.0]
    taken = rows.take(torch.tensor([3, 1]))  # fold b's members only: fold a's set is let go
    assert taken.index.shape == (1, 3) and taken.total_weight().tolist() == [7.0, 7.0]


def test_evaluating_shared_row_sets_equals_each_members_own_rows():
    # Independent reference: each member evaluated on its own rows alone, with numpy.
    rng = np.random.default_rng(0)
    X, y = torch.as_tensor(rng.normal(size=(9, 2))), torch.as_tensor(rng.normal(size=(9, 1)))
    weight = torch.as_tensor(rng.uniform(0.5, 2.0, size=9))
    folds = [np.array([0, 2, 3, 7]), np.array([1, 4, 5, 6, 8])]
    coefs = torch.tensor([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]], dtype=torch.float64)
    member_folds = [0, 1, 0]
    rows = Rows.build([folds[f] for f in member_folds], weight, CPU)

    def forward(x, shared):
        out = x @ coefs.T if shared else (x * coefs.unsqueeze(1)).sum(-1)
        return (out.T if shared else out).unsqueeze(-1)

    loss, r2 = evaluate(forward, X, y, rows, get_task("regression"), chunk=3)
    for k, f in enumerate(member_folds):
        r = folds[f]
        pred, target, w = (X[r] @ coefs[k]).numpy(), y[r, 0].numpy(), weight[r].numpy()
        expected_loss = np.sum(w * 0.5 * (pred - target) ** 2) / w.sum()
        mean = np.sum(w * target) / w.sum()
        expected_r2 = 1 - np.sum(w * (pred - target) ** 2) / np.sum(w * (target - mean) ** 2)
        assert np.isclose(float(loss[k]), expected_loss, rtol=1e-12)
        assert np.isclose(float(r2[k]), expected_r2, rtol=1e-12)
