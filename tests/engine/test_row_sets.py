"""Per-member rows: minibatch orders with padding, and held-out row sets."""

from __future__ import annotations

import numpy as np
import torch

from netreg.engine.row_sets import Rows, epoch_batches, evaluate
from netreg.losses import get_task

CPU = torch.device("cpu")


def test_each_member_is_cut_into_batches_of_its_own_rows_padded_at_the_end():
    rows = [torch.arange(5), torch.arange(10, 13)]
    generators = [torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)]
    index, counts, groups = epoch_batches(rows, generators, shuffle=True, batch_size=2, device=CPU)
    assert index.shape == (2, 3, 2) and counts.tolist() == [[2, 2, 1], [2, 1, 0]] and groups == [0, 1]
    # Every member sees each of its rows once, in its generator's order.
    first = index[0].flatten()
    assert sorted(first[first >= 0].tolist()) == [0, 1, 2, 3, 4]
    assert first.tolist()[:5] == rows[0][torch.randperm(5, generator=torch.Generator().manual_seed(0))].tolist()
    assert (
        index[1].flatten().tolist()
        == rows[1][torch.randperm(3, generator=torch.Generator().manual_seed(1))].tolist() + [-1] * 3
    )


def test_one_generator_for_all_members_draws_one_shared_order():
    rows = [torch.arange(4)] * 3
    generator = torch.Generator()
    index, counts, groups = epoch_batches(rows, [generator] * 3, shuffle=False, batch_size=None, device=CPU)
    assert index.tolist() == [[[0, 1, 2, 3]]] and counts.tolist() == [[4], [4], [4]] and groups == [0, 0, 0]


def test_members_sharing_a_generator_get_the_order_each_would_draw_alone():
    # Two folds of three members each (a sweep's chunk): one order per fold, drawn once, equal
    # epoch after epoch to what each member's own generator, seeded alike, draws.
    folds = [torch.tensor([0, 2, 4, 6, 8, 9]), torch.tensor([1, 3, 5, 7])]
    shared = [torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)]
    own = [torch.Generator().manual_seed(7) for _ in range(6)]
    rows = [folds[0]] * 3 + [folds[1]] * 3
    for _ in range(3):
        index, counts, groups = epoch_batches(
            rows, [shared[0]] * 3 + [shared[1]] * 3, shuffle=True, batch_size=4, device=CPU
        )
        alone, alone_counts, _ = epoch_batches(rows, own, shuffle=True, batch_size=4, device=CPU)
        assert index.shape[0] == 2 and groups == [0, 0, 0, 1, 1, 1] and index.dtype == torch.int32
        assert torch.equal(index[groups].long(), alone.long()) and torch.equal(counts, alone_counts)


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
