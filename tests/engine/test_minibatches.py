"""Each epoch's minibatches: a population's orders with padding, one per group of members with the same rows
and seed; a single member's order cut without padding, slices when its rows are in order."""

from __future__ import annotations

import pytest
import torch

from netreg.engine.minibatches import EpochLosses, epoch_batches, member_batches, population_batch, rows_slice
from netreg.engine.row_sets import take_rows

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


def test_a_population_batch_masks_padding_and_reads_full_batches_as_they_are():
    import numpy as np

    from netreg.engine.inputs import validate_inputs
    from netreg.nets import MLP

    rng = np.random.default_rng(0)
    inputs = validate_inputs(
        MLP(3, (), 1), rng.normal(size=(6, 3)), rng.normal(size=6), task="regression", sample_weight=rng.random(6) + 0.5
    )
    weights = inputs.sample_weight
    index = torch.tensor([[5, 0, 2], [1, 4, -1]])
    padded = population_batch(inputs, index, 2, n_valid=torch.tensor([3, 2]))
    assert padded.weight.tolist() == [
        [weights[5].item(), weights[0].item(), weights[2].item()],
        [weights[1].item(), weights[4].item(), 0.0],
    ]
    assert torch.equal(padded.x[1, 2], inputs.X[0].to(padded.x.dtype))  # padding reads row 0, with weight 0
    full = torch.tensor([[5, 0, 2], [1, 4, 3]])
    told, unknown = (population_batch(inputs, full, 2, n_valid=n_valid) for n_valid in (torch.tensor([3, 3]), None))
    for a, b in ((told.x, unknown.x), (told.target, unknown.target), (told.weight, unknown.weight)):
        assert torch.equal(a, b)
    assert torch.equal(told.weight, take_rows(weights, full))


@pytest.mark.parametrize("kind", ["counts", "per member", "shared"])
def test_an_epochs_losses_written_in_place_are_the_stacked_steps_weighted_mean_bit_for_bit(kind):
    # The reference: the steps' float32 losses stacked, made float64, weighted by the rows.
    generator = torch.Generator().manual_seed(0)
    n_steps, n_members = 7, 3
    values = [torch.rand(n_members, generator=generator, dtype=torch.float32) * 10 for _ in range(n_steps)]
    if kind == "counts":
        totals = [int(t) for t in torch.randint(1, 200, (n_steps,), generator=generator)]
        weight = torch.tensor(totals, dtype=torch.float64).unsqueeze(1)
    else:
        size = n_members if kind == "per member" else 1
        totals = [torch.rand(size, generator=generator, dtype=torch.float32) * 50 for _ in range(n_steps)]
        weight = torch.stack([t.to(torch.float64).expand(n_members) for t in totals])
    stacked = torch.stack(values).to(torch.float64)
    expected = (stacked * weight).sum(0) / weight.sum(0)
    losses = EpochLosses(n_steps, n_members, torch.device("cpu"))
    for value, total in zip(values, totals, strict=True):
        losses.add(value, total)
    assert torch.equal(losses.mean(), expected)
