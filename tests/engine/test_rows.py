"""Per-member rows: minibatch orders with padding, and held-out row sets."""

from __future__ import annotations

import numpy as np
import torch

from netreg.engine.rows import Rows, epoch_batches

CPU = torch.device("cpu")


def test_each_member_is_cut_into_batches_of_its_own_rows_padded_at_the_end():
    rows = [torch.arange(5), torch.arange(10, 13)]
    generators = [torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)]
    index, counts = epoch_batches(rows, generators, shuffle=True, batch_size=2, device=CPU)
    assert index.shape == (2, 3, 2) and counts.tolist() == [[2, 2, 1], [2, 1, 0]]
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
    index, counts = epoch_batches(rows, [torch.Generator()], shuffle=False, batch_size=None, device=CPU)
    assert index.tolist() == [[[0, 1, 2, 3]]] and counts.tolist() == [[4], [4], [4]]


def test_rows_are_stored_once_when_shared_and_taken_per_member_otherwise():
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    shared = Rows.build([np.array([0, 2])] * 3, weight, CPU)
    assert shared.shared and shared.index.tolist() == [[0, 2]] and shared.total_weight().tolist() == [4.0] * 3
    assert shared.take(torch.tensor([2])).n_members == 1
    own = Rows.build([np.array([0, 1, 3]), np.array([2])], weight, CPU)
    assert own.weight.tolist() == [[1.0, 2.0, 4.0], [3.0, 0.0, 0.0]]
    taken = own.take(torch.tensor([1]))
    assert taken.index.tolist() == [[2, 0, 0]] and taken.total_weight().tolist() == [3.0]
