"""The losses' fast paths against PyTorch's own functions, bit for bit."""

from __future__ import annotations

import pytest
import torch

from netreg.losses import EXP_FLOOR, get_task, log_loss, logsumexp


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [0.1, 10.0, 300.0])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("special", ["none", "-inf", "row of -inf", "nan", "inf"])
def test_logsumexp_is_torchs_bit_for_bit_whatever_the_spread_of_the_logits(dtype, scale, transposed, special):
    g = torch.Generator().manual_seed(int(scale))
    out = torch.randn(3, 257, 10, generator=g, dtype=dtype) * scale
    if special == "-inf":
        out[0, 3, 2] = -torch.inf
    elif special == "row of -inf":
        out[1, 4, :] = -torch.inf
    elif special == "nan":
        out[2, 5, 1] = torch.nan
    elif special == "inf":
        out[2, 6, 1] = torch.inf
    if transposed:  # a population's outputs: (K, n, C) laid out as (K, C, n)
        out = out.transpose(1, 2).contiguous().transpose(1, 2)
    if scale == 300.0:
        assert bool((out - out.amax(-1, keepdim=True) < EXP_FLOOR).any())  # the floor is reached
    for keepdim in (False, True):
        expected = torch.logsumexp(out, dim=-1, keepdim=keepdim)
        assert torch.equal(logsumexp(out, keepdim=keepdim).nan_to_num(), expected.nan_to_num())
        assert torch.equal(logsumexp(out, keepdim=keepdim).isnan(), expected.isnan())


def test_the_log_loss_is_the_same_with_and_without_a_gradient_and_the_accuracy_is_argmaxs():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(4, 50, 6, generator=g) * 100.0
    out[0, :5] = 1.0  # ties: the first maximum counts, as argmax takes it
    y = torch.randint(0, 6, (4, 50), generator=g)
    graph = out.clone().requires_grad_(True)
    with_grad = log_loss(graph, y)
    assert with_grad.requires_grad
    assert torch.equal(log_loss(out, y), with_grad.detach())
    reference = torch.logsumexp(out, dim=-1) - out.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    assert torch.equal(log_loss(out, y), reference)
    cross_entropy = torch.nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none")
    torch.testing.assert_close(log_loss(out, y), cross_entropy)  # the same loss, computed another way
    correct = get_task("multiclass").correct(out, y)
    assert torch.equal(correct, (out.argmax(-1) == y).to(out.dtype))
