"""loss_and_grads and the stacked forward against plain autograd on each member alone."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import stack_module_state

import netreg
from netreg import NetRegRegressor, _compat, penalties
from netreg.engine.step import Batch, PenaltyTerm, loss_and_grads, stacked_forward
from netreg.losses import get_task
from netreg.nets import MLP

K, N = 3, 12


def _members(kind):
    torch.manual_seed(0)
    if kind == "mlp":
        return [MLP(5, (7,), 4).double() for _ in range(K)]
    return [nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.LayerNorm(6), nn.Linear(6, 4)).double() for _ in range(K)]


@pytest.mark.parametrize("kind", ["mlp", "generic"])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("penalty", [netreg.L2(), netreg.L1(), netreg.ElasticNet(l1_ratio=0.3)])
def test_loss_and_grads_equal_autograd_of_each_members_objective(kind, shared, penalty):
    nets = _members(kind)
    params, buffers = stack_module_state(nets)
    params = {name: p.detach().requires_grad_(True) for name, p in params.items()}
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, 5, generator=g, dtype=torch.float64) if shared else torch.randn(K, N, 5, dtype=torch.float64)
    target = torch.randint(0, 4, (K, N), generator=g)
    weight = torch.rand(1 if shared else K, N, generator=g, dtype=torch.float64)
    weight[..., -2:] = 0.0  # padding rows
    alphas = torch.tensor([[0.0, 2.0], [1.0, 1.0], [5.0, 0.5]], dtype=torch.float64)  # (K, J): member x weight
    n_samples = torch.tensor([10.0, 20.0, 40.0], dtype=torch.float64)
    names = [t.name for t in penalty.targets(nets[0])]
    scales = penalties.penalty_scales(alphas, n_samples, [params[n] for n in names])
    positions = tuple(list(params).index(n) for n in names)
    task = get_task("multiclass")
    loss, total, grads = loss_and_grads(
        stacked_forward(nets[0]),
        task.loss,
        params,
        list(params.values()),
        buffers,
        Batch(x, target, weight, shared),
        PenaltyTerm(positions, scales, penalty.l1_ratio),
    )
    for k, net in enumerate(nets):
        # The reference: the member's objective written with plain autograd.
        w = weight[0 if shared else k]
        out = net(x if shared else x[k])
        data = (nn.functional.cross_entropy(out, target[k], reduction="none") * w).sum() / w.sum()
        parameters = dict(net.named_parameters())
        value = penalties.elastic_net_penalty(
            [parameters[n] for n in names],
            [float(a) for a in alphas[k]],
            l1_ratio=penalty.l1_ratio,
            n_samples=float(n_samples[k]),
        )
        expected = torch.autograd.grad(data + value, list(parameters.values()))
        torch.testing.assert_close(loss[k], data.detach(), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(total[0 if shared else k], w.sum(), rtol=1e-14, atol=0)
        for grad, reference in zip(grads, expected):
            torch.testing.assert_close(grad[k], reference, rtol=1e-10, atol=1e-13)
    assert all(not g.requires_grad for g in grads) and not loss.requires_grad


def test_generic_forward_draws_different_dropout_masks_per_member():
    nets = [nn.Sequential(nn.Linear(4, 50), nn.Dropout(0.5)) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    params, buffers = stack_module_state(nets)
    out = stacked_forward(nets[0])(params, buffers, torch.ones(3, 4), True)
    assert not torch.equal(out[0], out[1])


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_single_member_forward_equals_the_batched_one(activation):
    net = MLP(5, (7, 6), 3, activation=activation).double()
    params = {name: p.detach().unsqueeze(0).requires_grad_(True) for name, p in net.named_parameters()}
    x = torch.randn(9, 5, dtype=torch.float64)
    batched = stacked_forward(net)(params, {}, x, True)
    single = stacked_forward(net, single=True)(params, {}, x, True)
    assert single.shape == (1, 9, 3)
    torch.testing.assert_close(single, batched, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(stacked_forward(net.eval(), single=True)(params, {}, x[None], False)[0], net(x))
    # A member's own weights, without the member axis, give the same.
    own = {name: p[0] for name, p in params.items()}
    torch.testing.assert_close(stacked_forward(net, single=True)(own, {}, x, True), single, rtol=0, atol=0)


def test_a_batch_without_weights_is_the_plain_mean_with_the_row_count_as_total():
    net = MLP(5, (7,), 4).double()
    params = {name: p.detach().unsqueeze(0).requires_grad_(True) for name, p in net.named_parameters()}
    x, target = torch.randn(6, 5, dtype=torch.float64), torch.randint(0, 4, (1, 6))
    positions = (0, 2)
    scales = [torch.full((1, 1, 1), 0.1, dtype=torch.float64)] * 2
    task = get_task("multiclass")
    forward = stacked_forward(net, single=True)
    args = (forward, task.loss, params, list(params.values()), {})
    ones = torch.ones(1, 6, dtype=torch.float64)
    loss, total, grads = loss_and_grads(*args, Batch(x, target, ones, True), PenaltyTerm(positions, scales, 0.0))
    plain_loss, plain_total, plain_grads = loss_and_grads(
        *args, Batch(x, target, None, True), PenaltyTerm(positions, [0.1, 0.1], 0.0)
    )
    assert total.tolist() == [6.0] and plain_total is None
    torch.testing.assert_close(plain_loss, loss, rtol=1e-14, atol=0)
    for grad, reference in zip(plain_grads, grads):
        torch.testing.assert_close(grad, reference, rtol=1e-13, atol=1e-15)


def test_the_feature_major_forward_draws_each_members_dropout_masks_as_it_would_alone():
    # Masks are drawn row-major (rows, units), as F.dropout draws them, then laid out as the
    # (K, units, rows) activations: each member equals its single 2-D forward with a
    # generator in the same state, padding rows included (drawn from no generator).
    net = MLP(5, (7, 6), 3, dropout=0.4).double()
    nets = [MLP(5, (7, 6), 3, dropout=0.4).double() for _ in range(K)]
    params, _ = stack_module_state(nets)
    x = torch.randn(N, 5, dtype=torch.float64)
    n_valid = torch.tensor([N, 7, 0])
    seeds = (3, 4, 5)
    out = stacked_forward(net)(params, {}, x, True, n_valid, [torch.Generator().manual_seed(s) for s in seeds])
    single = stacked_forward(net, single=True)
    for k in range(K):
        own = {name: p[k] for name, p in params.items()}
        rows = int(n_valid[k])
        if rows == 0:
            continue
        alone = single(own, {}, x[:rows], True, None, [torch.Generator().manual_seed(seeds[k])])
        torch.testing.assert_close(out[k, :rows], alone[0], rtol=1e-12, atol=1e-14)
    # With one generator for all, every member gets the same masks (those of its solo run).
    shared = stacked_forward(net)(params, {}, x, True, torch.tensor([N] * K), [torch.Generator().manual_seed(3)])
    for k in range(K):
        own = {name: p[k] for name, p in params.items()}
        alone = single(own, {}, x, True, None, [torch.Generator().manual_seed(3)])
        torch.testing.assert_close(shared[k], alone[0], rtol=1e-12, atol=1e-14)


# A fresh interpreter: in this one PyTorch's lazy imports are done already. The first fit
# is interrupted half way through importing sympy (what Ctrl-C, or a Ray task cancelled
# without force, does when it lands there); the same process then fits again.
INTERRUPTED_THEN_FIT = """
import importlib.abc, json, sys
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler
from netreg import NetRegRegressor

class StopInImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "sympy.printing":  # sympy.core and more are imported by then
            sys.meta_path.remove(self)
            raise KeyboardInterrupt
        return None

X, y = load_diabetes(return_X_y=True)
X, y = StandardScaler().fit_transform(X), (y - y.mean()) / y.std()  # the diabetes fixture
model = NetRegRegressor((8,), max_iter=5, random_state=0, n_jobs=1, device="cpu", dtype="float64")
before = "sympy" in sys.modules
sys.meta_path.insert(0, StopInImport())
try:
    model.fit(X, y)
    interrupted = False
except KeyboardInterrupt:
    interrupted = True
left = sorted(name for name in sys.modules if name.split(".")[0] in ("sympy", "mpmath"))
model.fit(X, y)
print(json.dumps({"before": before, "interrupted": interrupted, "left": left, "predictions": model.predict(X).tolist()}))
"""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fit_interrupted_in_pytorchs_lazy_imports_leaves_the_process_able_to_fit(diabetes):
    completed = subprocess.run([sys.executable, "-c", INTERRUPTED_THEN_FIT], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    outcome = json.loads(completed.stdout)
    assert outcome["before"] is False and outcome["interrupted"] is True
    assert outcome["left"] == []  # nothing half imported stays behind
    X, y = diabetes
    alone = NetRegRegressor((8,), max_iter=5, random_state=0, n_jobs=1, device="cpu", dtype="float64").fit(X, y)
    np.testing.assert_allclose(outcome["predictions"], alone.predict(X), rtol=1e-12, atol=0)


@pytest.mark.parametrize("activation", ["relu", "identity"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_a_single_mlps_gradients_by_hand_are_autograds_bit_for_bit(monkeypatch, activation, task, dtype, rows):
    from netreg.engine import step

    net = MLP(5, (9, 8), 3, activation=activation).to(dtype)
    g = torch.Generator().manual_seed(rows)
    x = torch.randn(rows, 5, generator=g, dtype=dtype)
    if task == "multiclass":
        target = torch.randint(0, 3, (1, rows), generator=g)
    else:
        target = torch.randn(1, rows, 3, generator=g, dtype=dtype)
    forward = stacked_forward(net, single=True)
    assert forward.by_hand
    penalty = PenaltyTerm((0, 2, 4), [0.01, 0.02, 0.03], 0.3)

    def run(stacked):
        params = {
            n: (p.detach().unsqueeze(0) if stacked else p.detach()).requires_grad_(True)
            for n, p in net.named_parameters()
        }
        batch = Batch(x, target, None, True)
        return loss_and_grads(forward, get_task(task).loss, params, list(params.values()), {}, batch, penalty)

    by_hand = [run(stacked) for stacked in (False, True)]
    monkeypatch.setattr(_compat, "relu_backward", _compat._relu_backward_fallback)  # its public fallback
    by_hand.append(run(False))
    monkeypatch.setattr(step, "_OUTPUT_GRADIENTS", {})  # autograd's path
    references = [run(False), run(True), run(False)]
    for (loss, total, grads), (ref_loss, ref_total, ref_grads) in zip(by_hand, references, strict=True):
        assert total is None and ref_total is None
        assert torch.equal(loss, ref_loss)
        assert [grad.shape for grad in grads] == [grad.shape for grad in ref_grads]
        assert all(torch.equal(grad, ref) for grad, ref in zip(grads, ref_grads, strict=True))


@pytest.mark.parametrize("activation", ["relu", "identity"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("hidden", [(9, 8), ()])
def test_a_populations_gradients_by_hand_are_autograds_bit_for_bit(
    monkeypatch, activation, task, dtype, shared, hidden
):
    from netreg.engine import step

    nets = [MLP(5, hidden, 3, activation=activation).to(dtype) for _ in range(K)]
    stacked, _ = stack_module_state(nets)
    g = torch.Generator().manual_seed(len(hidden))
    x = torch.randn(*(() if shared else (K,)), 64, 5, generator=g, dtype=dtype)
    if task == "multiclass":
        target = torch.randint(0, 3, (K, 64), generator=g)
    else:
        target = torch.randn(K, 64, 3, generator=g, dtype=dtype)
    weight = torch.rand(1 if shared else K, 64, generator=g, dtype=dtype)
    weight[..., 50:] = 0.0  # padding
    forward = stacked_forward(nets[0])
    assert forward.by_hand and not forward.own_weights
    scales = [
        torch.full((K,) + (1,) * (p.ndim - 1), 0.01 * (i + 1), dtype=dtype) for i, p in enumerate(stacked.values())
    ]
    penalty = PenaltyTerm(tuple(range(0, len(stacked), 2)), scales[::2], 0.3)

    def run():
        params = {name: p.detach().clone().requires_grad_(True) for name, p in stacked.items()}
        batch = Batch(x, target, weight, shared)
        return loss_and_grads(forward, get_task(task).loss, params, list(params.values()), {}, batch, penalty)

    calls = []
    monkeypatch.setattr(step, "_by_hand", lambda *args, by_hand=step._by_hand: calls.append(1) or by_hand(*args))
    by_hand = run()
    assert calls  # the path by hand was taken
    monkeypatch.setattr(step, "_OUTPUT_GRADIENTS", {})  # autograd's path
    loss, total, grads = run()
    assert torch.equal(by_hand[0], loss) and torch.equal(by_hand[1], total)
    assert [grad.shape for grad in by_hand[2]] == [grad.shape for grad in grads]
    assert all(torch.equal(mine, ref) for mine, ref in zip(by_hand[2], grads, strict=True))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_seeded_fit_with_gradients_by_hand_ends_at_autograds_weights_bit_for_bit(monkeypatch, digits, dtype):
    from netreg.engine import step

    X, y = digits
    params = dict(hidden_layer_sizes=(20, 20), max_iter=3, batch_size=50, random_state=0, dtype=dtype)
    calls = []
    monkeypatch.setattr(step, "_by_hand", lambda *args, by_hand=step._by_hand: calls.append(1) or by_hand(*args))
    fitted = netreg.NetRegClassifier(**params).fit(X, y).module_.state_dict()
    assert calls  # the path by hand was taken
    monkeypatch.setattr(step, "_OUTPUT_GRADIENTS", {})
    reference = netreg.NetRegClassifier(**params).fit(X, y).module_.state_dict()
    assert all(torch.equal(fitted[name], reference[name]) for name in reference)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_a_seeded_population_with_gradients_by_hand_ends_at_autograds_weights_bit_for_bit(
    monkeypatch, digits, dtype, task
):
    from netreg.engine import TrainConfig, step, train_population

    X, y = digits[0][:300], digits[1][:300]
    target = y if task == "multiclass" else (y - y.mean()) / y.std()
    rng = np.random.default_rng(0)
    # Unequal row sets (padded batches), two members on each, as cross-validation folds give.
    rows = [np.sort(rng.choice(240, size=240 - 30 * (k % 2), replace=False)) for k in range(4)]
    config = TrainConfig(solver="adam", batch_size=50, max_iter=3, tol=0.0, dtype=dtype)

    def fit():
        result = train_population(
            MLP(64, (20, 20), 10 if task == "multiclass" else 1),
            X,
            target,
            task=task,
            alphas=[0.01, 0.1, 1.0, 10.0],
            seeds=[0, 0, 1, 1],
            config=config,
            train_rows=rows,
            eval_rows={"val": [np.arange(240, 300)] * 4},
        )
        return [member.state_dict for member in result.members]

    calls = []
    monkeypatch.setattr(step, "_by_hand", lambda *args, by_hand=step._by_hand: calls.append(1) or by_hand(*args))
    fitted = fit()
    assert calls  # the path by hand was taken
    monkeypatch.setattr(step, "_OUTPUT_GRADIENTS", {})
    reference = fit()
    for mine, ref in zip(fitted, reference, strict=True):
        assert all(torch.equal(mine[name], ref[name]) for name in ref)
