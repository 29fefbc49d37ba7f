"""A single member's batches: its order cut without padding, slices when its rows are in order."""

from __future__ import annotations

import torch

from netreg.engine.minibatches import member_batches, rows_slice
from netreg.engine.row_sets import epoch_batches, take_rows

CPU = torch.device("cpu")


def test_a_single_members_batches_are_its_order_cut_without_padding():
    rows = torch.tensor([7, 3, 5, 1, 9])
    batches = member_batches(rows, torch.Generator().manual_seed(0), shuffle=True, batch_size=2, device=CPU)
    order = rows[torch.randperm(5, generator=torch.Generator().manual_seed(0))]
    assert [b.tolist() for b in batches] == [order[:2].tolist(), order[2:4].tolist(), order[4:].tolist()]
    # The order is the one the population's epoch_batches draws for the member.
    index, _, _ = epoch_batches([rows], [torch.Generator().manual_seed(0)], shuffle=True, batch_size=2, device=CPU)
    assert index.flatten()[:5].tolist() == order.tolist()
    whole = member_batches(rows, torch.Generator(), shuffle=False, batch_size=None, device=CPU)
    assert [b.tolist() for b in whole] == [rows.tolist()]


def test_rows_zero_to_l_in_order_are_read_as_slices_without_copying():
    data = torch.arange(12.0).reshape(6, 2)
    batches = member_batches(torch.arange(5), torch.Generator(), shuffle=False, batch_size=2, device=CPU)
    assert batches == [slice(0, 2), slice(2, 4), slice(4, 5)]
    view = take_rows(data, batches[1])
    assert view.tolist() == [[4.0, 5.0], [6.0, 7.0]] and view.data_ptr() == data[2].data_ptr()
    assert isinstance(rows_slice(torch.tensor([1, 2])), torch.Tensor)
    assert isinstance(rows_slice(torch.tensor([0, 2])), torch.Tensor)
    assert take_rows(data, torch.tensor([[5, 0], [1, 1]])).tolist() == [[[10.0, 11.0], [0.0, 1.0]], [[2.0, 3.0]] * 2]
