"""Stacked SGD and Adam steps against torch.optim, member by member."""

from __future__ import annotations

import pytest
import torch

from netreg.engine.optim import AdamState, SGDState, adam_step_, sgd_step_

K = 3


def _stacked():
    torch.manual_seed(0)
    return [torch.randn(K, 4, 5, dtype=torch.float64), torch.randn(K, 4, dtype=torch.float64)]


def _grads(step):
    g = torch.Generator().manual_seed(step)
    return [torch.randn(K, 4, 5, generator=g, dtype=torch.float64), torch.randn(K, 4, generator=g, dtype=torch.float64)]


@pytest.mark.parametrize("solver", ["sgd", "sgd-plain", "sgd-nesterov", "adam"])
def test_each_member_moves_as_torch_optim_moves_it_alone(solver):
    params = _stacked()
    references = [[p[k].clone().requires_grad_(True) for p in params] for k in range(K)]
    if solver == "adam":
        state = AdamState.create(params)
        optimizers = [torch.optim.Adam(ref, lr=0.01, betas=(0.8, 0.95), eps=1e-7) for ref in references]
    else:
        momentum = 0.0 if solver == "sgd-plain" else 0.9
        nesterov = solver == "sgd-nesterov"
        state = SGDState.create(params, momentum)
        optimizers = [torch.optim.SGD(ref, lr=0.1, momentum=momentum, nesterov=nesterov) for ref in references]
    for step in range(6):
        grads = _grads(step)
        if solver == "adam":
            adam_step_(params, grads, state, lr=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-7)
        else:
            sgd_step_(params, grads, state, lr=0.1, momentum=momentum, nesterov=nesterov)
        for k, (ref, opt) in enumerate(zip(references, optimizers)):
            for r, g in zip(ref, grads):
                r.grad = g[k].clone()
            opt.step()
    for k, ref in enumerate(references):
        for p, r in zip(params, ref):
            torch.testing.assert_close(p[k], r.detach(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_inactive_member_does_not_move_even_with_momentum_or_nan_gradient(solver):
    params = _stacked()
    state = AdamState.create(params) if solver == "adam" else SGDState.create(params, 0.9)
    step = (
        (lambda g, active: adam_step_(params, g, state, lr=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, active=active))
        if solver == "adam"
        else (lambda g, active: sgd_step_(params, g, state, lr=0.1, momentum=0.9, nesterov=True, active=active))
    )
    step(_grads(0), None)  # build up momentum
    frozen = [p[1].clone() for p in params]
    grads = _grads(1)
    for g in grads:
        g[1] = float("nan")
    step(grads, torch.tensor([True, False, True]))
    for p, f in zip(params, frozen):
        assert torch.equal(p[1], f)
        assert torch.isfinite(p).all()
    if solver == "adam":
        assert state.step.tolist() == [2.0, 1.0, 2.0]


def test_fused_adam_equals_the_multi_tensor_path_even_for_transposed_gradients():
    fused_params, plain_params = _stacked(), _stacked()
    fused_state, plain_state = AdamState.create(fused_params), AdamState.create(plain_params)
    for step in range(4):
        weight_grad, bias_grad = _grads(step)
        # The gradient of a weight used transposed in the forward pass is a transposed view.
        grads = [weight_grad.transpose(1, 2).contiguous().transpose(1, 2), bias_grad]
        assert not grads[0].is_contiguous()
        adam_step_(fused_params, grads, fused_state, lr=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-8, fused=True)
        adam_step_(plain_params, grads, plain_state, lr=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-8, fused=False)
    for a, b in zip(fused_params, plain_params):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)
    assert torch.equal(fused_state.step, plain_state.step)


def test_adam_step_counts_are_float32_as_fused_kernels_read_them():
    # The CUDA fused kernel reads step counts as float32 memory: a float64 count would be
    # read as 0 there (its low 4 bytes) and make the first step infinite.
    state = AdamState.create(_stacked())
    assert state.step.dtype == torch.float32


def test_after_a_step_without_some_members_each_member_still_moves_as_torch_optim_moves_it():
    # Unequal step counts take the multi-tensor path; members with equal counts again (the
    # others retired) take the fused one. Either way each member follows torch.optim alone.
    params = _stacked()
    references = [[p[k].clone().requires_grad_(True) for p in params] for k in range(K)]
    optimizers = [torch.optim.Adam(ref, lr=0.01) for ref in references]
    state = AdamState.create(params)
    for step in range(5):
        active = torch.tensor([True, step != 1, True])
        grads = _grads(step)
        adam_step_(params, grads, state, lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8, active=active)
        for k in range(K):
            if active[k]:
                for r, g in zip(references[k], grads):
                    r.grad = g[k].clone()
                optimizers[k].step()
        assert state.uniform is (step == 0)
    kept = state.take(torch.tensor([0, 2]))
    taken = [p[[0, 2]].clone() for p in params]
    adam_step_(taken, [g[[0, 2]] for g in _grads(9)], kept, lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    assert kept.uniform is True
    for position, k in enumerate((0, 2)):
        for r, g in zip(references[k], _grads(9)):
            r.grad = g[k].clone()
        optimizers[k].step()
        for p, r in zip(taken, references[k]):
            torch.testing.assert_close(p[position], r.detach(), rtol=1e-13, atol=1e-15)
    for k in range(K):
        for p, r in zip(params, references[k]):
            if k == 1:
                torch.testing.assert_close(p[k], r.detach(), rtol=1e-13, atol=1e-15)
